package kiwi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/airport"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
)

// The parsers below are pure: bytes in, normalized values out.

// searchResponse is /v2/search's answer, as far as we read it.
type searchResponse struct {
	Currency string            `json:"currency"`
	Data     []json.RawMessage `json:"data"`
}

type itinerary struct {
	ID           string      `json:"id"`
	Price        json.Number `json:"price"`
	BookingToken string      `json:"booking_token"`
	Route        []routeLeg  `json:"route"`
}

type routeLeg struct {
	Airline        string     `json:"airline"`
	FlightNo       flexString `json:"flight_no"`
	FlyFrom        string     `json:"flyFrom"`
	FlyTo          string     `json:"flyTo"`
	LocalDeparture string     `json:"local_departure"`
	LocalArrival   string     `json:"local_arrival"`
	UTCDeparture   string     `json:"utc_departure"`
	UTCArrival     string     `json:"utc_arrival"`
	Return         int        `json:"return"`
}

// parseSearchResponse normalizes a search answer. party is the passengers
// the search was priced for (kept in Offer.Raw for check_flights);
// expiresAt is when the booking tokens stop being checkable. A route leg
// with "return": 1 is the way back of a round trip: slice 1.
func parseSearchResponse(body []byte, party rawOffer, expiresAt time.Time) ([]provider.Offer, error) {
	var res searchResponse
	if err := decodeJSON(body, &res); err != nil {
		return nil, fmt.Errorf("decode search answer: %w", err)
	}
	if len(res.Data) == 0 {
		return []provider.Offer{}, nil
	}
	if !money.Known(res.Currency) {
		return nil, fmt.Errorf("search answer currency %q: %w", res.Currency, money.ErrUnknownCurrency)
	}
	offers := make([]provider.Offer, 0, len(res.Data))
	for i, raw := range res.Data {
		var it itinerary
		if err := decodeJSON(raw, &it); err != nil {
			return nil, fmt.Errorf("itinerary %d: %w", i, err)
		}
		if it.BookingToken == "" {
			return nil, fmt.Errorf("itinerary %d (%s): no booking_token", i, it.ID)
		}
		price, err := parseAmount(it.Price, res.Currency)
		if err != nil {
			return nil, fmt.Errorf("itinerary %d (%s) price: %w", i, it.ID, err)
		}
		if price.Amount < 0 {
			return nil, fmt.Errorf("itinerary %d (%s): negative price %s", i, it.ID, it.Price)
		}
		var segs []provider.Segment
		for j, leg := range it.Route {
			seg, err := parseLeg(leg)
			if err != nil {
				return nil, fmt.Errorf("itinerary %d (%s) leg %d: %w", i, it.ID, j, err)
			}
			if leg.Return != 0 {
				seg.Slice = 1
			}
			segs = append(segs, seg)
		}
		if len(segs) == 0 || segs[0].Slice != 0 {
			return nil, fmt.Errorf("itinerary %d (%s): no outbound route", i, it.ID)
		}
		party.Adults, party.Itinerary = max(party.Adults, 1), raw
		rawOffer, err := json.Marshal(party)
		if err != nil {
			return nil, err
		}
		offers = append(offers, provider.Offer{
			Provider:  "kiwi",
			ID:        it.BookingToken,
			Price:     price,
			Segments:  segs,
			ExpiresAt: expiresAt.UTC(),
			Raw:       rawOffer,
		})
	}
	return offers, nil
}

func parseLeg(leg routeLeg) (provider.Segment, error) {
	carrier := strings.ToUpper(strings.TrimSpace(leg.Airline))
	number := provider.FlightNumber(string(leg.FlightNo))
	if carrier == "" || number == "" || leg.FlyFrom == "" || leg.FlyTo == "" {
		return provider.Segment{}, fmt.Errorf("incomplete leg: airline %q, flight_no %q, %q-%q", leg.Airline, leg.FlightNo, leg.FlyFrom, leg.FlyTo)
	}
	dep, err := legTime(leg.UTCDeparture, leg.LocalDeparture, leg.FlyFrom)
	if err != nil {
		return provider.Segment{}, fmt.Errorf("departure: %w", err)
	}
	arr, err := legTime(leg.UTCArrival, leg.LocalArrival, leg.FlyTo)
	if err != nil {
		return provider.Segment{}, fmt.Errorf("arrival: %w", err)
	}
	if arr.Before(dep) {
		return provider.Segment{}, fmt.Errorf("arrives %s before it departs %s", arr, dep)
	}
	return provider.Segment{
		Carrier: carrier, FlightNumber: number,
		Origin: leg.FlyFrom, Destination: leg.FlyTo,
		DepartsAt: dep, ArrivesAt: arr,
	}, nil
}

