package duffel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/airport"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
)

// MetadataReferenceKey is the order metadata key that carries our booking
// reference (OrderRequest.Reference) to Duffel.
const MetadataReferenceKey = "reservd_reference"

// Request bodies. Each is sent wrapped as {"data": ...}.

type offerRequestBody struct {
	Slices     []sliceRequest     `json:"slices"`
	Passengers []passengerRequest `json:"passengers"`
	CabinClass string             `json:"cabin_class,omitempty"`
}

type sliceRequest struct {
	Origin        string `json:"origin"`
	Destination   string `json:"destination"`
	DepartureDate string `json:"departure_date"`
}

type passengerRequest struct {
	Type string `json:"type,omitempty"`
	Age  *int   `json:"age,omitempty"`
}

type orderBody struct {
	Type           string            `json:"type"`
	SelectedOffers []string          `json:"selected_offers"`
	Passengers     []orderPassenger  `json:"passengers"`
	Payments       []payment         `json:"payments"`
	Metadata       map[string]string `json:"metadata"`
}

type orderPassenger struct {
	ID                string `json:"id"`
	InfantPassengerID string `json:"infant_passenger_id,omitempty"`
	Title             string `json:"title,omitempty"`
	Gender            string `json:"gender,omitempty"`
	GivenName         string `json:"given_name"`
	FamilyName        string `json:"family_name"`
	BornOn            string `json:"born_on"`
	Email             string `json:"email,omitempty"`
	PhoneNumber       string `json:"phone_number,omitempty"`
}

type payment struct {
	Type     string `json:"type"`
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// Response shapes: only the fields the adapter reads.

type dataEnvelope struct {
	Data json.RawMessage `json:"data"`
	Meta *struct {
		After *string `json:"after"`
	} `json:"meta"`
}

type wireOfferRequest struct {
	ID     string            `json:"id"`
	Offers []json.RawMessage `json:"offers"`
}

type wireOffer struct {
	ID            string       `json:"id"`
	TotalAmount   string       `json:"total_amount"`
	TotalCurrency string       `json:"total_currency"`
	ExpiresAt     string       `json:"expires_at"`
	Passengers    []wirePaxRef `json:"passengers"`
	Slices        []wireSlice  `json:"slices"`
}

type wirePaxRef struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type wireSlice struct {
	Segments []wireSegment `json:"segments"`
}

type wireSegment struct {
	DepartingAt                  string      `json:"departing_at"`
	ArrivingAt                   string      `json:"arriving_at"`
	Origin                       wirePlace   `json:"origin"`
	Destination                  wirePlace   `json:"destination"`
	MarketingCarrier             wireAirline `json:"marketing_carrier"`
	MarketingCarrierFlightNumber string      `json:"marketing_carrier_flight_number"`
}

type wirePlace struct {
	IATACode string `json:"iata_code"`
	TimeZone string `json:"time_zone"`
}

type wireAirline struct {
	IATACode string `json:"iata_code"`
}

type wireOrder struct {
	ID               string          `json:"id"`
	BookingReference string          `json:"booking_reference"`
	TotalAmount      string          `json:"total_amount"`
	TotalCurrency    string          `json:"total_currency"`
	Metadata         json.RawMessage `json:"metadata"`
}

// wireError is one element of Duffel's {"errors": [...]} envelope.
type wireError struct {
	Type             string `json:"type"`
	Code             string `json:"code"`
	Title            string `json:"title"`
	Message          string `json:"message"`
	DocumentationURL string `json:"documentation_url"`
}

type errorEnvelope struct {
	Errors []wireError `json:"errors"`
	Meta   struct {
		RequestID string `json:"request_id"`
		Status    int    `json:"status"`
	} `json:"meta"`
}

// listedOrder is an order of GET /air/orders with the reference it carries.
type listedOrder struct {
	Order     provider.Order
	Reference string // metadata[MetadataReferenceKey], "" when absent
}

// unwrapData returns the "data" member of a Duffel answer.
func unwrapData(body []byte) (json.RawMessage, *string, error) {
	var env dataEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, nil, fmt.Errorf("duffel: decode answer: %w", err)
	}
	if len(env.Data) == 0 || bytes.Equal(env.Data, []byte("null")) {
		return nil, nil, errors.New(`duffel: answer has no "data"`)
	}
	var after *string
	if env.Meta != nil {
		after = env.Meta.After
	}
	return env.Data, after, nil
}

