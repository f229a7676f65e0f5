// Package kiwi is the adapter for Kiwi.com's Tequila API: a search (one way,
// or a round trip with return_from/return_to; adults, children, infants),
// the booking API's price check (check_flights, polled), booking
// (save_booking then confirm_payment) and an order lookup by our reference.
//
// What it speaks, and where it was read:
//
//   - Authentication: every request carries the header "apikey: <KIWI_API_KEY>"
//     (Tequila search and booking guides; kiwicom/margarita
//     apps/graphql/src/services/fetch/tequilaFetch.js).
//   - GET /v2/search?fly_from&fly_to&date_from&date_to (dd/mm/yyyy)&return_from
//     &return_to (a round trip)&adults&children&infants&curr
//     &max_stopovers=0&limit: {"currency", "data": [{"id", "price" (a JSON
//     number in curr), "booking_token", "route": [{"airline", "flight_no",
//     "flyFrom", "flyTo", "local_departure", "utc_departure", "local_arrival",
//     "utc_arrival", "return" (1 on the way back: Segment.Slice 1)}]}]}
//     (https://tequila.kiwi.com/portal/docs/tequila_api/search_api).
//     save_booking's passengers carry "category": adult, child or infant.
//   - GET /v2/booking/check_flights?booking_token&bnum&adults&children&infants
//     &currency&session_id&visitor_uniqid: polled every PollInterval until
//     "flights_checked" is true; "flights_invalid" means sold out or
//     cancelled; "total" is in EUR, "conversion" in the requested currency;
//     "price_change" says the price moved (and stays true afterwards)
//     (Tequila's booking API guide, behind the partner login and quoted in
//     the doc comments of public Tequila clients; the older public
//     https://docs.kiwi.com/booking/; kiwicom/margarita
//     apps/graphql/src/apps/itinerary/dataloaders/Itinerary.js).
//   - POST /v2/booking/save_booking?visitor_uniqid with {"booking_token",
//     "session_id", "passengers", "baggage", "lang", "locale",
//     "health_declaration_checked"}: {"booking_id", "transaction_id", "total",
//     "price_change", "flights_invalid", …}. The price can still change here.
//   - POST /v2/booking/confirm_payment?visitor_uniqid with {"booking_id",
//     "transaction_id"}: {"status": 0} on success, {"status": -1, "msg"} on
//     failure. Only a paid booking is an order; an unpaid one is released by
//     Kiwi within 90 minutes.
//   - Errors come as {"error": "..."}, {"status": "Error", "message": "..."} or
//     {"status": -1, "msg": "..."}; 429 carries Retry-After.
//
// Our reference. Tequila's public documentation has no partner reference
// field on save_booking. The one client-chosen identifier it binds to a
// booking is visitor_uniqid ("if used, the same has to be used for all
// requests in session: check_flights, save_booking, confirm_payment"), so
// Book sends OrderRequest.Reference as visitor_uniqid on all three calls
// (it runs its own check_flights for that reason, unless Price already
// checked the offer under that reference, Offer.Reference: then Book
// continues Price's session, and one attempt checks the flights once), and
// FindOrder asks GET /v2/booking/bookings?visitor_uniqid=<reference>,
// answered with a list
// of Kiwi booking objects ({"bid", "status", "price", "currency", …}, the
// shape of Kiwi's manage-booking data in kiwicom/margarita). That lookup path
// is not in Kiwi's public documentation (the booking-management reference
// sits behind the Tequila partner login) and must be confirmed with Kiwi
// before going live; it is the constant bookingsPath. Because it is
// unverified, its 404 never counts as "no such booking" (ErrLookupUnverified),
// and a booking it lists unpaid is ErrOrderPending: only an answered, empty
// list is ErrNotFound.
//
// Only confirm_payment makes a saved booking an order. Book sends it only
// after save_booking has answered, so a failure before that (check_flights,
// or save_booking unanswered) is ErrNoOrder: the booking Kiwi may have
// saved is never paid and lapses, and the caller books again under a new
// reference instead of waiting for a booking that will never be paid.
//
// A save_booking answer that carries a booking_id is an answer, never an
// unknown outcome: its total is read in whatever currency Kiwi states it,
// and when that is not the offer's, Kiwi's "price_change" and the caller's
// MaxPrice (converted with the rates table) decide whether to pay.
//
// Normalization: prices are JSON numbers decoded with UseNumber and read
// exactly in minor units (amounts with more decimals than the currency has,
// which Kiwi's currency conversions produce, are rounded half away from zero
// in decimal arithmetic, never through a float); segment times come from
// utc_departure/utc_arrival, which are true UTC instants, and only when those
// are missing from local_* read at the airport's time zone (Kiwi's local_*
// carry a misleading "Z"); the carrier is the marketing "airline" and the
// flight number its digits.
//
// The adapter never retries; check_flights polling is the protocol itself.
package kiwi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/provider"
)