// legTime prefers Kiwi's utc_* (true UTC instants). Without it, local_* is
// the wall clock at the airport despite its trailing "Z", so it is read in
// the airport's time zone.
func legTime(utc, local, iata string) (time.Time, error) {
	if utc != "" {
		t, err := time.Parse(time.RFC3339Nano, utc)
		if err != nil {
			return time.Time{}, fmt.Errorf("utc time %q: %w", utc, err)
		}
		return t.UTC(), nil
	}
	if local == "" {
		return time.Time{}, errors.New("no time")
	}
	wall := strings.TrimSuffix(local, "Z")
	if i := strings.IndexByte(wall, '.'); i >= 0 {
		wall = wall[:i]
	}
	return airport.LocalToUTC(iata, wall)
}

// checkResult is what check_flights told us.
type checkResult struct {
	Checked     bool
	Invalid     bool
	PriceChange bool
	SessionID   string
	// Total is the price in the offer's currency; set once Checked.
	Total    money.Money
	HandBags []json.RawMessage
	HoldBags []json.RawMessage
}

type conversion struct {
	Currency string      `json:"currency"`
	Amount   json.Number `json:"amount"`
}

type checkFlightsResponse struct {
	SessionID      string      `json:"session_id"`
	FlightsChecked bool        `json:"flights_checked"`
	FlightsInvalid bool        `json:"flights_invalid"`
	PriceChange    bool        `json:"price_change"`
	Total          json.Number `json:"total"`
	Currency       string      `json:"currency"`
	Conversion     *conversion `json:"conversion"`
	Baggage        struct {
		Combinations struct {
			HandBag []json.RawMessage `json:"hand_bag"`
			HoldBag []json.RawMessage `json:"hold_bag"`
		} `json:"combinations"`
	} `json:"baggage"`
}

// parseCheckFlights reads a check_flights answer; want is the currency the
// offer is priced in.
func parseCheckFlights(body []byte, want string) (checkResult, error) {
	var r checkFlightsResponse
	if err := decodeJSON(body, &r); err != nil {
		return checkResult{}, fmt.Errorf("decode check_flights answer: %w", err)
	}
	res := checkResult{
		Checked: r.FlightsChecked, Invalid: r.FlightsInvalid, PriceChange: r.PriceChange,
		SessionID: r.SessionID,
		HandBags:  r.Baggage.Combinations.HandBag, HoldBags: r.Baggage.Combinations.HoldBag,
	}
	if !res.Checked || res.Invalid {
		return res, nil
	}
	total, err := pickTotal(r.Total, r.Currency, r.Conversion, want)
	if err != nil {
		return checkResult{}, fmt.Errorf("check_flights total: %w", err)
	}
	res.Total = total
	return res, nil
}

// baggageFor orders, for every passenger, the free (or else the first)
// hand-bag and hold-bag combination: Kiwi requires a selection even when
// nothing is bought.
func (r checkResult) baggageFor(passengers int) []baggageSelection {
	idx := make([]int, passengers)
	for i := range idx {
		idx[i] = i
	}
	out := []baggageSelection{}
	for _, combos := range [][]json.RawMessage{r.HandBags, r.HoldBags} {
		if c := freeCombination(combos); c != nil {
			out = append(out, baggageSelection{Combination: c, Passengers: idx})
		}
	}
	return out
}

