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
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

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
	orders   map[string]*orderRecord  // by order id
	booked   map[string]string        // offer request id -> the order that booked it
	repriced map[string]int64         // offer id -> total after a price move at booking
	cancels  map[string]*cancellation // by order cancellation id, under cancelMu
}

type orderRecord struct {
	kit        simkit.Order
	request    string // the offer request the order booked
	key        offerKey
	journey    simkit.Journey
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
			cancelMu.Lock()
			s.cancels = nil
			cancelMu.Unlock()
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
	mux.HandleFunc("POST /air/order_cancellations", s.createCancellation)
	mux.HandleFunc("GET /air/order_cancellations", s.listCancellations)
	mux.HandleFunc("POST /air/order_cancellations/{id}/actions/confirm", s.confirmCancellation)
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
