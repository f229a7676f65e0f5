// Package simkit is what the provider simulators share: fault knobs that can
// be turned while a simulator runs (latency, black holes, error bursts, 429s,
// price changes, sold out, lost order answers, and order answers in another
// currency, unreadable, or cut, and lookups without a route), a deterministic inventory
// per route and date, and a register of the orders a simulator created, so
// that tests can count them. Each simulator renders this in its provider's
// own wire format.
package simkit

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/reservd/reservd/internal/airport"
)

// Knobs are a simulator's fault settings.
type Knobs struct {
	// Latency of every answer, uniform in [LatencyMin, LatencyMax].
	LatencyMin time.Duration `json:"latency_min"`
	LatencyMax time.Duration `json:"latency_max"`
	// BlackHole accepts requests and never answers them (until the client gives up).
	BlackHole bool `json:"black_hole"`
	// ErrorBurst makes the next N requests fail with 500 or 503.
	ErrorBurst int `json:"error_burst"`
	// RateLimited makes the next N requests answer 429 with Retry-After.
	RateLimited int           `json:"rate_limited"`
	RetryAfter  time.Duration `json:"retry_after"`
	// PriceChangeAtPricing and PriceChangeAtBooking move the price by this
	// many percent when an offer is priced / booked (0: no change).
	PriceChangeAtPricing int `json:"price_change_at_pricing"`
	PriceChangeAtBooking int `json:"price_change_at_booking"`
	// SoldOut makes every offer unavailable at pricing and booking.
	SoldOut bool `json:"sold_out"`
	// OfferTTL, when set, is how long after its search an offer can be
	// priced and booked (the simulator's own default otherwise): the offers
	// state it where the provider does (Duffel's expires_at), and an
	// expired offer is refused the provider's way (Duffel offer_expired,
	// Kiwi "Expired booking token").
	OfferTTL time.Duration `json:"offer_ttl,omitempty"`
	// LoseOrderResponse creates the order, then never answers the call.
	LoseOrderResponse bool `json:"lose_order_response"`
	// The order knobs (see OrderFaults) shape the answer to the call that
	// creates an order, and the order lookup.
	// OrderAnswerCurrency states the order answer's amounts in this
	// currency only, converted with the shipped rates.
	OrderAnswerCurrency string `json:"order_answer_currency,omitempty"`
	// UnreadableOrderAnswer creates the order and answers success with its
	// id, but with amounts that cannot be read.
	UnreadableOrderAnswer bool `json:"unreadable_order_answer,omitempty"`
	// CutAfterOrder creates the order, then closes the connection unanswered.
	CutAfterOrder bool `json:"cut_after_order,omitempty"`
	// NoLookupRoute answers the order lookup 404, as a server answers a
	// route it does not have.
	NoLookupRoute bool `json:"no_lookup_route,omitempty"`
	// RefuseCancel answers every cancellation with the provider's refusal.
	RefuseCancel bool `json:"refuse_cancel,omitempty"`
	// LoseCancelResponse cancels the order and then never answers (the
	// caller times out): the cancellation took effect.
	LoseCancelResponse bool `json:"lose_cancel_response,omitempty"`
	// CutAfterCancel cancels the order and then closes the connection
	// without an answer.
	CutAfterCancel bool `json:"cut_after_cancel,omitempty"`
}

// Stats counts what a simulator did.
type Stats struct {
	Requests int `json:"requests"`
	Searches int `json:"searches"`
	Prices   int `json:"prices"`
	Orders   int `json:"orders"`
	Lookups  int `json:"lookups"`
	// OrderCalls counts the calls that create an order (Kiwi: save_booking,
	// which its payment makes an order), whatever became of them: one trip
	// makes exactly one per order that may exist.
	OrderCalls int `json:"order_calls"`
	// CancelCalls counts the calls that asked to cancel an order (refused
	// or not); Cancels counts the cancellations that took effect.
	CancelCalls int `json:"cancel_calls"`
	Cancels     int `json:"cancels"`
}

// Order is an order a simulator created.
type Order struct {
	ID               string
	BookingReference string
	Reference        string // the client's reference, as the provider carries it
	OfferID          string
	Amount           int64
	Currency         string
	Passengers       int
	CreatedAt        time.Time
	// Canceled is set once the order is canceled; Refund is then what the
	// provider refunds, in Currency.
	Canceled bool
	Refund   int64
}

