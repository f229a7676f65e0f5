// Package amadeussim simulates the Amadeus Self-Service flight APIs in
// Amadeus's own wire format, for tests, load benchmarks and reservd's
// embedded default. It serves what package amadeus speaks:
//
//   - POST /v1/security/oauth2/token (OAuth2 client credentials; OAuth error
//     envelope, 38187 invalid_client / unsupported_grant_type)
//   - GET /v2/shopping/flight-offers (Flight Offers Search)
//   - POST /v1/shopping/flight-offers/pricing (Flight Offers Price)
//   - POST /v1/booking/flight-orders (Flight Create Orders)
//   - GET /v1/booking/flight-orders/{id} (Flight Order Management)
//   - GET /v1/booking/flight-orders?remark=TEXT: NOT an Amadeus endpoint.
//     It stands for an agency's back-office search over PNR remarks, the
//     only way to find an order by the client reference the adapter writes
//     as the general remark "CLIENT REF <reference>" (see package amadeus).
//
// Every API call needs "Authorization: Bearer <token>" from the token
// endpoint: a missing or malformed header answers 401 38191, an unknown
// token 401 38190, an expired one 401 38192, in the {"errors": [...]}
// envelope. Any non-empty client id and secret get a token unless ClientID
// and ClientSecret are set.
//
// Offers come from simkit.Inventory (carriers LH, AF, KL, IB, AZ), priced
// in EUR unless currencyCode asks for another currency. The simulator keeps
// no offer state: a flight-offer object sent back for pricing or booking
// names its flight (segment carrier, number, airports, local departure),
// which is looked up in the inventory again. The knobs of Kit apply:
// latency, black hole, error bursts (500 38189 / 503 141), 429 (38194),
// price change at pricing (the new grandTotal plus a
// PricingOrFareBasisDiscrepancyWarning) and at booking (400 37200 PRICE
// DISCREPANCY naming both prices), sold out (400 4926 "No fare applicable"
// at pricing, 400 34651 SEGMENT SELL FAILURE at booking), and a lost order
// answer (the order is created, then the call never answers).
package amadeussim

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider/simkit"
)

// Name is the provider's public name, also the inventory's seed.
const Name = "amadeus"

// ReferenceRemarkPrefix starts the general remark that carries the client's
// reference; package amadeus writes "CLIENT REF <reference>".
const ReferenceRemarkPrefix = "CLIENT REF "

// Carriers are the airlines the simulated inventory flies.
var Carriers = []string{"LH", "AF", "KL", "IB", "AZ"}

// Sim is a simulated Amadeus. Set its exported fields before serving.
type Sim struct {
	// Kit holds the knobs, counters and the register of created orders.
	Kit *simkit.Sim
	// ClientID and ClientSecret, when set, are the only credentials the
	// token endpoint accepts; empty accepts any non-empty pair.
	ClientID, ClientSecret string
	// TokenTTL is the lifetime of an access token; 0 means Amadeus's 1799 s.
	TokenTTL time.Duration
	// Currency quotes offers when the search names none; "" means EUR.
	Currency string
	// Now is the clock of token expiry and order dates; nil means time.Now.
	Now func() time.Time

	mu           sync.Mutex
	tokens       map[string]time.Time // access token → expiry
	issued       int
	authFailures int
	orders       []storedOrder
	seq          int
}

type storedOrder struct {
	id      string
	remarks []string
	body    json.RawMessage // the flight-order object
}

// New returns a simulator with no faults.
func New() *Sim {
	return &Sim{Kit: simkit.New(Name), tokens: make(map[string]time.Time)}
}

// AdminHandler serves the knobs and counters (see simkit.Sim.AdminHandler).
func (s *Sim) AdminHandler() http.Handler { return s.Kit.AdminHandler() }

// Close releases every request the simulator holds (black hole, lost
// order answers).
func (s *Sim) Close() { s.Kit.Close() }

// TokensIssued counts the access tokens the token endpoint handed out.
func (s *Sim) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// AuthFailures counts the API calls refused with 401.
func (s *Sim) AuthFailures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authFailures
}

// ExpireTokens makes every access token handed out so far expired, as if
// their 30 minutes had passed.
func (s *Sim) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.tokens {
		s.tokens[t] = time.Time{}
	}
}

