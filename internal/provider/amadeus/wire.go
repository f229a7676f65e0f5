package amadeus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/airport"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
)

// This file holds Amadeus's wire types and the pure functions that read
// them: no network, no clock of their own, so they are unit-tested on the
// documentation's examples (testdata/) and fuzzed.

// text reads a JSON string or a JSON number as its text. Amadeus documents
// error codes and statuses as integers but answers some of them as strings
// ("code": "38191"); prices are decimal strings, and a number is taken by
// its literal text, never through a float.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*t = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(s)
		return nil
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("want a string or a number, got %.20s", b)
		}
		*t = text(n.String())
		return nil
	}
}

// wireOffer is the part of a flight-offer the adapter reads. The whole
// object travels in Offer.Raw.
type wireOffer struct {
	Type              string          `json:"type"`
	ID                string          `json:"id"`
	LastTicketingDate string          `json:"lastTicketingDate"`
	Itineraries       []wireItinerary `json:"itineraries"`
	Price             wirePrice       `json:"price"`
	TravelerPricings  []struct {
		TravelerID string `json:"travelerId"`
	} `json:"travelerPricings"`
}

type wireItinerary struct {
	Duration string        `json:"duration"`
	Segments []wireSegment `json:"segments"`
}

type wireSegment struct {
	ID          string       `json:"id"`
	Departure   wireEndPoint `json:"departure"`
	Arrival     wireEndPoint `json:"arrival"`
	CarrierCode string       `json:"carrierCode"`
	Number      text         `json:"number"`
	Operating   *struct {
		CarrierCode string `json:"carrierCode"`
	} `json:"operating,omitempty"`
}

type wireEndPoint struct {
	IATACode string `json:"iataCode"`
	Terminal string `json:"terminal,omitempty"`
	At       string `json:"at"`
}

type wirePrice struct {
	Currency   string `json:"currency"`
	Total      text   `json:"total"`
	Base       text   `json:"base"`
	GrandTotal text   `json:"grandTotal"`
}