// ErrorWriter writes an error in the provider's own envelope.
type ErrorWriter func(w http.ResponseWriter, status int, code, detail string)

// Sim is the state every simulator shares.
type Sim struct {
	Provider string

	mu     sync.Mutex
	knobs  Knobs
	stats  Stats
	orders []Order
	rnd    *rand.Rand
	closed chan struct{}
	once   sync.Once
}

// New returns a simulator core for provider with no faults.
func New(provider string) *Sim {
	return &Sim{Provider: provider, rnd: rand.New(rand.NewPCG(1, 2)), closed: make(chan struct{})} // #nosec G404 -- the simulator's reproducible fake inventory; nothing secret
}

// SetKnobs replaces the fault settings.
func (s *Sim) SetKnobs(k Knobs) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.knobs = k
}

// Knobs returns the current fault settings.
func (s *Sim) Knobs() Knobs {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.knobs
}

// Update changes the fault settings under the lock.
func (s *Sim) Update(f func(*Knobs)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.knobs)
}

// Stats returns the counters.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Count adds one to the counter that f selects.
func (s *Sim) Count(f func(*Stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.stats)
}

// Close releases every black-holed request.
func (s *Sim) Close() { s.once.Do(func() { close(s.closed) }) }

// Hang blocks until the client gives up or the simulator closes: the
// answer never arrives.
func (s *Sim) Hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.closed:
	}
}

// Wrap applies the request-level faults (latency, black hole, error burst,
// rate limit) in front of next, writing errors with errw.
func (s *Sim) Wrap(next http.Handler, errw ErrorWriter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.stats.Requests++
		k := s.knobs
		var delay time.Duration
		if k.LatencyMax > k.LatencyMin {
			delay = k.LatencyMin + time.Duration(s.rnd.Int64N(int64(k.LatencyMax-k.LatencyMin)))
		} else {
			delay = k.LatencyMin
		}
		fault := ""
		switch {
		case k.BlackHole:
			fault = "black_hole"
		case k.RateLimited > 0:
			s.knobs.RateLimited--
			fault = "rate_limited"
		case k.ErrorBurst > 0:
			s.knobs.ErrorBurst--
			fault = "error"
			if k.ErrorBurst%2 == 0 {
				fault = "unavailable"
			}
		}
		s.mu.Unlock()

		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			case <-s.closed:
				return
			}
		}
		switch fault {
		case "black_hole":
			s.Hang(r)
		case "rate_limited":
			ra := k.RetryAfter
			if ra <= 0 {
				ra = time.Second
			}
			w.Header().Set("Retry-After", strconv.Itoa(int((ra+time.Second-1)/time.Second)))
			errw(w, http.StatusTooManyRequests, "rate_limit_exceeded", "Too many requests")
		case "error":
			errw(w, http.StatusInternalServerError, "internal_server_error", "Simulated internal error")
		case "unavailable":
			errw(w, http.StatusServiceUnavailable, "service_unavailable", "Simulated outage")
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// AddOrder records a created order.
func (s *Sim) AddOrder(o Order) Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Orders++
	if o.CreatedAt.IsZero() {
		o.CreatedAt = time.Now().UTC()
	}
	s.orders = append(s.orders, o)
	return o
}

// Orders returns every order created, oldest first.
func (s *Sim) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Order(nil), s.orders...)
}

// FindOrder returns the order carrying the client's reference.
func (s *Sim) FindOrder(reference string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Lookups++
	for _, o := range s.orders {
		if o.Reference == reference {
			return o, true
		}
	}
	return Order{}, false
}

// OrderByID returns an order by the simulator's own id.
// CancelOrder cancels the order id once (a second cancellation changes
// nothing) and counts it; the refund is the order's full amount. ok is false
// for an unknown order.
func (s *Sim) CancelOrder(id string) (o Order, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.orders {
		if s.orders[i].ID == id {
			if !s.orders[i].Canceled {
				s.orders[i].Canceled, s.orders[i].Refund = true, s.orders[i].Amount
				s.stats.Cancels++
			}
			return s.orders[i], true
		}
	}
	return Order{}, false
}