// parseSearchResponse reads the answer of POST /air/offer_requests
// (return_offers=true) into normalized offers. An offer that cannot be
// normalized (say, an airport without a known time zone) is left out; the
// answer fails only when it is malformed or none of its offers could be read.
func parseSearchResponse(body []byte) ([]provider.Offer, error) {
	data, _, err := unwrapData(body)
	if err != nil {
		return nil, err
	}
	var req wireOfferRequest
	if err := json.Unmarshal(data, &req); err != nil {
		return nil, fmt.Errorf("duffel: decode offer request: %w", err)
	}
	offers := make([]provider.Offer, 0, len(req.Offers))
	var errs []error
	for _, raw := range req.Offers {
		o, err := parseOffer(raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		offers = append(offers, o)
	}
	if len(offers) == 0 && len(errs) > 0 {
		return nil, fmt.Errorf("duffel: no offer could be read: %w", errors.Join(errs...))
	}
	return offers, nil
}

// parseOfferResponse reads the answer of GET /air/offers/{id}.
func parseOfferResponse(body []byte) (provider.Offer, error) {
	data, _, err := unwrapData(body)
	if err != nil {
		return provider.Offer{}, err
	}
	return parseOffer(data)
}

// parseOffer normalizes one Duffel offer object. Raw keeps the object as
// Duffel sent it: booking needs its passenger ids back.
func parseOffer(raw json.RawMessage) (provider.Offer, error) {
	var w wireOffer
	if err := json.Unmarshal(raw, &w); err != nil {
		return provider.Offer{}, fmt.Errorf("duffel: decode offer: %w", err)
	}
	if w.ID == "" {
		return provider.Offer{}, errors.New("duffel: offer without id")
	}
	price, err := parseAmount(w.TotalAmount, w.TotalCurrency)
	if err != nil {
		return provider.Offer{}, fmt.Errorf("duffel: offer %s: %w", w.ID, err)
	}
	o := provider.Offer{Provider: "duffel", ID: w.ID, Price: price, Raw: append([]byte(nil), raw...)}
	if w.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339Nano, w.ExpiresAt)
		if err != nil {
			return provider.Offer{}, fmt.Errorf("duffel: offer %s: expires_at: %w", w.ID, err)
		}
		o.ExpiresAt = t.UTC()
	}
	for n, sl := range w.Slices {
		for _, seg := range sl.Segments {
			s, err := parseSegment(seg)
			if err != nil {
				return provider.Offer{}, fmt.Errorf("duffel: offer %s: %w", w.ID, err)
			}
			s.Slice = n
			o.Segments = append(o.Segments, s)
		}
	}
	if len(o.Segments) == 0 {
		return provider.Offer{}, fmt.Errorf("duffel: offer %s has no segments", w.ID)
	}
	return o, nil
}

func parseSegment(w wireSegment) (provider.Segment, error) {
	carrier := strings.ToUpper(strings.TrimSpace(w.MarketingCarrier.IATACode))
	if carrier == "" {
		return provider.Segment{}, errors.New("segment without marketing_carrier.iata_code")
	}
	number := provider.FlightNumber(w.MarketingCarrierFlightNumber)
	if number == "" {
		return provider.Segment{}, fmt.Errorf("segment %s: flight number %q has no digits", carrier, w.MarketingCarrierFlightNumber)
	}
	dep, err := localToUTC(w.Origin, w.DepartingAt)
	if err != nil {
		return provider.Segment{}, fmt.Errorf("segment %s%s departing_at: %w", carrier, number, err)
	}
	arr, err := localToUTC(w.Destination, w.ArrivingAt)
	if err != nil {
		return provider.Segment{}, fmt.Errorf("segment %s%s arriving_at: %w", carrier, number, err)
	}
	return provider.Segment{
		Carrier: carrier, FlightNumber: number,
		Origin: w.Origin.IATACode, Destination: w.Destination.IATACode,
		DepartsAt: dep, ArrivesAt: arr,
	}, nil
}

// localToUTC reads Duffel's local wall-clock time at an airport. The
// airport package's zone table comes first; an airport it does not know
// falls back to the time_zone Duffel sends with the place. A time that
// carries its own offset is taken as is.
func localToUTC(p wirePlace, local string) (time.Time, error) {
	if local == "" {
		return time.Time{}, errors.New("missing time")
	}
	if t, err := time.Parse(time.RFC3339Nano, local); err == nil {
		return t.UTC(), nil
	}
	if airport.Known(p.IATACode) {
		return airport.LocalToUTC(p.IATACode, local)
	}
	if p.TimeZone == "" {
		return time.Time{}, fmt.Errorf("airport %q: unknown time zone", p.IATACode)
	}
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		return time.Time{}, fmt.Errorf("airport %q: %w", p.IATACode, err)
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, local, loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("local time %q at %s: want 2006-01-02T15:04:05", local, p.IATACode)
}