func freeCombination(combos []json.RawMessage) json.RawMessage {
	for _, c := range combos {
		var v struct {
			Price struct {
				Amount json.Number `json:"amount"`
			} `json:"price"`
		}
		if decodeJSON(c, &v) == nil && isZero(v.Price.Amount) {
			return c
		}
	}
	if len(combos) > 0 {
		return combos[0]
	}
	return nil
}

func isZero(n json.Number) bool {
	s := strings.TrimPrefix(n.String(), "-")
	return s != "" && strings.Trim(s, "0.") == ""
}

// pickTotal takes the amount in want: Kiwi's "total" is in "currency"
// (always EUR), "conversion" in the currency the call asked for.
func pickTotal(total json.Number, totalCurrency string, conv *conversion, want string) (money.Money, error) {
	if totalCurrency == "" {
		totalCurrency = "EUR"
	}
	switch {
	case conv != nil && conv.Currency == want && conv.Amount != "":
		return parseAmount(conv.Amount, want)
	case totalCurrency == want && total != "":
		return parseAmount(total, want)
	}
	got := totalCurrency
	if conv != nil {
		got += ", conversion " + conv.Currency
	}
	return money.Money{}, fmt.Errorf("no amount in %s (answer has %s)", want, got)
}

// saveResult is what save_booking told us.
type saveResult struct {
	BookingID     string
	TransactionID string
	Status        string
	Invalid       bool
	PriceChange   bool
	Total         money.Money
}

type saveBookingResponse struct {
	BookingID      flexString  `json:"booking_id"`
	TransactionID  string      `json:"transaction_id"`
	Status         string      `json:"status"`
	FlightsInvalid bool        `json:"flights_invalid"`
	PriceChange    bool        `json:"price_change"`
	Total          json.Number `json:"total"`
	Currency       string      `json:"currency"`
	Conversion     *conversion `json:"conversion"`
}

// parseSaveBooking reads a save_booking answer; want is the offer's currency.
func parseSaveBooking(body []byte, want string) (saveResult, error) {
	var r saveBookingResponse
	if err := decodeJSON(body, &r); err != nil {
		return saveResult{}, fmt.Errorf("decode save_booking answer: %w", err)
	}
	res := saveResult{
		BookingID: string(r.BookingID), TransactionID: r.TransactionID, Status: r.Status,
		Invalid: r.FlightsInvalid, PriceChange: r.PriceChange,
	}
	if res.Invalid {
		return res, nil
	}
	if res.BookingID == "" || res.TransactionID == "" {
		return saveResult{}, fmt.Errorf("save_booking answer without booking_id or transaction_id (status %q)", r.Status)
	}
	total, err := pickTotal(r.Total, r.Currency, r.Conversion, want)
	if err != nil {
		return saveResult{}, fmt.Errorf("save_booking total: %w", err)
	}
	res.Total = total
	return res, nil
}

// parseConfirmPayment reads confirm_payment's {"status": 0} (paid) or
// {"status": -1, "msg": "..."} (not paid; the order will not be completed).
func parseConfirmPayment(body []byte) error {
	var r struct {
		Status *flexString `json:"status"`
		Msg    string      `json:"msg"`
	}
	if err := decodeJSON(body, &r); err != nil {
		return fmt.Errorf("decode confirm_payment answer: %w", err)
	}
	if r.Status == nil {
		return errors.New("confirm_payment answer without status")
	}
	if *r.Status != "0" {
		return fmt.Errorf("payment not confirmed (status %s: %s): %w", *r.Status, r.Msg, provider.ErrRejected)
	}
	return nil
}

// kiwiBooking is a booking as Kiwi's booking data carries it.
type kiwiBooking struct {
	Bid       flexString  `json:"bid"`
	BookingID flexString  `json:"booking_id"`
	Status    string      `json:"status"`
	Price     json.Number `json:"price"`
	Currency  string      `json:"currency"`
}