// wireIssue is one entry of the {"errors": [...]} envelope.
type wireIssue struct {
	Status text   `json:"status"`
	Code   text   `json:"code"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Source *struct {
		Pointer   string `json:"pointer,omitempty"`
		Parameter string `json:"parameter,omitempty"`
		Example   string `json:"example,omitempty"`
	} `json:"source,omitempty"`
}

// wireOrder is the part of a flight-order the adapter reads.
type wireOrder struct {
	Type              string `json:"type"`
	ID                string `json:"id"`
	AssociatedRecords []struct {
		Reference        string `json:"reference"`
		OriginSystemCode string `json:"originSystemCode"`
		FlightOfferID    string `json:"flightOfferId"`
	} `json:"associatedRecords"`
	FlightOffers []wireOffer `json:"flightOffers"`
	Remarks      *struct {
		General []struct {
			SubType string `json:"subType"`
			Text    string `json:"text"`
		} `json:"general"`
	} `json:"remarks,omitempty"`
}

// errMalformed marks an answer the adapter cannot read.
var errMalformed = errors.New("malformed amadeus answer")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errMalformed, fmt.Sprintf(format, args...))
}

// parseSearchResponse reads a Flight Offers Search answer. Offers the
// adapter cannot normalize (an airport whose time zone is unknown, a price
// that is not an exact decimal of a known currency, no segments) are left
// out rather than failing the whole search. ExpiresAt is the end of the
// offer's lastTicketingDate, capped at now+ttl: Amadeus's search answers are
// cached fares with no expiry of their own, and ttl bounds how long we
// trust one before pricing it again.
func parseSearchResponse(body []byte, now time.Time, ttl time.Duration) ([]provider.Offer, error) {
	var env struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, malformed("search: %v", err)
	}
	offers := make([]provider.Offer, 0, len(env.Data))
	for _, raw := range env.Data {
		o, err := parseFlightOffer(raw)
		if err != nil {
			continue
		}
		o.ExpiresAt = offerExpiry(o.ExpiresAt, now, ttl)
		offers = append(offers, o)
	}
	return offers, nil
}

func offerExpiry(lastTicketing, now time.Time, ttl time.Duration) time.Time {
	if ttl <= 0 {
		return lastTicketing
	}
	limit := now.Add(ttl).UTC()
	if lastTicketing.IsZero() || limit.Before(lastTicketing) {
		return limit
	}
	return lastTicketing
}

// parseFlightOffer normalizes one flight-offer object; Raw keeps it as sent.
func parseFlightOffer(raw json.RawMessage) (provider.Offer, error) {
	var w wireOffer
	if err := json.Unmarshal(raw, &w); err != nil {
		return provider.Offer{}, malformed("flight-offer: %v", err)
	}
	if w.ID == "" {
		return provider.Offer{}, malformed("flight-offer without id")
	}
	price, err := offerPrice(w.Price)
	if err != nil {
		return provider.Offer{}, err
	}
	segs, err := normalizeSegments(w.Itineraries)
	if err != nil {
		return provider.Offer{}, err
	}
	return provider.Offer{
		Provider:  Name,
		ID:        w.ID,
		Price:     price,
		Segments:  segs,
		ExpiresAt: lastTicketingEnd(w.LastTicketingDate),
		Raw:       append(json.RawMessage(nil), raw...),
	}, nil
}

// offerPrice is what the traveller pays: grandTotal (total plus fees and
// additional services), or total when grandTotal is absent.
func offerPrice(p wirePrice) (money.Money, error) {
	amount := string(p.GrandTotal)
	if amount == "" {
		amount = string(p.Total)
	}
	if amount == "" || p.Currency == "" {
		return money.Money{}, malformed("price without grandTotal or currency")
	}
	m, err := money.ParseDecimal(amount, p.Currency)
	if err != nil {
		return money.Money{}, malformed("price: %v", err)
	}
	if m.Amount < 0 {
		return money.Money{}, malformed("negative price %s", amount)
	}
	return m, nil
}

// lastTicketingEnd reads "2021-11-01" (or a longer ISO form starting with
// it) as the first instant after that date, in UTC. Zero when absent.
func lastTicketingEnd(s string) time.Time {
	if len(s) < len(time.DateOnly) {
		return time.Time{}
	}
	d, err := time.Parse(time.DateOnly, s[:len(time.DateOnly)])
	if err != nil {
		return time.Time{}
	}
	return d.AddDate(0, 0, 1)
}

func normalizeSegments(its []wireItinerary) ([]provider.Segment, error) {
	var segs []provider.Segment
	for n, it := range its {
		for _, s := range it.Segments {
			seg, err := normalizeSegment(s)
			if err != nil {
				return nil, err
			}
			seg.Slice = n // one itinerary per originDestination
			segs = append(segs, seg)
		}
	}
	if len(segs) == 0 {
		return nil, malformed("flight-offer without segments")
	}
	return segs, nil
}

func normalizeSegment(s wireSegment) (provider.Segment, error) {
	number := provider.FlightNumber(string(s.Number))
	if len(s.CarrierCode) != 2 || number == "" {
		return provider.Segment{}, malformed("segment carrier %q number %q", s.CarrierCode, s.Number)
	}
	dep, err := instant(s.Departure)
	if err != nil {
		return provider.Segment{}, err
	}
	arr, err := instant(s.Arrival)
	if err != nil {
		return provider.Segment{}, err
	}
	return provider.Segment{
		Carrier:      s.CarrierCode,
		FlightNumber: number,
		Origin:       s.Departure.IATACode,
		Destination:  s.Arrival.IATACode,
		DepartsAt:    dep,
		ArrivesAt:    arr,
	}, nil
}

// instant turns an end point's local wall-clock time into a UTC instant
// with the airport's time zone. Amadeus documents "at" without offset; one
// that carries an offset anyway is read by it.
func instant(e wireEndPoint) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, e.At); err == nil {
		return t.UTC(), nil
	}
	at := e.At
	if i := strings.IndexByte(at, '.'); i > 0 { // fractional seconds
		at = at[:i]
	}
	t, err := airport.LocalToUTC(e.IATACode, at)
	if err != nil {
		return time.Time{}, malformed("%v", err)
	}
	return t, nil
}

// pricedOffer is a confirmed flight-offer from Flight Offers Price.
type pricedOffer struct {
	ID    string
	Price money.Money
	Raw   json.RawMessage
}

// parsePricingResponse reads a Flight Offers Price answer: {"data": {"type":
// "flight-offers-pricing", "flightOffers": [...]}}. It takes the offer with
// the wanted id, or the first one when none has it.
func parsePricingResponse(body []byte, wantID string) (pricedOffer, error) {
	var env struct {
		Data struct {
			Type         string            `json:"type"`
			FlightOffers []json.RawMessage `json:"flightOffers"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return pricedOffer{}, malformed("pricing: %v", err)
	}
	if len(env.Data.FlightOffers) == 0 {
		return pricedOffer{}, malformed("pricing answer without flightOffers")
	}
	var picked *pricedOffer
	for _, raw := range env.Data.FlightOffers {
		var w wireOffer
		if err := json.Unmarshal(raw, &w); err != nil {
			return pricedOffer{}, malformed("pricing flight-offer: %v", err)
		}
		price, err := offerPrice(w.Price)
		if err != nil {
			return pricedOffer{}, err
		}
		p := pricedOffer{ID: w.ID, Price: price, Raw: append(json.RawMessage(nil), raw...)}
		if picked == nil || (w.ID == wantID && picked.ID != wantID) {
			picked = &p
		}
	}
	return *picked, nil
}

