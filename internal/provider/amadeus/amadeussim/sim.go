// Package amadeussim simulates the Amadeus Self-Service flight APIs in
// Amadeus's own wire format, for tests, load benchmarks and reservd's
// embedded default. It serves what package amadeus speaks:
//
//   - POST /v1/security/oauth2/token (OAuth2 client credentials; OAuth error
//     envelope, 38187 invalid_client / unsupported_grant_type)
//   - GET /v2/shopping/flight-offers and POST /v2/shopping/flight-offers
//     (Flight Offers Search: one way or a round trip, travelers ADULT,
//     CHILD and HELD_INFANT priced per type, simkit.FareFor)
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
	"encoding/json"
	"net/http"
	"sync"
	"time"

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
	mux.Handle("POST /v2/shopping/flight-offers", s.authed(s.searchPost))
	mux.Handle("POST /v1/shopping/flight-offers/pricing", s.authed(s.pricing))
	mux.Handle("POST /v1/booking/flight-orders", s.authed(s.book))
	mux.Handle("GET /v1/booking/flight-orders", s.authed(s.searchOrders))
	mux.Handle("GET /v1/booking/flight-orders/{id}", s.authed(s.getOrder))
	mux.Handle("DELETE /v1/booking/flight-orders/{id}", s.authed(s.deleteOrder))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErrors(w, http.StatusNotFound, issue{Code: 38196, Title: "Resource not found", Detail: "The targeted resource doesn't exist"})
	})
	return s.Kit.Wrap(s.Kit.OrderFaults(mux, orderRoutes), writeFault)
}
