// Package duffelsim simulates the part of the Duffel API (v2) that the duffel
// adapter uses, in Duffel's own wire format: POST /air/offer_requests, GET
// /air/offers/{id}, POST /air/orders, GET /air/orders (filters offer_id,
// booking_reference, awaiting_payment; limit/after cursor pages) and GET
// /air/orders/{id}. Requests need "Authorization: Bearer <token>" and
// "Duffel-Version: v2"; bodies are {"data": ...}; errors use Duffel's
// {"errors": [...], "meta": {...}} envelope, and every answer carries the
// lowercase ratelimit-* headers and x-request-id.
//
// Offers come from simkit.Inventory and are priced in GBP (Duffel quotes in
// the account's billing currency, and its search takes no currency), per
// adult. The simulator keeps no state about offers: an offer id encodes the
// route, date, number of adults, flight index, creation time and the offer
// request it belongs to, and passenger ids derive from the offer request.
// Offers expire OfferTTL after their search, and an offer request can be
// booked once (422 offer_request_already_booked), as on Duffel.
//
// The simkit knobs apply: latency, black holes, 500/503 bursts and 429s in
// front of every request; PriceChangeAtPricing moves the total that GET
// /air/offers/{id} (and booking) see; PriceChangeAtBooking moves it when an
// order is placed, refusing the old total with 422
// payment_amount_does_not_match_order_amount, after which the offer keeps the
// new total; SoldOut answers 422 offer_no_longer_available to pricing and
// booking; LoseOrderResponse creates the order and never answers. Orders
// keep the metadata they were booked with; the value under
// ReferenceMetadataKey becomes the simkit order's Reference.
package duffelsim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reservd/reservd/internal/airport"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider/simkit"
)

// ReferenceMetadataKey is the order metadata key whose value the simulator
// records as the client's reference (the adapter's MetadataReferenceKey).
const ReferenceMetadataKey = "reservd_reference"

// Version is the Duffel-Version the simulator speaks.
const Version = "v2"

// Sim is a Duffel simulator. Set its fields before serving requests.
type Sim struct {
	// Kit holds the knobs, counters and the register of orders.
	Kit *simkit.Sim
	// Token, when set, is the only access token accepted; otherwise any
	// non-empty bearer token is.
	Token string
	// Currency of every quote: the account's billing currency. Default GBP.
	Currency string
	// Carriers the inventory's flights are marketed by.
	Carriers []string
	// OfferTTL is how long an offer can be booked after its search (Duffel:
	// typically 30 minutes).
	OfferTTL time.Duration

	mu       sync.Mutex
	seq      uint64
	orders   map[string]*orderRecord // by order id
	booked   map[string]string       // offer request id -> the order that booked it
	repriced map[string]int64        // offer id -> total after a price move at booking
}

type orderRecord struct {
	kit        simkit.Order
	request    string // the offer request the order booked
	key        offerKey
	flight     simkit.Flight
	metadata   map[string]string
	passengers []passengerIn
	createdAt  time.Time
}

var airlineNames = map[string]string{
	"BA": "British Airways", "AA": "American Airlines", "UA": "United Airlines",
	"DL": "Delta Air Lines", "VS": "Virgin Atlantic",
}

// New returns a simulator without faults.
func New() *Sim {
	return &Sim{
		Kit:      simkit.New("duffel"),
		Currency: "GBP",
		Carriers: []string{"BA", "AA", "UA", "DL", "VS"},
		OfferTTL: 30 * time.Minute,
		orders:   make(map[string]*orderRecord),
		booked:   make(map[string]string),
		repriced: make(map[string]int64),
	}
}

// Close releases every request the simulator holds (black holes, lost answers).
func (s *Sim) Close() { s.Kit.Close() }

// AdminHandler serves the simkit admin endpoints (/_sim/knobs, /_sim/stats,
// /_sim/reset); a reset also forgets the simulator's own order details.
func (s *Sim) AdminHandler() http.Handler {
	kit := s.Kit.AdminHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/_sim/reset" {
			s.mu.Lock()
			s.orders = make(map[string]*orderRecord)
			s.booked = make(map[string]string)
			s.repriced = make(map[string]int64)
			s.mu.Unlock()
		}
		kit.ServeHTTP(w, r)
	})
}