// DefaultBaseURL is Tequila's production endpoint.
const DefaultBaseURL = "https://api.tequila.kiwi.com"

// Paths of the Tequila endpoints the adapter calls.
const (
	searchPath         = "/v2/search"
	checkFlightsPath   = "/v2/booking/check_flights"
	saveBookingPath    = "/v2/booking/save_booking"
	confirmPaymentPath = "/v2/booking/confirm_payment"
	// bookingsPath looks bookings up by visitor_uniqid. Not in Kiwi's public
	// docs: see the package comment.
	bookingsPath = "/v2/booking/bookings"
)

// tokenLifetime is how long a booking_token can wait before check_flights:
// "the maximum time limit between the /search and /check_flights calls is
// 30 minutes".
const tokenLifetime = 30 * time.Minute

// maxBody bounds what the adapter reads of any answer.
const maxBody = 16 << 20

// Config is the adapter's configuration, named after Tequila's own settings.
type Config struct {
	// BaseURL is KIWI_BASE_URL; DefaultBaseURL when empty.
	BaseURL string
	// APIKey is KIWI_API_KEY, sent as the "apikey" header.
	APIKey string
	// PollInterval is the pause between check_flights calls while the
	// flights are being checked; Kiwi asks for every 2 or 3 seconds.
	// Default 2s.
	PollInterval time.Duration
	// SearchLimit is the search's "limit"; default 50.
	SearchLimit int
	// Lang and Locale go to save_booking; default "en" and "en-US".
	Lang, Locale string
	// Now is the clock for offer expiry and Retry-After dates; time.Now when nil.
	Now func() time.Time
}

// ConfigFromEnv reads KIWI_BASE_URL and KIWI_API_KEY.
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{BaseURL: getenv("KIWI_BASE_URL"), APIKey: getenv("KIWI_API_KEY")}
}

// Client talks to Tequila. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base string
	http *http.Client
}

var _ provider.Provider = (*Client)(nil)