func (s *Sim) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Handler serves the Amadeus API, with Kit's request-level faults in front.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/security/oauth2/token", s.token)
	mux.Handle("GET /v2/shopping/flight-offers", s.authed(s.search))
	mux.Handle("POST /v1/shopping/flight-offers/pricing", s.authed(s.pricing))
	mux.Handle("POST /v1/booking/flight-orders", s.authed(s.book))
	mux.Handle("GET /v1/booking/flight-orders", s.authed(s.searchOrders))
	mux.Handle("GET /v1/booking/flight-orders/{id}", s.authed(s.getOrder))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErrors(w, http.StatusNotFound, issue{Code: 38196, Title: "Resource not found", Detail: "The targeted resource doesn't exist"})
	})
	return s.Kit.Wrap(s.Kit.OrderFaults(mux, orderRoutes), writeFault)
}

// issue is one entry of Amadeus's {"errors": [...]} envelope.
type issue struct {
	Status int     `json:"status"`
	Code   int     `json:"code"`
	Title  string  `json:"title"`
	Detail string  `json:"detail,omitempty"`
	Source *source `json:"source,omitempty"`
}

type source struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
	Example   string `json:"example,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/vnd.amadeus+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeErrors(w http.ResponseWriter, status int, is ...issue) {
	for i := range is {
		is[i].Status = status
	}
	writeJSON(w, status, map[string]any{"errors": is})
}

// writeFault renders simkit's injected faults the way Amadeus answers them.
func writeFault(w http.ResponseWriter, status int, code, detail string) {
	switch status {
	case http.StatusTooManyRequests:
		writeErrors(w, status, issue{Code: 38194, Title: "Too many requests", Detail: "The network rate limit is exceeded, please try again later"})
	case http.StatusServiceUnavailable:
		writeErrors(w, status, issue{Code: 141, Title: "SYSTEM ERROR HAS OCCURRED", Detail: detail})
	default:
		writeErrors(w, status, issue{Code: 38189, Title: "Internal error", Detail: "An internal error occured, please contact your administrator"})
	}
}

func writeOAuthError(w http.ResponseWriter, status int, errName, desc string) {
	writeJSON(w, status, map[string]any{"error": errName, "error_description": desc, "code": 38187, "title": "Invalid parameters"})
}

// token is the OAuth2 client-credentials grant.
func (s *Sim) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Mandatory grant_type form parameter missing")
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "Only client_credentials value is allowed for the body parameter grant_type")
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if id == "" || secret == "" || (s.ClientID != "" && id != s.ClientID) || (s.ClientSecret != "" && secret != s.ClientSecret) {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "Client credentials are invalid")
		return
	}
	ttl := s.TokenTTL
	if ttl <= 0 {
		ttl = 1799 * time.Second
	}
	tok := randomToken()
	s.mu.Lock()
	s.tokens[tok] = s.now().Add(ttl)
	s.issued++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"type":             "amadeusOAuth2Token",
		"username":         "sim@reservd.invalid",
		"application_name": "reservd",
		"client_id":        id,
		"token_type":       "Bearer",
		"access_token":     tok,
		"expires_in":       int(ttl / time.Second),
		"state":            "approved",
		"scope":            "",
	})
}

func randomToken() string {
	var b [21]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// authed checks the bearer token before next.
func (s *Sim) authed(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		tok = strings.TrimSpace(tok)
		if !ok || tok == "" {
			s.countAuthFailure()
			// As documented: this one comes with code and status as strings.
			writeJSON(w, http.StatusUnauthorized, map[string]any{"errors": []map[string]string{{
				"code": "38191", "title": "Invalid HTTP header",
				"detail": "Missing or invalid format for mandatory Authorization header", "status": "401",
			}}})
			return
		}
		s.mu.Lock()
		exp, known := s.tokens[tok]
		s.mu.Unlock()
		switch {
		case !known:
			s.countAuthFailure()
			writeErrors(w, http.StatusUnauthorized, issue{Code: 38190, Title: "Invalid access token", Detail: "The access token provided in the Authorization header is invalid"})
		case !s.now().Before(exp):
			s.countAuthFailure()
			writeErrors(w, http.StatusUnauthorized, issue{Code: 38192, Title: "Access token expired", Detail: "The access token is expired"})
		default:
			next(w, r)
		}
	})
}

func (s *Sim) countAuthFailure() {
	s.mu.Lock()
	s.authFailures++
	s.mu.Unlock()
}

var iataRE = regexp.MustCompile(`^[A-Z]{3}$`)

// search is Flight Offers Search (GET).
func (s *Sim) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for _, p := range []string{"originLocationCode", "destinationLocationCode", "departureDate", "adults"} {
		if q.Get(p) == "" {
			writeErrors(w, http.StatusBadRequest, issue{Code: 32171, Title: "MANDATORY DATA MISSING", Detail: "This field must be filled.", Source: &source{Parameter: p}})
			return
		}
	}
	origin, dest := q.Get("originLocationCode"), q.Get("destinationLocationCode")
	for p, v := range map[string]string{"originLocationCode": origin, "destinationLocationCode": dest} {
		if !iataRE.MatchString(v) {
			writeErrors(w, http.StatusBadRequest, issue{Code: 477, Title: "INVALID FORMAT", Detail: "City/Airport - 3 characters IATA code", Source: &source{Parameter: p, Example: "CDG"}})
			return
		}
	}
	date, err := time.Parse(time.DateOnly, q.Get("departureDate"))
	if err != nil {
		writeErrors(w, http.StatusBadRequest, issue{Code: 425, Title: "INVALID DATE", Detail: "Date/Time is invalid", Source: &source{Parameter: "departureDate", Example: "2021-11-01"}})
		return
	}
	adults, err := strconv.Atoi(q.Get("adults"))
	if err != nil || adults < 1 || adults > 9 {
		writeErrors(w, http.StatusBadRequest, issue{Code: 477, Title: "INVALID FORMAT", Detail: "adults must be between 1 and 9", Source: &source{Parameter: "adults"}})
		return
	}
	currency := s.Currency
	if currency == "" {
		currency = "EUR"
	}
	if c := q.Get("currencyCode"); c != "" {
		if !money.Known(c) {
			writeErrors(w, http.StatusBadRequest, issue{Code: 477, Title: "INVALID FORMAT", Detail: "currencyCode is not a supported ISO 4217 code", Source: &source{Parameter: "currencyCode", Example: "EUR"}})
			return
		}
		currency = c
	}
	max := 250
	if m := q.Get("max"); m != "" {
		if max, err = strconv.Atoi(m); err != nil || max < 1 {
			writeErrors(w, http.StatusBadRequest, issue{Code: 477, Title: "INVALID FORMAT", Detail: "max must be a positive integer", Source: &source{Parameter: "max"}})
			return
		}
	}
	s.Kit.Count(func(st *simkit.Stats) { st.Searches++ })

	flights := simkit.Inventory(Name, Carriers, origin, dest, date)
	slices.SortStableFunc(flights, func(a, b simkit.Flight) int { return cmp.Compare(a.Amount, b.Amount) })
	if len(flights) > max {
		flights = flights[:max]
	}
	data := make([]offerJSON, 0, len(flights))
	for i, f := range flights {
		data = append(data, renderOffer(strconv.Itoa(i+1), f, currency, adults, f.Amount))
	}
	self := "https://test.api.amadeus.com/v2/shopping/flight-offers?" + q.Encode()
	writeJSON(w, http.StatusOK, map[string]any{
		"meta":         map[string]any{"count": len(data), "links": map[string]string{"self": self}},
		"data":         data,
		"dictionaries": dictionaries(flights, currency),
	})
}

// pricing is Flight Offers Price.
func (s *Sim) pricing(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Data struct {
			Type         string            `json:"type"`
			FlightOffers []json.RawMessage `json:"flightOffers"`
		} `json:"data"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if body.Data.Type != "flight-offers-pricing" || len(body.Data.FlightOffers) == 0 {
		writeErrors(w, http.StatusBadRequest, issue{Code: 32171, Title: "MANDATORY DATA MISSING", Detail: "data.type flight-offers-pricing and data.flightOffers are required", Source: &source{Pointer: "/data"}})
		return
	}
	s.Kit.Count(func(st *simkit.Stats) { st.Prices++ })
	sub, ok := identify(body.Data.FlightOffers[0])
	k := s.Kit.Knobs()
	if !ok || k.SoldOut {
		writeErrors(w, http.StatusBadRequest, issue{Code: 4926, Title: "INVALID DATA RECEIVED", Detail: "No fare applicable"})
		return
	}
	perTraveler := simkit.Adjust(sub.flight.Amount, k.PriceChangeAtPricing)
	offer := renderOffer(sub.id, sub.flight, sub.currency, sub.travelers, perTraveler)
	reply := map[string]any{
		"data":         map[string]any{"type": "flight-offers-pricing", "flightOffers": []offerJSON{offer}},
		"dictionaries": map[string]any{"locations": map[string]any{}},
	}
	if offer.Price.GrandTotal != sub.grandTotal {
		reply["warnings"] = []map[string]any{{
			"status": 200, "code": 0, "title": "PricingOrFareBasisDiscrepancyWarning",
			"detail": "Actual price and/or fare basis for some passengers is different from requested ones",
		}}
	}
	writeJSON(w, http.StatusOK, reply)
}