// Handler serves the Duffel API.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /air/offer_requests", s.createOfferRequest)
	mux.HandleFunc("GET /air/offers/{id}", s.getOffer)
	mux.HandleFunc("POST /air/orders", s.createOrder)
	mux.HandleFunc("GET /air/orders", s.listOrders)
	mux.HandleFunc("GET /air/orders/{id}", s.getOrder)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "invalid_request_error", "not_found", "Not found",
			"The resource you are trying to access does not exist.", nil)
	})
	return s.Kit.Wrap(s.Kit.OrderFaults(s.authenticate(mux), orderRoutes), s.writeFault)
}

// authenticate checks the headers every Duffel request needs.
func (s *Sim) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setRateHeaders(w, 3999)
		auth := r.Header.Get("Authorization")
		token, isBearer := strings.CutPrefix(auth, "Bearer ")
		switch {
		case auth == "":
			writeError(w, http.StatusUnauthorized, "authentication_error", "missing_authorization_header",
				"Missing authorization header", "The 'Authorization' header needs to be set and contain a valid API token.", nil)
			return
		case !isBearer || strings.TrimSpace(token) == "" || (s.Token != "" && token != s.Token):
			writeError(w, http.StatusUnauthorized, "authentication_error", "invalid_authorization_header",
				"Invalid authorization header", "The 'Authorization' header must contain a valid API token: 'Bearer <token>'.", nil)
			return
		}
		if v := r.Header.Get("Duffel-Version"); v != Version {
			writeError(w, http.StatusBadRequest, "invalid_request_error", "unsupported_version",
				"Unsupported version", fmt.Sprintf("The Duffel-Version header must be set to a supported version (%s); got %q.", Version, v), nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// writeFault renders simkit's request-level faults in Duffel's envelope.
func (s *Sim) writeFault(w http.ResponseWriter, status int, code, detail string) {
	typ, title := "api_error", "Internal server error"
	switch {
	case status == http.StatusTooManyRequests:
		typ, title = "rate_limit_error", "Rate limit exceeded"
		setRateHeaders(w, 0)
	case status == http.StatusServiceUnavailable:
		title = "Service unavailable"
	}
	writeError(w, status, typ, code, title, detail, nil)
}

func setRateHeaders(w http.ResponseWriter, remaining int) {
	h := w.Header()
	reset := time.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	h.Set("ratelimit-limit", "4000")
	h.Set("ratelimit-remaining", strconv.Itoa(remaining))
	h.Set("ratelimit-reset", reset.Format(http.TimeFormat))
}

// ---- offer requests and offers

type dataIn[T any] struct {
	Data *T `json:"data"`
}

type offerRequestIn struct {
	Slices []struct {
		Origin        string `json:"origin"`
		Destination   string `json:"destination"`
		DepartureDate string `json:"departure_date"`
	} `json:"slices"`
	Passengers []struct {
		Type string `json:"type"`
		Age  *int   `json:"age"`
	} `json:"passengers"`
	CabinClass string `json:"cabin_class"`
}

// offerKey is what an offer id encodes.
type offerKey struct {
	Origin, Destination string
	Date                string // YYYY-MM-DD
	Adults              int
	Created             int64  // unix seconds of the search
	Request             uint64 // the simulator's offer request number
	Index               int    // the flight of the inventory
}

func (k offerKey) requestPayload() string {
	return fmt.Sprintf("%s.%s.%s.%d.%d.%d", k.Origin, k.Destination, k.Date, k.Adults, k.Created, k.Request)
}

func (k offerKey) requestID() string {
	return "orq_0000" + base64.RawURLEncoding.EncodeToString([]byte(k.requestPayload()))
}

func (k offerKey) offerID() string {
	return "off_0000" + base64.RawURLEncoding.EncodeToString([]byte(k.requestPayload()+"."+strconv.Itoa(k.Index)))
}

func (k offerKey) passengerID(i int) string {
	return "pas_0000" + hashID(k.requestPayload()+".p"+strconv.Itoa(i), 18)
}

func parseOfferID(id string) (offerKey, bool) {
	enc, ok := strings.CutPrefix(id, "off_0000")
	if !ok {
		return offerKey{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return offerKey{}, false
	}
	parts := strings.Split(string(b), ".")
	if len(parts) != 7 {
		return offerKey{}, false
	}
	k := offerKey{Origin: parts[0], Destination: parts[1], Date: parts[2]}
	var errs [4]error
	k.Adults, errs[0] = strconv.Atoi(parts[3])
	k.Created, errs[1] = strconv.ParseInt(parts[4], 10, 64)
	k.Request, errs[2] = strconv.ParseUint(parts[5], 10, 64)
	k.Index, errs[3] = strconv.Atoi(parts[6])
	for _, err := range errs {
		if err != nil {
			return offerKey{}, false
		}
	}
	if _, err := time.Parse(time.DateOnly, k.Date); err != nil || k.Adults < 1 || k.Index < 0 {
		return offerKey{}, false
	}
	return k, true
}

func (s *Sim) flight(k offerKey) (simkit.Flight, bool) {
	date, _ := time.Parse(time.DateOnly, k.Date)
	flights := simkit.Inventory("duffel", s.Carriers, k.Origin, k.Destination, date)
	if k.Index >= len(flights) {
		return simkit.Flight{}, false
	}
	return flights[k.Index], true
}

func (s *Sim) createOfferRequest(w http.ResponseWriter, r *http.Request) {
	s.Kit.Count(func(st *simkit.Stats) { st.Searches++ })
	var in dataIn[offerRequestIn]
	if !decodeBody(w, r, &in) {
		return
	}
	req := in.Data
	if len(req.Slices) != 1 {
		validationError(w, "validation_length", "slices", "The simulator searches one-way journeys: exactly one slice.")
		return
	}
	sl := req.Slices[0]
	if _, err := time.Parse(time.DateOnly, sl.DepartureDate); err != nil {
		validationError(w, "validation_format", "slices/0/departure_date", "departure_date must be a date, YYYY-MM-DD.")
		return
	}
	if len(sl.Origin) != 3 || len(sl.Destination) != 3 {
		validationError(w, "validation_format", "slices/0/origin", "origin and destination must be IATA codes.")
		return
	}
	if len(req.Passengers) < 1 || len(req.Passengers) > 9 {
		validationError(w, "validation_length", "passengers", "An offer request needs 1 to 9 passengers.")
		return
	}
	for i, p := range req.Passengers {
		if p.Type != "adult" && (p.Age == nil || *p.Age < 18) {
			validationError(w, "validation_inclusion", fmt.Sprintf("passengers/%d/type", i), "The simulator sells adult fares only.")
			return
		}
	}
	switch req.CabinClass {
	case "", "economy", "premium_economy", "business", "first":
	default:
		validationError(w, "validation_inclusion", "cabin_class", "cabin_class must be economy, premium_economy, business or first.")
		return
	}
	cabin := req.CabinClass
	if cabin == "" {
		cabin = "economy"
	}
	now := time.Now().UTC()
	s.mu.Lock()
	s.seq++
	key := offerKey{
		Origin: strings.ToUpper(sl.Origin), Destination: strings.ToUpper(sl.Destination), Date: sl.DepartureDate,
		Adults: len(req.Passengers), Created: now.Unix(), Request: s.seq,
	}
	s.mu.Unlock()
	date, _ := time.Parse(time.DateOnly, key.Date)
	offers := []offerOut{}
	if r.URL.Query().Get("return_offers") != "false" {
		for _, f := range simkit.Inventory("duffel", s.Carriers, key.Origin, key.Destination, date) {
			k := key
			k.Index = f.Index
			offers = append(offers, s.renderOffer(k, f, f.Amount*int64(k.Adults), cabin))
		}
	}
	out := map[string]any{
		"id":          key.requestID(),
		"live_mode":   false,
		"created_at":  stamp(now),
		"cabin_class": cabin,
		"slices": []map[string]any{{
			"origin": place(key.Origin), "destination": place(key.Destination),
			"origin_type": "airport", "destination_type": "airport", "departure_date": key.Date,
		}},
		"passengers": passengersOut(key),
		"offers":     offers,
	}
	writeData(w, http.StatusCreated, out)
}

func (s *Sim) getOffer(w http.ResponseWriter, r *http.Request) {
	s.Kit.Count(func(st *simkit.Stats) { st.Prices++ })
	id := r.PathValue("id")
	key, f, ok := s.lookupOffer(w, id)
	if !ok {
		return
	}
	if s.Kit.Knobs().SoldOut {
		offerGone(w)
		return
	}
	s.mu.Lock()
	amount := s.currentAmount(id, f, key)
	s.mu.Unlock()
	writeData(w, http.StatusOK, s.renderOffer(key, f, amount, "economy"))
}

// lookupOffer decodes an offer id and answers the error itself when the
// offer does not exist or has expired.
func (s *Sim) lookupOffer(w http.ResponseWriter, id string) (offerKey, simkit.Flight, bool) {
	key, ok := parseOfferID(id)
	var f simkit.Flight
	if ok {
		f, ok = s.flight(key)
	}
	if !ok {
		writeError(w, http.StatusNotFound, "invalid_request_error", "not_found", "Not found",
			"The resource you are trying to access does not exist.", nil)
		return offerKey{}, simkit.Flight{}, false
	}
	if time.Now().After(time.Unix(key.Created, 0).Add(s.OfferTTL)) {
		offerGone(w)
		return offerKey{}, simkit.Flight{}, false
	}
	return key, f, true
}

// currentAmount is the offer's total now: moved at booking, or by the
// pricing knob. Call with s.mu held.
func (s *Sim) currentAmount(id string, f simkit.Flight, k offerKey) int64 {
	if v, ok := s.repriced[id]; ok {
		return v
	}
	return simkit.Adjust(f.Amount*int64(k.Adults), s.Kit.Knobs().PriceChangeAtPricing)
}

func offerGone(w http.ResponseWriter) {
	writeError(w, http.StatusUnprocessableEntity, "invalid_state_error", "offer_no_longer_available",
		"Offer no longer available", "The requested offer is no longer available, please select another offer.", nil)
}

type offerOut = map[string]any

func (s *Sim) renderOffer(k offerKey, f simkit.Flight, amount int64, cabin string) offerOut {
	created := time.Unix(k.Created, 0).UTC()
	expires := created.Add(s.OfferTTL)
	total := money.Money{Amount: amount, Currency: s.Currency}
	tax := money.Money{Amount: amount * 15 / 100, Currency: s.Currency}
	base := money.Money{Amount: amount - tax.Amount, Currency: s.Currency}
	pax := passengersOut(k)
	segPax := make([]map[string]any, len(pax))
	for i, p := range pax {
		segPax[i] = map[string]any{
			"passenger_id": p["id"], "cabin_class": cabin, "cabin_class_marketing_name": "Economy",
			"fare_basis_code": "Y26SIM", "baggages": []map[string]any{{"type": "carry_on", "quantity": 1}},
		}
	}
	carrier := airline(f.Carrier)
	return offerOut{
		"id":             k.offerID(),
		"live_mode":      false,
		"created_at":     stamp(created),
		"updated_at":     stamp(created),
		"expires_at":     stamp(expires),
		"total_amount":   total.Decimal(),
		"total_currency": total.Currency,
		"base_amount":    base.Decimal(),
		"base_currency":  base.Currency,
		"tax_amount":     tax.Decimal(),
		"tax_currency":   tax.Currency,
		"owner":          carrier,
		"passengers":     pax,
		"payment_requirements": map[string]any{
			"requires_instant_payment":   false,
			"price_guarantee_expires_at": stamp(expires),
			"payment_required_by":        stamp(created.Add(72 * time.Hour)),
		},
		"passenger_identity_documents_required":       false,
		"supported_passenger_identity_document_types": []string{"passport"},
		"conditions": map[string]any{"refund_before_departure": nil, "change_before_departure": nil},
		"slices": []map[string]any{{
			"id":     "sli_0000" + hashID(k.offerID()+".s", 18),
			"origin": place(f.Origin), "destination": place(f.Destination),
			"origin_type": "airport", "destination_type": "airport",
			"duration": isoDuration(f.Duration), "fare_brand_name": "Basic",
			"segments": []map[string]any{{
				"id":     "seg_0000" + hashID(k.offerID()+".g", 18),
				"origin": place(f.Origin), "destination": place(f.Destination),
				"departing_at": f.DepartsLocal, "arriving_at": f.ArrivesLocal,
				"duration":                        isoDuration(f.Duration),
				"marketing_carrier":               carrier,
				"marketing_carrier_flight_number": f.Number,
				"operating_carrier":               carrier,
				"operating_carrier_flight_number": f.Number,
				"aircraft":                        map[string]any{"iata_code": "359", "name": "Airbus A350-900", "id": "arc_00009UhD4ongolulWd91Ky"},
				"passengers":                      segPax,
			}},
		}},
	}
}

func passengersOut(k offerKey) []map[string]any {
	out := make([]map[string]any, k.Adults)
	for i := range out {
		out[i] = map[string]any{"id": k.passengerID(i), "type": "adult", "age": nil}
	}
	return out
}

func place(iata string) map[string]any {
	tz := ""
	if loc, err := airport.Location(iata); err == nil {
		tz = loc.String()
	}
	return map[string]any{
		"type": "airport", "id": "arp_" + strings.ToLower(iata), "iata_code": iata,
		"name": iata + " Airport", "time_zone": tz,
	}
}

func airline(code string) map[string]any {
	name := airlineNames[code]
	if name == "" {
		name = code
	}
	return map[string]any{"iata_code": code, "name": name, "id": "aln_0000" + hashID(code, 18)}
}

// ---- orders

type passengerIn struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Gender      string `json:"gender"`
	GivenName   string `json:"given_name"`
	FamilyName  string `json:"family_name"`
	BornOn      string `json:"born_on"`
	Email       string `json:"email"`
	PhoneNumber string `json:"phone_number"`
}

type orderIn struct {
	Type           string                     `json:"type"`
	SelectedOffers []string                   `json:"selected_offers"`
	Passengers     []passengerIn              `json:"passengers"`
	Payments       []paymentIn                `json:"payments"`
	Metadata       map[string]json.RawMessage `json:"metadata"`
}

type paymentIn struct {
	Type     string `json:"type"`
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

var metadataKey = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

func (s *Sim) createOrder(w http.ResponseWriter, r *http.Request) {
	var in dataIn[orderIn]
	if !decodeBody(w, r, &in) {
		return
	}
	o := in.Data
	if o.Type != "" && o.Type != "instant" {
		validationError(w, "validation_inclusion", "type", "The simulator creates instant orders only.")
		return
	}
	if len(o.SelectedOffers) != 1 {
		validationError(w, "validation_length", "selected_offers", "You must select exactly one offer.")
		return
	}
	metadata, ok := readMetadata(w, o.Metadata)
	if !ok {
		return
	}
	if len(o.Payments) != 1 {
		validationError(w, "validation_length", "payments", "An instant order needs exactly one payment.")
		return
	}
	pay := o.Payments[0]
	if pay.Type != "balance" && pay.Type != "arc_bsp_cash" {
		validationError(w, "validation_inclusion", "payments/0/type", "payments[].type must be balance or arc_bsp_cash.")
		return
	}
	paid, err := money.ParseDecimal(pay.Amount, pay.Currency)
	if err != nil {
		validationError(w, "validation_format", "payments/0/amount", "amount must be a decimal string in the currency.")
		return
	}
	offerID := o.SelectedOffers[0]
	key, f, ok := s.lookupOffer(w, offerID)
	if !ok {
		return
	}
	if !validPassengers(w, key, o.Passengers) {
		return
	}
	knobs := s.Kit.Knobs()
	if knobs.SoldOut {
		offerGone(w)
		return
	}

	s.mu.Lock()
	if orderID, ok := s.booked[key.requestID()]; ok {
		if _, live := s.Kit.OrderByID(orderID); live {
			s.mu.Unlock()
			writeError(w, http.StatusUnprocessableEntity, "invalid_state_error", "offer_request_already_booked",
				"Offer request already booked", "An offer from this offer request has already been booked. Please create a new offer request.", nil)
			return
		}
	}
	amount := s.currentAmount(offerID, f, key)
	if knobs.PriceChangeAtBooking != 0 {
		if _, moved := s.repriced[offerID]; !moved {
			amount = simkit.Adjust(amount, knobs.PriceChangeAtBooking)
			s.repriced[offerID] = amount
		}
	}
	total := money.Money{Amount: amount, Currency: s.Currency}
	if paid != total {
		s.mu.Unlock()
		msg := "The payment amount does not match the order's total amount."
		code := "payment_amount_does_not_match_order_amount"
		if paid.Currency != total.Currency {
			msg, code = "The payment currency does not match the order's currency.", "payment_currency_does_not_match_order_currency"
		}
		writeError(w, http.StatusUnprocessableEntity, "validation_error", code, "Payment amount does not match", msg,
			&errorSource{Field: "amount", Pointer: "/payments/0/amount"})
		return
	}
	s.seq++
	now := time.Now().UTC()
	id := "ord_0000" + hashID(fmt.Sprintf("%d.%d", s.seq, now.UnixNano()), 18)
	rec := &orderRecord{
		kit: simkit.Order{
			ID: id, BookingReference: strings.ToUpper(hashID(id, 6)), Reference: metadata[ReferenceMetadataKey],
			OfferID: offerID, Amount: amount, Currency: s.Currency, Passengers: len(o.Passengers), CreatedAt: now,
		},
		request: key.requestID(), key: key, flight: f, metadata: metadata, passengers: o.Passengers, createdAt: now,
	}
	rec.kit = s.Kit.AddOrder(rec.kit)
	s.orders[id] = rec
	s.booked[rec.request] = id
	s.mu.Unlock()

	if knobs.LoseOrderResponse {
		s.Kit.Hang(r) // the order exists; its answer never arrives
		return
	}
	writeData(w, http.StatusCreated, s.renderOrder(rec))
}

func readMetadata(w http.ResponseWriter, in map[string]json.RawMessage) (map[string]string, bool) {
	if len(in) > 50 {
		validationError(w, "validation_length", "metadata", "metadata can hold at most 50 key-value pairs.")
		return nil, false
	}
	out := make(map[string]string, len(in))
	for k, raw := range in {
		var v string
		if !metadataKey.MatchString(k) || json.Unmarshal(raw, &v) != nil || len(v) > 500 {
			validationError(w, "validation_format", "metadata/"+k,
				"metadata keys are up to 40 letters, digits, dashes or underscores; values are strings of up to 500 characters.")
			return nil, false
		}
		out[k] = v
	}
	return out, true
}

var (
	bornOn = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	e164   = regexp.MustCompile(`^\+[1-9]\d{6,14}$`)
)

func validPassengers(w http.ResponseWriter, key offerKey, ps []passengerIn) bool {
	if len(ps) != key.Adults {
		validationError(w, "validation_length", "passengers", fmt.Sprintf("The offer is for %d passengers.", key.Adults))
		return false
	}
	want := make(map[string]bool, key.Adults)
	for i := range key.Adults {
		want[key.passengerID(i)] = true
	}
	for i, p := range ps {
		field := func(name string) string { return fmt.Sprintf("passengers/%d/%s", i, name) }
		switch {
		case !want[p.ID]:
			validationError(w, "validation_inclusion", field("id"), "The passenger id must be one of the offer's passengers.")
		case p.GivenName == "":
			validationError(w, "validation_required", field("given_name"), "Field 'given_name' can't be blank")
		case p.FamilyName == "":
			validationError(w, "validation_required", field("family_name"), "Field 'family_name' can't be blank")
		case !bornOn.MatchString(p.BornOn):
			validationError(w, "validation_format", field("born_on"), "born_on must be a date, YYYY-MM-DD.")
		case !strings.Contains(p.Email, "@"):
			validationError(w, "validation_format", field("email"), "email must be an email address.")
		case !e164.MatchString(p.PhoneNumber):
			validationError(w, "validation_format", field("phone_number"), "phone_number must be in E.164 format.")
		case p.Title != "mr" && p.Title != "ms" && p.Title != "mrs" && p.Title != "miss" && p.Title != "dr":
			validationError(w, "validation_inclusion", field("title"), "title must be mr, ms, mrs, miss or dr.")
		case p.Gender != "m" && p.Gender != "f":
			validationError(w, "validation_inclusion", field("gender"), "gender must be m or f.")
		default:
			delete(want, p.ID)
			continue
		}
		return false
	}
	return true
}

func (s *Sim) listOrders(w http.ResponseWriter, r *http.Request) {
	s.Kit.Count(func(st *simkit.Stats) { st.Lookups++ })
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			validationError(w, "validation_format", "limit", "limit must be between 1 and 200.")
			return
		}
		limit = n
	}
	start := 0
	if v := q.Get("after"); v != "" {
		n, ok := decodeCursor(v)
		if !ok {
			validationError(w, "validation_format", "after", "after must be a cursor from a previous page's meta.")
			return
		}
		start = n
	}
	offerID, pnr, awaiting := q.Get("offer_id"), q.Get("booking_reference"), q.Get("awaiting_payment")
	all := s.Kit.Orders()
	s.mu.Lock()
	defer s.mu.Unlock()
	page := []map[string]any{}
	var after any
	for i := start; i < len(all); i++ {
		o := all[i]
		rec, ok := s.orders[o.ID]
		if !ok || (offerID != "" && o.OfferID != offerID) || (pnr != "" && o.BookingReference != pnr) || awaiting == "true" {
			continue
		}
		if len(page) == limit {
			after = encodeCursor(i)
			break
		}
		page = append(page, s.renderOrder(rec))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data": page,
		"meta": map[string]any{"limit": limit, "after": after, "before": nil},
	})
}