// parseBookingLookup reads the bookings found for a visitor_uniqid: a list
// of booking objects (or {"bookings": [...]}, or one booking object).
// ErrNotFound when there is none.
func parseBookingLookup(body []byte) (provider.Order, error) {
	trimmed := bytes.TrimSpace(body)
	var list []kiwiBooking
	switch {
	case bytes.HasPrefix(trimmed, []byte("[")):
		if err := decodeJSON(trimmed, &list); err != nil {
			return provider.Order{}, fmt.Errorf("decode bookings: %w", err)
		}
	default:
		var obj struct {
			Bookings *[]kiwiBooking `json:"bookings"`
			kiwiBooking
		}
		if err := decodeJSON(trimmed, &obj); err != nil {
			return provider.Order{}, fmt.Errorf("decode bookings: %w", err)
		}
		switch {
		case obj.Bookings != nil:
			list = *obj.Bookings
		case obj.Bid != "" || obj.BookingID != "":
			list = []kiwiBooking{obj.kiwiBooking}
		}
	}
	if len(list) == 0 {
		return provider.Order{}, provider.ErrNotFound
	}
	b := list[0]
	id := string(b.Bid)
	if id == "" {
		id = string(b.BookingID)
	}
	if id == "" {
		return provider.Order{}, errors.New("booking without bid")
	}
	switch paid, pending := bookingState(b.Status); {
	case pending:
		return provider.Order{}, fmt.Errorf("booking %s is %q: %w", id, b.Status, provider.ErrOrderPending)
	case !paid:
		return provider.Order{}, fmt.Errorf("booking %s is %q, neither an order nor absent", id, b.Status)
	}
	price, err := parseAmount(b.Price, b.Currency)
	if err != nil {
		return provider.Order{}, fmt.Errorf("booking %s price: %w", id, err)
	}
	return provider.Order{ID: id, BookingReference: id, Price: price}, nil
}

// parseErrorBody reads Kiwi's error envelopes: {"error": "..."},
// {"status": "Error", "message": "..."}, {"status": -1, "msg": "..."}.
func parseErrorBody(body []byte) (code, detail string) {
	var e struct {
		Error   json.RawMessage `json:"error"`
		Message json.RawMessage `json:"message"`
		Msg     json.RawMessage `json:"msg"`
		Status  *flexString     `json:"status"`
	}
	if err := decodeJSON(body, &e); err != nil {
		return "", truncate(strings.TrimSpace(string(body)), 300)
	}
	if e.Status != nil {
		code = string(*e.Status)
	}
	for _, raw := range []json.RawMessage{e.Error, e.Message, e.Msg} {
		if d := rawText(raw); d != "" {
			return code, truncate(d, 300)
		}
	}
	return code, truncate(strings.TrimSpace(string(body)), 300)
}

// rawText is a JSON string's text, or other JSON as written.
func rawText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// parseAmount reads a JSON number as an exact amount of currency. A number
// with more decimals than the currency has (Kiwi's converted amounts are
// binary floats written out, 1171.2987657582971) is rounded half away from
// zero at the minor unit, in decimal arithmetic.
func parseAmount(n json.Number, currency string) (money.Money, error) {
	s := n.String()
	if s == "" {
		return money.Money{}, errors.New("no amount")
	}
	if m, err := money.ParseDecimal(s, currency); err == nil {
		return m, nil
	}
	exp, err := money.Exponent(currency)
	if err != nil {
		return money.Money{}, err
	}
	if len(s) > 64 || strings.ContainsAny(s, "eE/xXbBoO_") {
		return money.Money{}, fmt.Errorf("amount %q is not a plain decimal", s)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return money.Money{}, fmt.Errorf("amount %q is not a decimal", s)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)))
	q, rem := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if rem.Sign() != 0 && new(big.Int).Mul(new(big.Int).Abs(rem), big.NewInt(2)).Cmp(r.Denom()) >= 0 {
		q.Add(q, big.NewInt(int64(rem.Sign())))
	}
	if !q.IsInt64() {
		return money.Money{}, fmt.Errorf("amount %q out of range", s)
	}
	return money.Money{Amount: q.Int64(), Currency: currency}, nil
}

// flexString takes a JSON string or number (Kiwi sends flight_no and
// booking_id as either) as text.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&n); err != nil {
		return fmt.Errorf("want a string or number, got %s", truncate(string(b), 40))
	}
	*f = flexString(n.String())
	return nil
}

func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}