// book is Flight Create Orders.
func (s *Sim) book(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Data struct {
			Type         string            `json:"type"`
			FlightOffers []json.RawMessage `json:"flightOffers"`
			Travelers    []json.RawMessage `json:"travelers"`
			Remarks      json.RawMessage   `json:"remarks"`
		} `json:"data"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	d := body.Data
	if d.Type != "flight-order" || len(d.FlightOffers) != 1 || len(d.Travelers) == 0 {
		writeErrors(w, http.StatusBadRequest, issue{Code: 32171, Title: "MANDATORY DATA MISSING", Detail: "data.type flight-order, one flightOffer and travelers are required", Source: &source{Pointer: "/data"}})
		return
	}
	for i, raw := range d.Travelers {
		var t struct {
			ID          string `json:"id"`
			DateOfBirth string `json:"dateOfBirth"`
			Name        struct {
				FirstName string `json:"firstName"`
				LastName  string `json:"lastName"`
			} `json:"name"`
		}
		if err := json.Unmarshal(raw, &t); err != nil || t.ID == "" || t.Name.FirstName == "" || t.Name.LastName == "" {
			writeErrors(w, http.StatusBadRequest, issue{Code: 32171, Title: "MANDATORY DATA MISSING", Detail: "traveler id and name are required", Source: &source{Pointer: fmt.Sprintf("/data/travelers[%d]", i)}})
			return
		}
		if _, err := time.Parse(time.DateOnly, t.DateOfBirth); err != nil {
			writeErrors(w, http.StatusBadRequest, issue{Code: 477, Title: "INVALID FORMAT", Detail: "dateOfBirth must be YYYY-MM-DD", Source: &source{Pointer: fmt.Sprintf("/data/travelers[%d]/dateOfBirth", i)}})
			return
		}
	}
	var remarks struct {
		General []struct {
			SubType string `json:"subType"`
			Text    string `json:"text"`
		} `json:"general"`
	}
	if len(d.Remarks) > 0 {
		if err := json.Unmarshal(d.Remarks, &remarks); err != nil {
			writeErrors(w, http.StatusBadRequest, issue{Code: 477, Title: "INVALID FORMAT", Detail: "remarks", Source: &source{Pointer: "/data/remarks"}})
			return
		}
	}

	sub, ok := identify(d.FlightOffers[0])
	k := s.Kit.Knobs()
	if !ok || k.SoldOut {
		writeErrors(w, http.StatusBadRequest, issue{Code: 34651, Title: "SEGMENT SELL FAILURE", Detail: "Could not sell segment 1", Source: &source{Pointer: "/data/flightOffers[0]/itineraries[0]/segments[0]"}})
		return
	}
	if sub.travelers != len(d.Travelers) {
		writeErrors(w, http.StatusBadRequest, issue{Code: 4926, Title: "INVALID DATA RECEIVED", Detail: "travelers do not match the flight offer's travelerPricings", Source: &source{Pointer: "/data/travelers"}})
		return
	}
	// The airline's price now: what pricing says, moved again at booking.
	perTraveler := simkit.Adjust(simkit.Adjust(sub.flight.Amount, k.PriceChangeAtPricing), k.PriceChangeAtBooking)
	offer := renderOffer(sub.id, sub.flight, sub.currency, sub.travelers, perTraveler)
	if offer.Price.GrandTotal != sub.grandTotal {
		writeErrors(w, http.StatusBadRequest, issue{
			Code: 37200, Title: "PRICE DISCREPANCY",
			Detail: fmt.Sprintf("Current grandTotal price (%s) is different from request one (%s)", offer.Price.GrandTotal, sub.grandTotal),
			Source: &source{Pointer: "/data/flightOffers[0]/price/grandTotal"},
		})
		return
	}

	var reference string
	var texts []string
	for _, rm := range remarks.General {
		texts = append(texts, rm.Text)
		if ref, ok := strings.CutPrefix(rm.Text, ReferenceRemarkPrefix); ok && reference == "" {
			reference = ref
		}
	}
	now := s.now().UTC()
	s.mu.Lock()
	s.seq++
	pnr := recordLocator(s.seq, now)
	s.mu.Unlock()
	id := base64.RawURLEncoding.EncodeToString([]byte(pnr + "|" + now.Format(time.DateOnly)))
	order := map[string]any{
		"type":            "flight-order",
		"id":              id,
		"queuingOfficeId": "NCE1A0950",
		"associatedRecords": []map[string]string{{
			"reference": pnr, "creationDate": now.Format("2006-01-02T15:04:05.000"),
			"originSystemCode": "GDS", "flightOfferId": sub.id,
		}},
		"flightOffers":       []offerJSON{offer},
		"travelers":          d.Travelers,
		"ticketingAgreement": map[string]string{"option": "DELAY_TO_CANCEL", "delay": "6D"},
	}
	if len(d.Remarks) > 0 {
		order["remarks"] = d.Remarks
	}
	raw, err := json.Marshal(order)
	if err != nil {
		writeFault(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	total, _ := money.ParseDecimal(offer.Price.GrandTotal, sub.currency)
	s.mu.Lock()
	s.orders = append(s.orders, storedOrder{id: id, remarks: texts, body: raw})
	s.mu.Unlock()
	s.Kit.AddOrder(simkit.Order{
		ID: id, BookingReference: pnr, Reference: reference, OfferID: sub.id,
		Amount: total.Amount, Currency: sub.currency, Passengers: len(d.Travelers), CreatedAt: now,
	})
	if k.LoseOrderResponse {
		s.Kit.Hang(r)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"data": json.RawMessage(raw), "dictionaries": map[string]any{"locations": map[string]any{}}})
}

// getOrder is Flight Order Management's read by id.
func (s *Sim) getOrder(w http.ResponseWriter, r *http.Request) {
	s.Kit.Count(func(st *simkit.Stats) { st.Lookups++ })
	id := r.PathValue("id")
	for _, o := range s.liveOrders() {
		if o.id == id {
			writeJSON(w, http.StatusOK, map[string]any{"data": o.body})
			return
		}
	}
	writeErrors(w, http.StatusNotFound, issue{Code: 1797, Title: "NOT FOUND", Detail: "no response found for this query parameter", Source: &source{Parameter: "flight-orderId"}})
}

// searchOrders is the simulator's remark search (not an Amadeus endpoint).
func (s *Sim) searchOrders(w http.ResponseWriter, r *http.Request) {
	remark := strings.TrimSpace(r.URL.Query().Get("remark"))
	if remark == "" {
		writeErrors(w, http.StatusBadRequest, issue{Code: 32171, Title: "MANDATORY DATA MISSING", Detail: "remark is required", Source: &source{Parameter: "remark"}})
		return
	}
	s.Kit.Count(func(st *simkit.Stats) { st.Lookups++ })
	data := []json.RawMessage{}
	for _, o := range s.liveOrders() {
		if slices.ContainsFunc(o.remarks, func(t string) bool { return strings.EqualFold(strings.TrimSpace(t), remark) }) {
			data = append(data, o.body)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"meta": map[string]any{"count": len(data)}, "data": data})
}

// liveOrders are the stored orders Kit still knows (a /_sim/reset forgets them).
func (s *Sim) liveOrders() []storedOrder {
	s.mu.Lock()
	all := slices.Clone(s.orders)
	s.mu.Unlock()
	live := all[:0]
	for _, o := range all {
		if _, ok := s.Kit.OrderByID(o.id); ok {
			live = append(live, o)
		}
	}
	return live
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(v); err != nil {
		writeErrors(w, http.StatusBadRequest, issue{Code: 477, Title: "INVALID FORMAT", Detail: "the body is not valid JSON: " + err.Error()})
		return false
	}
	return true
}

// recordLocator makes a 6-character PNR, distinct per sequence number.
func recordLocator(seq int, now time.Time) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%d", seq, now.UnixNano())
	n := h.Sum64()
	b := make([]byte, 6)
	for i := range b {
		b[i] = alphabet[n%uint64(len(alphabet))]
		n /= uint64(len(alphabet))
	}
	return string(b)
}

// submitted is what a flight-offer sent back names.
type submitted struct {
	id         string
	flight     simkit.Flight
	currency   string
	travelers  int
	grandTotal string
}

// identify finds the inventory flight a flight-offer object names.
func identify(raw json.RawMessage) (submitted, bool) {
	var o struct {
		ID          string `json:"id"`
		Itineraries []struct {
			Segments []struct {
				Departure struct {
					IATACode string `json:"iataCode"`
					At       string `json:"at"`
				} `json:"departure"`
				Arrival struct {
					IATACode string `json:"iataCode"`
				} `json:"arrival"`
				CarrierCode string `json:"carrierCode"`
				Number      string `json:"number"`
			} `json:"segments"`
		} `json:"itineraries"`
		Price struct {
			Currency   string `json:"currency"`
			GrandTotal string `json:"grandTotal"`
		} `json:"price"`
		TravelerPricings []json.RawMessage `json:"travelerPricings"`
	}
	if err := json.Unmarshal(raw, &o); err != nil || len(o.Itineraries) != 1 || len(o.Itineraries[0].Segments) != 1 {
		return submitted{}, false
	}
	seg := o.Itineraries[0].Segments[0]
	if len(seg.Departure.At) < len(time.DateOnly) || !money.Known(o.Price.Currency) || len(o.TravelerPricings) == 0 {
		return submitted{}, false
	}
	date, err := time.Parse(time.DateOnly, seg.Departure.At[:len(time.DateOnly)])
	if err != nil {
		return submitted{}, false
	}
	for _, f := range simkit.Inventory(Name, Carriers, seg.Departure.IATACode, seg.Arrival.IATACode, date) {
		if f.Carrier == seg.CarrierCode && f.Number == seg.Number && f.DepartsLocal == seg.Departure.At {
			return submitted{id: o.ID, flight: f, currency: o.Price.Currency, travelers: len(o.TravelerPricings), grandTotal: o.Price.GrandTotal}, true
		}
	}
	return submitted{}, false
}

// The flight-offer as the simulator renders it, field names as documented.
type offerJSON struct {
	Type                     string          `json:"type"`
	ID                       string          `json:"id"`
	Source                   string          `json:"source"`
	InstantTicketingRequired bool            `json:"instantTicketingRequired"`
	NonHomogeneous           bool            `json:"nonHomogeneous"`
	OneWay                   bool            `json:"oneWay"`
	LastTicketingDate        string          `json:"lastTicketingDate"`
	NumberOfBookableSeats    int             `json:"numberOfBookableSeats"`
	Itineraries              []itineraryJSON `json:"itineraries"`
	Price                    priceJSON       `json:"price"`
	PricingOptions           struct {
		FareType                []string `json:"fareType"`
		IncludedCheckedBagsOnly bool     `json:"includedCheckedBagsOnly"`
	} `json:"pricingOptions"`
	ValidatingAirlineCodes []string              `json:"validatingAirlineCodes"`
	TravelerPricings       []travelerPricingJSON `json:"travelerPricings"`
}

type itineraryJSON struct {
	Duration string        `json:"duration"`
	Segments []segmentJSON `json:"segments"`
}

type segmentJSON struct {
	Departure       endPointJSON      `json:"departure"`
	Arrival         endPointJSON      `json:"arrival"`
	CarrierCode     string            `json:"carrierCode"`
	Number          string            `json:"number"`
	Aircraft        map[string]string `json:"aircraft"`
	Operating       map[string]string `json:"operating"`
	Duration        string            `json:"duration"`
	ID              string            `json:"id"`
	NumberOfStops   int               `json:"numberOfStops"`
	BlacklistedInEU bool              `json:"blacklistedInEU"`
}

type endPointJSON struct {
	IATACode string `json:"iataCode"`
	Terminal string `json:"terminal,omitempty"`
	At       string `json:"at"`
}

type priceJSON struct {
	Currency   string    `json:"currency"`
	Total      string    `json:"total"`
	Base       string    `json:"base"`
	Fees       []feeJSON `json:"fees,omitempty"`
	GrandTotal string    `json:"grandTotal,omitempty"`
}

type feeJSON struct {
	Amount string `json:"amount"`
	Type   string `json:"type"`
}

type travelerPricingJSON struct {
	TravelerID           string     `json:"travelerId"`
	FareOption           string     `json:"fareOption"`
	TravelerType         string     `json:"travelerType"`
	Price                priceJSON  `json:"price"`
	FareDetailsBySegment []fareJSON `json:"fareDetailsBySegment"`
}

type fareJSON struct {
	SegmentID           string         `json:"segmentId"`
	Cabin               string         `json:"cabin"`
	FareBasis           string         `json:"fareBasis"`
	Class               string         `json:"class"`
	IncludedCheckedBags map[string]int `json:"includedCheckedBags"`
}

// renderOffer renders an offer; perTraveler is in EUR minor units (the
// inventory's currency) and is quoted in currency at the shipped rates, so
// that every currency prices the same flight alike.
func renderOffer(id string, f simkit.Flight, currency string, travelers int, perTraveler int64) offerJSON {
	perTraveler = simkit.Convert(perTraveler, "EUR", currency)
	amount := func(minor int64) string { return money.Money{Amount: minor, Currency: currency}.Decimal() }
	base := perTraveler * 80 / 100
	o := offerJSON{
		Type: "flight-offer", ID: id, Source: "GDS",
		LastTicketingDate:     f.DepartsLocal[:len(time.DateOnly)],
		NumberOfBookableSeats: 9,
		Itineraries: []itineraryJSON{{
			Duration: isoDuration(f.Duration),
			Segments: []segmentJSON{{
				Departure:   endPointJSON{IATACode: f.Origin, Terminal: "1", At: f.DepartsLocal},
				Arrival:     endPointJSON{IATACode: f.Destination, Terminal: "1", At: f.ArrivesLocal},
				CarrierCode: f.Carrier, Number: f.Number,
				Aircraft:  map[string]string{"code": aircraft(f.Duration)},
				Operating: map[string]string{"carrierCode": f.Carrier},
				Duration:  isoDuration(f.Duration), ID: "1",
			}},
		}},
		Price: priceJSON{
			Currency: currency, Total: amount(perTraveler * int64(travelers)), Base: amount(base * int64(travelers)),
			Fees:       []feeJSON{{Amount: amount(0), Type: "SUPPLIER"}, {Amount: amount(0), Type: "TICKETING"}},
			GrandTotal: amount(perTraveler * int64(travelers)),
		},
		ValidatingAirlineCodes: []string{f.Carrier},
	}
	o.PricingOptions.FareType = []string{"PUBLISHED"}
	o.PricingOptions.IncludedCheckedBagsOnly = true
	for i := range travelers {
		o.TravelerPricings = append(o.TravelerPricings, travelerPricingJSON{
			TravelerID: strconv.Itoa(i + 1), FareOption: "STANDARD", TravelerType: "ADULT",
			Price: priceJSON{Currency: currency, Total: amount(perTraveler), Base: amount(base)},
			FareDetailsBySegment: []fareJSON{{
				SegmentID: "1", Cabin: "ECONOMY", FareBasis: "KLOW" + f.Carrier, Class: "K",
				IncludedCheckedBags: map[string]int{"quantity": 1},
			}},
		})
	}
	return o
}

func isoDuration(d time.Duration) string {
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h == 0:
		return fmt.Sprintf("PT%dM", m)
	case m == 0:
		return fmt.Sprintf("PT%dH", h)
	}
	return fmt.Sprintf("PT%dH%dM", h, m)
}

func aircraft(d time.Duration) string {
	if d < 4*time.Hour {
		return "320"
	}
	return "333"
}

var carrierNames = map[string]string{
	"LH": "LUFTHANSA", "AF": "AIR FRANCE", "KL": "KLM ROYAL DUTCH AIRLINES", "IB": "IBERIA", "AZ": "ITA AIRWAYS",
}

var currencyNames = map[string]string{"EUR": "EURO", "USD": "US DOLLAR", "GBP": "POUND STERLING"}

func dictionaries(flights []simkit.Flight, currency string) map[string]any {
	carriers := map[string]string{}
	craft := map[string]string{}
	for _, f := range flights {
		carriers[f.Carrier] = carrierNames[f.Carrier]
		if a := aircraft(f.Duration); a == "320" {
			craft[a] = "AIRBUS A320"
		} else {
			craft[a] = "AIRBUS A330-300"
		}
	}
	name := currencyNames[currency]
	if name == "" {
		name = currency
	}
	return map[string]any{
		"locations":  map[string]any{},
		"aircraft":   craft,
		"currencies": map[string]string{currency: name},
		"carriers":   carriers,
	}
}