func (s *Sim) getOrder(w http.ResponseWriter, r *http.Request) {
	s.Kit.Count(func(st *simkit.Stats) { st.Lookups++ })
	id := r.PathValue("id")
	_, live := s.Kit.OrderByID(id)
	s.mu.Lock()
	rec, ok := s.orders[id]
	var out map[string]any
	if ok && live {
		out = s.renderOrder(rec)
	}
	s.mu.Unlock()
	if out == nil {
		writeError(w, http.StatusNotFound, "invalid_request_error", "not_found", "Not found",
			"The resource you are trying to access does not exist.", nil)
		return
	}
	writeData(w, http.StatusOK, out)
}

func encodeCursor(i int) string {
	return "g2wAAAAC" + base64.RawURLEncoding.EncodeToString([]byte("o:"+strconv.Itoa(i)))
}

func decodeCursor(c string) (int, bool) {
	enc, ok := strings.CutPrefix(c, "g2wAAAAC")
	if !ok {
		return 0, false
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "o:"))
	return n, err == nil && n >= 0 && strings.HasPrefix(string(b), "o:")
}

func (s *Sim) renderOrder(rec *orderRecord) map[string]any {
	total := money.Money{Amount: rec.kit.Amount, Currency: rec.kit.Currency}
	tax := money.Money{Amount: total.Amount * 15 / 100, Currency: total.Currency}
	base := money.Money{Amount: total.Amount - tax.Amount, Currency: total.Currency}
	offer := s.renderOffer(rec.key, rec.flight, total.Amount, "economy")
	pax := make([]map[string]any, len(rec.passengers))
	for i, p := range rec.passengers {
		pax[i] = map[string]any{
			"id": p.ID, "title": p.Title, "gender": p.Gender, "given_name": p.GivenName,
			"family_name": p.FamilyName, "born_on": p.BornOn, "type": "adult", "infant_passenger_id": nil,
		}
	}
	metadata := rec.metadata
	if metadata == nil {
		metadata = map[string]string{}
	}
	return map[string]any{
		"id":                rec.kit.ID,
		"type":              "instant",
		"live_mode":         false,
		"booking_reference": rec.kit.BookingReference,
		"created_at":        stamp(rec.createdAt),
		"synced_at":         stamp(rec.createdAt),
		"cancelled_at":      nil,
		"total_amount":      total.Decimal(),
		"total_currency":    total.Currency,
		"base_amount":       base.Decimal(),
		"base_currency":     base.Currency,
		"tax_amount":        tax.Decimal(),
		"tax_currency":      tax.Currency,
		"owner":             offer["owner"],
		"slices":            offer["slices"],
		"passengers":        pax,
		"services":          []any{},
		"metadata":          metadata,
		"conditions":        offer["conditions"],
		"available_actions": []string{"cancel", "update"},
		"documents": []map[string]any{{
			"type": "electronic_ticket", "unique_identifier": "125" + hashDigits(rec.kit.ID, 10),
		}},
		"payment_status": map[string]any{
			"awaiting_payment": false, "payment_required_by": nil, "price_guarantee_expires_at": nil,
			"paid_at": stamp(rec.createdAt),
		},
	}
}