// New returns a client; httpClient nil means http.DefaultClient. Deadlines
// come from each call's context.
func New(cfg Config, httpClient *http.Client) *Client {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	if cfg.SearchLimit <= 0 {
		cfg.SearchLimit = 50
	}
	if cfg.Lang == "" {
		cfg.Lang = "en"
	}
	if cfg.Locale == "" {
		cfg.Locale = "en-US"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return &Client{cfg: cfg, base: strings.TrimRight(cfg.BaseURL, "/"), http: httpClient}
}

// Name is "kiwi".
func (c *Client) Name() string { return "kiwi" }

// PriceStep names Price for the attempts' records: Kiwi confirms an offer with check_flights.
func (c *Client) PriceStep() string { return "check_flights" }

// Search asks /v2/search for non-stop flights on one date, and for a round
// trip back on return_from/return_to (the return date), for adults,
// children and infants.
func (c *Client) Search(ctx context.Context, req provider.SearchRequest) ([]provider.Offer, error) {
	if req.Origin == "" || req.Destination == "" || req.DepartureDate.IsZero() {
		return nil, fmt.Errorf("kiwi search: origin, destination and date are required: %w", provider.ErrRejected)
	}
	adults := max(req.Adults, 1)
	curr := req.Currency
	if curr == "" {
		curr = "EUR"
	}
	date := req.DepartureDate.UTC().Format("02/01/2006")
	q := url.Values{
		"fly_from":      {req.Origin},
		"fly_to":        {req.Destination},
		"date_from":     {date},
		"date_to":       {date},
		"adults":        {strconv.Itoa(adults)},
		"children":      {strconv.Itoa(req.Children)},
		"infants":       {strconv.Itoa(req.Infants)},
		"curr":          {curr},
		"max_stopovers": {"0"},
		"vehicle_type":  {"aircraft"},
		"sort":          {"price"},
		"limit":         {strconv.Itoa(c.cfg.SearchLimit)},
	}
	if req.RoundTrip() {
		back := req.ReturnDate.UTC().Format("02/01/2006")
		q.Set("return_from", back)
		q.Set("return_to", back)
	}
	body, err := c.do(ctx, http.MethodGet, searchPath, q, nil)
	if err != nil {
		return nil, fmt.Errorf("kiwi search: %w", err)
	}
	party := rawOffer{Adults: adults, Children: req.Children, Infants: req.Infants}
	offers, err := parseSearchResponse(body, party, c.cfg.Now().Add(tokenLifetime))
	if err != nil {
		return nil, fmt.Errorf("kiwi search: %w", err)
	}
	return offers, nil
}

// Price runs check_flights until Kiwi has checked the flights. It returns
// the offer at the checked price; when that differs from offer.Price, also a
// *PriceChangedError. With offer.Reference set (the offer is about to be
// booked under it), the check runs under that reference as visitor_uniqid
// and the returned offer carries its session, so that Book continues it
// rather than checking the flights a second time.
func (c *Client) Price(ctx context.Context, offer provider.Offer) (provider.Offer, error) {
	raw, err := decodeRaw(offer.Raw)
	if err != nil {
		return offer, fmt.Errorf("kiwi price: %w", err)
	}
	res, err := c.checkFlights(ctx, offer, raw, offer.Reference)
	if err != nil {
		return offer, fmt.Errorf("kiwi price: %w", err)
	}
	out := offer
	out.Price = res.Total
	if offer.Reference != "" {
		raw.Visitor, raw.Session, raw.Checked = offer.Reference, res.SessionID, res.Total.String()
		raw.Baggage = res.baggageFor(raw.Adults + raw.Children + raw.Infants)
		if out.Raw, err = json.Marshal(raw); err != nil {
			return offer, fmt.Errorf("kiwi price: %w", err)
		}
	}
	if res.Total != offer.Price {
		return out, &provider.PriceChangedError{Old: offer.Price, New: res.Total}
	}
	return out, nil
}

// Book checks the flights once more under our reference, saves the booking
// and confirms its payment. A price that moved at either step ends in a
// *PriceChangedError before any payment is confirmed.
func (c *Client) Book(ctx context.Context, req provider.OrderRequest) (provider.Order, error) {
	if req.Reference == "" || len(req.Passengers) == 0 || req.Offer.ID == "" {
		return provider.Order{}, fmt.Errorf("kiwi book: reference, offer and passengers are required: %w", provider.ErrRejected)
	}
	offer := req.Offer
	party := partyOf(req.Passengers)
	var checked checkResult
	baggage := []baggageSelection(nil)
	if raw, err := decodeRaw(offer.Raw); err == nil && raw.Session != "" && raw.Visitor == req.Reference &&
		raw.Checked == offer.Price.String() && raw.Adults == party.Adults && raw.Children == party.Children && raw.Infants == party.Infants {
		// Price checked the flights under this reference at this price:
		// continue its session.
		checked, baggage = checkResult{Checked: true, SessionID: raw.Session, Total: offer.Price}, raw.Baggage
	} else {
		if checked, err = c.checkFlights(ctx, offer, party, req.Reference); err != nil {
			return provider.Order{}, fmt.Errorf("kiwi book: %w: %w", provider.ErrNoOrder, err)
		}
		baggage = checked.baggageFor(len(req.Passengers))
	}
	if checked.Total != offer.Price {
		return provider.Order{}, &provider.PriceChangedError{Old: offer.Price, New: checked.Total}
	}

	visitor := url.Values{"visitor_uniqid": {req.Reference}}
	saveReq := saveBookingRequest{
		HealthDeclarationChecked: true,
		Lang:                     c.cfg.Lang,
		Locale:                   c.cfg.Locale,
		BookingToken:             offer.ID,
		SessionID:                checked.SessionID,
		Passengers:               savePassengers(req.Passengers),
		Baggage:                  baggage,
	}
	// Until confirm_payment is sent, nothing can become an order: a booking
	// saved unanswered stays unpaid and lapses (ErrNoOrder).
	body, err := c.do(ctx, http.MethodPost, saveBookingPath, visitor, saveReq)
	if err != nil {
		return provider.Order{}, fmt.Errorf("kiwi save_booking: %w: %w", provider.ErrNoOrder, offerGone(err))
	}
	saved, err := parseSaveBooking(body, offer.Price.Currency)
	if err != nil {
		// A 2xx carrying a booking_id is an answer even when its total is
		// in another currency or unreadable: decide on it here. Only an
		// answer without a booking leaves the outcome unknown.
		s, stated, ok := parseSaveBookingStated(body)
		if !ok {
			return provider.Order{}, fmt.Errorf("kiwi save_booking: %w: %w", provider.ErrNoOrder, err)
		}
		saved = s
		if !saved.Invalid {
			if saved.Total, err = acceptStated(req, saved, stated, checked.Total); err != nil {
				return provider.Order{}, err // unpaid, the booking lapses; nothing is charged
			}
		}
	} else if !saved.Invalid && saved.Total != offer.Price {
		// Unpaid, the booking lapses on Kiwi's side; nothing is charged.
		return provider.Order{}, &provider.PriceChangedError{Old: offer.Price, New: saved.Total}
	}
	if saved.Invalid {
		return provider.Order{}, fmt.Errorf("kiwi save_booking: flights invalid: %w", provider.ErrUnavailable)
	}

	body, err = c.do(ctx, http.MethodPost, confirmPaymentPath, visitor, confirmPaymentRequest{
		BookingID: json.Number(saved.BookingID), TransactionID: saved.TransactionID,
	})
	if err != nil {
		return provider.Order{}, fmt.Errorf("kiwi confirm_payment: %w", err)
	}
	if err := parseConfirmPayment(body); err != nil {
		return provider.Order{}, fmt.Errorf("kiwi confirm_payment of booking %s: %w", saved.BookingID, err)
	}
	return provider.Order{ID: saved.BookingID, BookingReference: saved.BookingID, Price: saved.Total}, nil
}

// FindOrder looks up the paid booking made under reference (sent as
// visitor_uniqid when it was booked). Only an answered lookup that lists no
// booking is ErrNotFound; a booking not paid yet is ErrOrderPending, and a
// 404 is ErrLookupUnverified: neither proves that no order exists.
func (c *Client) FindOrder(ctx context.Context, reference string) (provider.Order, error) {
	if reference == "" {
		return provider.Order{}, fmt.Errorf("kiwi find order: empty reference: %w", provider.ErrRejected)
	}
	body, err := c.do(ctx, http.MethodGet, bookingsPath, url.Values{"visitor_uniqid": {reference}}, nil)
	var he *provider.HTTPError
	if errors.As(err, &he) && he.Status == http.StatusNotFound {
		// Not ErrNotFound: a 404 of an unverified route proves nothing.
		return provider.Order{}, fmt.Errorf("kiwi find order %q: %w", reference, ErrLookupUnverified)
	}
	if err != nil {
		return provider.Order{}, fmt.Errorf("kiwi find order: %w", err)
	}
	order, err := parseBookingLookup(body)
	if err != nil {
		return provider.Order{}, fmt.Errorf("kiwi find order %q: %w", reference, err)
	}
	return order, nil
}

// checkFlights polls check_flights until the flights are checked, invalid,
// or ctx ends. visitor, when set, binds the session to our reference.
func (c *Client) checkFlights(ctx context.Context, offer provider.Offer, party rawOffer, visitor string) (checkResult, error) {
	if offer.ID == "" || offer.Price.Currency == "" {
		return checkResult{}, fmt.Errorf("offer without booking token or currency: %w", provider.ErrRejected)
	}
	q := url.Values{
		"booking_token": {offer.ID},
		"bnum":          {"0"},
		"adults":        {strconv.Itoa(max(party.Adults, 1))},
		"children":      {strconv.Itoa(party.Children)},
		"infants":       {strconv.Itoa(party.Infants)},
		"currency":      {offer.Price.Currency},
	}
	if visitor != "" {
		q.Set("visitor_uniqid", visitor)
	}
	for {
		body, err := c.do(ctx, http.MethodGet, checkFlightsPath, q, nil)
		if err != nil {
			return checkResult{}, fmt.Errorf("check_flights: %w", offerGone(err))
		}
		res, err := parseCheckFlights(body, offer.Price.Currency)
		if err != nil {
			return checkResult{}, fmt.Errorf("check_flights: %w", err)
		}
		// Invalid needs no wait for flights_checked.
		if res.Invalid {
			return checkResult{}, fmt.Errorf("check_flights: flights invalid: %w", provider.ErrUnavailable)
		}
		if res.Checked {
			return res, nil
		}
		if res.SessionID != "" {
			q.Set("session_id", res.SessionID)
		}
		t := time.NewTimer(c.cfg.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return checkResult{}, fmt.Errorf("check_flights not checked yet: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// offerGone turns Kiwi's 4xx about the booking token ("Expired booking
// token", an unknown token) into ErrUnavailable: the offer no longer exists.
func offerGone(err error) error {
	var he *provider.HTTPError
	if errors.Is(err, provider.ErrRejected) && errors.As(err, &he) &&
		strings.Contains(strings.ToLower(he.Detail), "booking token") {
		if strings.Contains(strings.ToLower(he.Detail), "expired") {
			return fmt.Errorf("%w: %w", provider.ErrOfferExpired, he)
		}
		return fmt.Errorf("%w: %w", provider.ErrUnavailable, he)
	}
	return err
}

// do sends one request and returns the body of a 2xx answer, or the error
// the status maps to.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in any) ([]byte, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("apikey", c.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("read %s answer: %w", path, err)
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return body, nil
	}
	return nil, statusError(res.StatusCode, res.Header.Get("Retry-After"), body, c.cfg.Now())
}

// statusError maps a non-2xx answer: 429 to *RateLimitedError, other 4xx to
// ErrRejected (wrapping the *HTTPError), 5xx and 408 to a temporary *HTTPError.
func statusError(status int, retryAfter string, body []byte, now time.Time) error {
	if status == http.StatusTooManyRequests {
		return &provider.RateLimitedError{RetryAfter: parseRetryAfter(retryAfter, now)}
	}
	code, detail := parseErrorBody(body)
	he := &provider.HTTPError{Status: status, Code: code, Detail: detail}
	if status >= 400 && status < 500 && !he.Temporary() {
		return fmt.Errorf("%w: %w", provider.ErrRejected, he)
	}
	return he
}

// parseRetryAfter reads Retry-After; 0 when absent or bad.
func parseRetryAfter(v string, now time.Time) time.Duration {
	d, _ := provider.ParseRetryAfter(v, now)
	return d
}

// saveBookingRequest is save_booking's body.
type saveBookingRequest struct {
	HealthDeclarationChecked bool               `json:"health_declaration_checked"`
	Lang                     string             `json:"lang"`
	Locale                   string             `json:"locale"`
	BookingToken             string             `json:"booking_token"`
	SessionID                string             `json:"session_id"`
	Passengers               []savePassenger    `json:"passengers"`
	Baggage                  []baggageSelection `json:"baggage"`
}

type savePassenger struct {
	Name     string `json:"name"`
	Surname  string `json:"surname"`
	Birthday string `json:"birthday"`
	Title    string `json:"title,omitempty"`
	Category string `json:"category"`
	Email    string `json:"email,omitempty"`
	Phone    string `json:"phone,omitempty"`
}

// baggageSelection orders one baggage combination for some passengers; Kiwi
// wants one even when nothing is bought.
type baggageSelection struct {
	Combination json.RawMessage `json:"combination"`
	Passengers  []int           `json:"passengers"`
}

type confirmPaymentRequest struct {
	BookingID     json.Number `json:"booking_id"`
	TransactionID string      `json:"transaction_id"`
}

func savePassengers(ps []provider.Passenger) []savePassenger {
	out := make([]savePassenger, len(ps))
	for i, p := range ps {
		out[i] = savePassenger{
			Name: p.GivenName, Surname: p.FamilyName, Birthday: p.BornOn,
			Title: kiwiTitle(p.Title, p.Gender), Category: category(p.Type),
			Email: p.Email, Phone: p.PhoneNumber,
		}
	}
	return out
}

// category is Kiwi's passenger category of a passenger type.
func category(t string) string {
	switch t {
	case provider.Child:
		return "child"
	case provider.Infant:
		return "infant"
	}
	return "adult"
}

// partyOf counts an order's passengers by type.
func partyOf(ps []provider.Passenger) rawOffer {
	var r rawOffer
	for _, p := range ps {
		switch p.Type {
		case provider.Child:
			r.Children++
		case provider.Infant:
			r.Infants++
		default:
			r.Adults++
		}
	}
	return r
}

// kiwiTitle maps our titles to Kiwi's two, "Mr" and "Ms".
func kiwiTitle(title, gender string) string {
	switch strings.ToLower(title) {
	case "mr":
		return "Mr"
	case "ms", "mrs", "miss":
		return "Ms"
	}
	switch strings.ToLower(gender) {
	case "m":
		return "Mr"
	case "f":
		return "Ms"
	}
	return ""
}

// rawOffer is what Offer.Raw holds: the itinerary as Kiwi sent it and the
// passengers it was priced for (check_flights needs them back); once Price
// checked the flights under a reference, that check's session.
type rawOffer struct {
	Visitor   string             `json:"visitor,omitempty"` // the reference the check ran under
	Session   string             `json:"session_id,omitempty"`
	Checked   string             `json:"checked,omitempty"` // the checked total, Money's String form
	Baggage   []baggageSelection `json:"baggage,omitempty"`
	Adults    int                `json:"adults"`
	Children  int                `json:"children,omitempty"`
	Infants   int                `json:"infants,omitempty"`
	Itinerary json.RawMessage    `json:"itinerary,omitempty"`
}

func decodeRaw(b []byte) (rawOffer, error) {
	r := rawOffer{Adults: 1}
	if len(b) == 0 {
		return r, nil
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("offer raw: %w", err)
	}
	r.Adults = max(r.Adults, 1)
	return r, nil
}