// CancelFault applies the cancellation knobs after a cancellation took
// effect: it reports true when it has dealt with the answer (held it until
// the client gives up, or cut the connection), and the handler writes
// nothing more.
func (s *Sim) CancelFault(w http.ResponseWriter, r *http.Request) bool {
	k := s.Knobs()
	switch {
	case k.LoseCancelResponse:
		s.Hang(r)
		return true
	case k.CutAfterCancel:
		cut(w)
		return true
	}
	return false
}

func (s *Sim) OrderByID(id string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.orders {
		if o.ID == id {
			return o, true
		}
	}
	return Order{}, false
}

// AdminHandler serves the knobs and counters: GET/PUT /_sim/knobs (JSON
// Knobs; durations in nanoseconds), GET /_sim/stats, POST /_sim/reset.
func (s *Sim) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sim/knobs", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.Knobs()) })
	mux.HandleFunc("PUT /_sim/knobs", func(w http.ResponseWriter, r *http.Request) {
		var k Knobs
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&k); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.SetKnobs(k)
		writeJSON(w, k)
	})
	mux.HandleFunc("GET /_sim/stats", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.Stats()) })
	mux.HandleFunc("POST /_sim/reset", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.knobs, s.stats, s.orders = Knobs{}, Stats{}, nil
		s.mu.Unlock()
		writeJSON(w, s.Stats())
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v) // #nosec G104 -- a simulator's answer: a failed write means the client went away
}

// Flight is one flight of the deterministic inventory, in local times.
type Flight struct {
	Index        int
	Carrier      string
	Number       string // digits only
	Origin       string
	Destination  string
	DepartsLocal string // wall clock at the origin, 2006-01-02T15:04:05
	ArrivesLocal string // wall clock at the destination
	DepartsAt    time.Time
	ArrivesAt    time.Time
	Duration     time.Duration
	// Amount is the base fare in minor units of the simulator's currency.
	Amount int64
}

// Inventory returns the same flights for the same provider, route and date,
// every time: 3 to 6 non-stop flights with the provider's carriers. Unknown
// airports have no flights.
func Inventory(provider string, carriers []string, origin, destination string, date time.Time) []Flight {
	if origin == destination || !airport.Known(origin) || !airport.Known(destination) {
		return nil
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%s|%s|%s", provider, origin, destination, date.Format(time.DateOnly))
	rnd := rand.New(rand.NewPCG(h.Sum64(), 0x5eed)) // #nosec G404 -- the simulator's reproducible fake inventory; nothing secret
	routeHash := fnv.New32a()
	fmt.Fprintf(routeHash, "%s%s", min(origin, destination), max(origin, destination))
	// One block time per route (both directions alike), 1 to 12 hours.
	duration := time.Duration(60+routeHash.Sum32()%660) * time.Minute
	locOrigin, _ := airport.Location(origin)
	n := 3 + rnd.IntN(4)
	out := make([]Flight, 0, n)
	for i := range n {
		dep := time.Date(date.Year(), date.Month(), date.Day(), 6+i*3+rnd.IntN(2), []int{0, 15, 30, 45}[rnd.IntN(4)], 0, 0, locOrigin)
		arr := dep.Add(duration + time.Duration(rnd.IntN(4)*5)*time.Minute)
		depLocal, _ := airport.UTCToLocal(origin, dep)
		arrLocal, _ := airport.UTCToLocal(destination, arr)
		carrier := carriers[rnd.IntN(len(carriers))]
		out = append(out, Flight{
			Index: i, Carrier: carrier, Number: strconv.Itoa(100 + rnd.IntN(8900)),
			Origin: origin, Destination: destination,
			DepartsLocal: depLocal, ArrivesLocal: arrLocal,
			DepartsAt: dep.UTC(), ArrivesAt: arr.UTC(), Duration: arr.Sub(dep),
			Amount: int64(5000 + int(duration.Minutes())*40 + rnd.IntN(30000)),
		})
	}
	return out
}

// Adjust moves amount by percent (rounded toward zero), for price changes.
func Adjust(amount int64, percent int) int64 { return amount + amount*int64(percent)/100 }