// ---- wire helpers

type errorSource struct {
	Field   string `json:"field"`
	Pointer string `json:"pointer"`
}

func validationError(w http.ResponseWriter, code, field, message string) {
	writeError(w, http.StatusUnprocessableEntity, "validation_error", code, "Invalid value", message,
		&errorSource{Field: field[strings.LastIndex(field, "/")+1:], Pointer: "/" + field})
}

func writeError(w http.ResponseWriter, status int, typ, code, title, message string, src *errorSource) {
	reqID := "Fsim" + hashID(fmt.Sprintf("%d.%s", time.Now().UnixNano(), code), 16)
	e := map[string]any{
		"type": typ, "code": code, "title": title, "message": message,
		"documentation_url": "https://duffel.com/docs/api/overview/errors",
	}
	if src != nil {
		e["source"] = src
	}
	w.Header().Set("x-request-id", reqID)
	writeJSON(w, status, map[string]any{
		"errors": []map[string]any{e},
		"meta":   map[string]any{"status": status, "request_id": reqID},
	})
}

func writeData(w http.ResponseWriter, status int, data any) {
	writeJSON(w, status, map[string]any{"data": data})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	if w.Header().Get("x-request-id") == "" {
		w.Header().Set("x-request-id", "Fsim"+hashID(strconv.FormatInt(time.Now().UnixNano(), 10), 16))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeBody reads a {"data": {...}} request body, answering the error itself.
func decodeBody[T any](w http.ResponseWriter, r *http.Request, in *dataIn[T]) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "malformed_json", "Malformed JSON",
			"The request body could not be parsed as JSON: "+err.Error(), nil)
		return false
	}
	if in.Data == nil {
		validationError(w, "validation_required", "data", `The request body must be wrapped in a "data" object.`)
		return false
	}
	return true
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func isoDuration(d time.Duration) string {
	return fmt.Sprintf("PT%02dH%02dM", int(d.Hours()), int(d.Minutes())%60)
}

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// hashID is a deterministic base62 string of n characters derived from s.
func hashID(s string, n int) string {
	h := fnv.New64a()
	out := make([]byte, 0, n)
	for round := 0; len(out) < n; round++ {
		h.Reset()
		fmt.Fprintf(h, "%d|%s", round, s)
		v := h.Sum64()
		for range 10 {
			if len(out) == n {
				break
			}
			out = append(out, alphabet[v%62])
			v /= 62
		}
	}
	return string(out)
}

func hashDigits(s string, n int) string {
	id := hashID(s, n)
	b := []byte(id)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}