// parseAmount reads a Duffel decimal string exactly. Trailing fraction
// zeros beyond the currency's digits ("1000.00" JPY) carry no value and are
// dropped; any other excess precision is an error.
func parseAmount(amount, currency string) (money.Money, error) {
	if amount == "" || currency == "" {
		return money.Money{}, errors.New("missing total_amount or total_currency")
	}
	m, err := money.ParseDecimal(amount, currency)
	if err == nil {
		return m, nil
	}
	if whole, frac, ok := strings.Cut(amount, "."); ok && strings.HasSuffix(frac, "0") {
		trimmed := whole
		if f := strings.TrimRight(frac, "0"); f != "" {
			trimmed += "." + f
		}
		if m2, err2 := money.ParseDecimal(trimmed, currency); err2 == nil {
			return m2, nil
		}
	}
	return money.Money{}, err
}

// parseOrderResponse reads the answer of POST /air/orders (and GET
// /air/orders/{id}).
func parseOrderResponse(body []byte) (provider.Order, error) {
	data, _, err := unwrapData(body)
	if err != nil {
		return provider.Order{}, err
	}
	o, err := parseOrder(data)
	return o.Order, err
}

func parseOrder(raw json.RawMessage) (listedOrder, error) {
	var w wireOrder
	if err := json.Unmarshal(raw, &w); err != nil {
		return listedOrder{}, fmt.Errorf("duffel: decode order: %w", err)
	}
	if w.ID == "" {
		return listedOrder{}, errors.New("duffel: order without id")
	}
	price, err := parseAmount(w.TotalAmount, w.TotalCurrency)
	if err != nil {
		return listedOrder{}, fmt.Errorf("duffel: order %s: %w", w.ID, err)
	}
	return listedOrder{
		Order:     provider.Order{ID: w.ID, BookingReference: w.BookingReference, Price: price},
		Reference: metadataString(w.Metadata, MetadataReferenceKey),
	}, nil
}

// metadataString returns a string value of an order's metadata; values of
// any other JSON type, and malformed metadata, count as absent.
func metadataString(raw json.RawMessage, key string) string {
	if len(raw) == 0 {
		return ""
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(m[key], &s) != nil {
		return ""
	}
	return s
}

// parseOrderList reads a page of GET /air/orders: its orders and the cursor
// of the next page ("" on the last). An order that cannot be read does not
// hide the others.
func parseOrderList(body []byte) ([]listedOrder, string, error) {
	data, after, err := unwrapData(body)
	if err != nil {
		return nil, "", err
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return nil, "", fmt.Errorf("duffel: decode order list: %w", err)
	}
	orders := make([]listedOrder, 0, len(raws))
	for _, raw := range raws {
		if o, err := parseOrder(raw); err == nil {
			orders = append(orders, o)
		} else if ref := referenceOf(raw); ref != "" {
			// An order carrying a reference must not vanish because, say, its
			// total is unreadable: report it with what can be read.
			var w wireOrder
			_ = json.Unmarshal(raw, &w)
			orders = append(orders, listedOrder{Order: provider.Order{ID: w.ID, BookingReference: w.BookingReference}, Reference: ref})
		}
	}
	next := ""
	if after != nil {
		next = *after
	}
	return orders, next, nil
}

func referenceOf(raw json.RawMessage) string {
	var w struct {
		Metadata json.RawMessage `json:"metadata"`
	}
	if json.Unmarshal(raw, &w) != nil {
		return ""
	}
	return metadataString(w.Metadata, MetadataReferenceKey)
}

// parseErrorResponse reads Duffel's error envelope. ok is false when the
// body is not one.
func parseErrorResponse(body []byte) (first wireError, requestID string, ok bool) {
	var env errorEnvelope
	if json.Unmarshal(body, &env) != nil || len(env.Errors) == 0 {
		return wireError{}, "", false
	}
	return env.Errors[0], env.Meta.RequestID, true
}

// offerPassengerIDs returns the pas_ ids of a raw Duffel offer, in order.
func offerPassengerIDs(raw []byte) ([]string, error) {
	if len(raw) == 0 {
		return nil, errors.New("no raw offer")
	}
	var w wireOffer
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(w.Passengers))
	for _, p := range w.Passengers {
		if p.ID == "" {
			return nil, errors.New("offer passenger without id")
		}
		ids = append(ids, p.ID)
	}
	if len(ids) == 0 {
		return nil, errors.New("offer lists no passengers")
	}
	return ids, nil
}