// foundOrder is a flight-order as read back from Amadeus.
type foundOrder struct {
	Order   provider.Order
	Remarks []string // general remarks' texts
}

// parseOrderResponse reads a Flight Create Orders answer or a Flight Order
// Management read: {"data": flight-order}.
func parseOrderResponse(body []byte) (foundOrder, error) {
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return foundOrder{}, malformed("flight-order: %v", err)
	}
	return parseOrder(env.Data)
}

// parseOrderList reads the simulator's remark search: {"meta": {"count"},
// "data": [flight-order...]}.
func parseOrderList(body []byte) ([]foundOrder, error) {
	var env struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, malformed("flight-order list: %v", err)
	}
	out := make([]foundOrder, 0, len(env.Data))
	for _, raw := range env.Data {
		o, err := parseOrder(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

func parseOrder(raw json.RawMessage) (foundOrder, error) {
	var w wireOrder
	if len(raw) == 0 {
		return foundOrder{}, malformed("no flight-order")
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return foundOrder{}, malformed("flight-order: %v", err)
	}
	if w.ID == "" {
		return foundOrder{}, malformed("flight-order without id")
	}
	o := foundOrder{Order: provider.Order{ID: w.ID}}
	// The PNR: the Amadeus record first (originSystemCode "GDS" or "1A"),
	// else whatever record there is.
	for _, r := range w.AssociatedRecords {
		if r.Reference == "" {
			continue
		}
		if o.Order.BookingReference == "" || r.OriginSystemCode == "GDS" || r.OriginSystemCode == "1A" {
			o.Order.BookingReference = r.Reference
			if r.OriginSystemCode == "GDS" || r.OriginSystemCode == "1A" {
				break
			}
		}
	}
	for i, fo := range w.FlightOffers {
		p, err := offerPrice(fo.Price)
		if err != nil {
			return foundOrder{}, err
		}
		if i == 0 {
			o.Order.Price = p
			continue
		}
		if o.Order.Price, err = o.Order.Price.Add(p); err != nil {
			return foundOrder{}, malformed("order price: %v", err)
		}
	}
	if w.Remarks != nil {
		for _, r := range w.Remarks.General {
			o.Remarks = append(o.Remarks, r.Text)
		}
	}
	return o, nil
}

// apiError is an Amadeus error answer, from either envelope: the API's
// {"errors": [...]} or the token endpoint's OAuth {"error",
// "error_description", "code", "title"}.
type apiError struct {
	Code   string // Amadeus's numeric code as text, "37200"
	Title  string
	Detail string
	Status string
}

// parseErrorResponse reads every issue of an error answer; nil when the
// body is in neither envelope.
func parseErrorResponse(body []byte) []apiError {
	var env struct {
		Errors []wireIssue `json:"errors"`
		// OAuth envelope of /v1/security/oauth2/token.
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
		Code             text   `json:"code"`
		Title            string `json:"title"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil
	}
	var out []apiError
	for _, e := range env.Errors {
		out = append(out, apiError{Code: string(e.Code), Title: e.Title, Detail: e.Detail, Status: string(e.Status)})
	}
	if len(out) == 0 && (env.Error != "" || env.Code != "") {
		detail := env.ErrorDescription
		if env.Error != "" {
			detail = strings.TrimSpace(env.Error + ": " + detail)
		}
		out = append(out, apiError{Code: string(env.Code), Title: env.Title, Detail: detail})
	}
	return out
}

// token is an OAuth2 access token and its lifetime.
type token struct {
	AccessToken string
	ExpiresIn   time.Duration
}

// parseTokenResponse reads the token endpoint's answer.
func parseTokenResponse(body []byte) (token, error) {
	var w struct {
		TokenType   string `json:"token_type"`
		AccessToken string `json:"access_token"`
		ExpiresIn   text   `json:"expires_in"`
		State       string `json:"state"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return token{}, malformed("token: %v", err)
	}
	if w.AccessToken == "" {
		return token{}, malformed("token answer without access_token")
	}
	if w.TokenType != "" && !strings.EqualFold(w.TokenType, "Bearer") {
		return token{}, malformed("token_type %q, want Bearer", w.TokenType)
	}
	if w.State != "" && w.State != "approved" {
		return token{}, malformed("token state %q", w.State)
	}
	secs, err := strconv.ParseInt(string(w.ExpiresIn), 10, 64)
	if err != nil || secs <= 0 || secs > 1<<31 {
		return token{}, malformed("token expires_in %q", w.ExpiresIn)
	}
	return token{AccessToken: w.AccessToken, ExpiresIn: time.Duration(secs) * time.Second}, nil
}

var discrepancyRE = regexp.MustCompile(`(?i)current\s+grandTotal\s+price\s*\(\s*([0-9]+(?:\.[0-9]+)?)\s*\)`)

// parseDiscrepancyDetail reads the new price out of a 37200 PRICE
// DISCREPANCY detail of the form "Current grandTotal price (2089.56) is
// different from request one (2085.56)". The form is not documented, so
// anything else reports false and the caller prices the offer again.
func parseDiscrepancyDetail(detail, currency string) (money.Money, bool) {
	m := discrepancyRE.FindStringSubmatch(detail)
	if m == nil {
		return money.Money{}, false
	}
	price, err := money.ParseDecimal(m[1], currency)
	if err != nil {
		return money.Money{}, false
	}
	return price, true
}

// referenceRemarkPrefix starts the general remark that carries our
// reference. The simulator knows it too (amadeussim.ReferenceRemarkPrefix).
const referenceRemarkPrefix = "CLIENT REF "

func referenceRemark(reference string) string { return referenceRemarkPrefix + reference }

// carriesReference reports whether an order's remarks name the reference.
// GDS remarks may come back upper-cased, hence the case-insensitive match.
func carriesReference(remarks []string, reference string) bool {
	want := referenceRemark(reference)
	for _, r := range remarks {
		if strings.EqualFold(strings.TrimSpace(r), want) {
			return true
		}
	}
	return false
}
