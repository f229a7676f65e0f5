package providertest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/aggregator"
	"github.com/reservd/reservd/internal/fx"
	"github.com/reservd/reservd/internal/provider/simkit"
	"github.com/reservd/reservd/internal/trips"
)

// The aggregator's scenarios check that the adapter's errors mean to the
// aggregator what the provider meant: what it may retry, what refuses an
// offer, and when an order's outcome is unknown.

// newAggregator aggregates the world's adapter alone, with short backoffs
// and timeouts so that the scenarios run in seconds.
func (w *world) newAggregator() *aggregator.Aggregator {
	cfg := aggregator.DefaultConfig()
	cfg.CallTimeout, cfg.SearchBudget, cfg.BookTimeout = 5*time.Second, 15*time.Second, 5*time.Second
	cfg.Retries, cfg.RetryBase = 2, 10*time.Millisecond
	return aggregator.New([]aggregator.Source{{Provider: w.c}}, fx.Default(), nil, nil, nil, cfg)
}

// trip is a pending trip of the scenarios' route and traveller.
func trip(id string) trips.Trip {
	return trips.Trip{ID: id, Status: trips.Pending, Request: trips.Request{
		Origin: searchReq.Origin, Destination: searchReq.Destination, DepartureDate: travelDate.Format(time.DateOnly),
		Currency: searchReq.Currency, Passengers: []trips.Passenger{{GivenName: amelia.GivenName, FamilyName: amelia.FamilyName,
			BornOn: amelia.BornOn, Title: amelia.Title, Gender: amelia.Gender, Email: amelia.Email, PhoneNumber: amelia.PhoneNumber}},
	}}
}

// saver records every save of a trip and runs beforeOrder when the trip is
// saved with an order call about to be made.
type saver struct {
	mu          sync.Mutex
	saves       []trips.Trip
	beforeOrder func(n int) // n counts order calls from 1
	orders      int
}

func (s *saver) save(_ context.Context, t trips.Trip) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saves = append(s.saves, t)
	if t.InFlight != nil && s.beforeOrder != nil {
		s.orders++
		s.beforeOrder(s.orders)
	}
	return nil
}

func outcomes(t trips.Trip) []string {
	var out []string
	for _, at := range t.Attempts {
		out = append(out, at.Outcome)
	}
	return out
}

// aggregatorRetriesSafeCallsOnly: a search refused with 429 and Retry-After
// is tried again after at least that wait, and one failing with 5xx is
// tried again at once; an order call failing with a 5xx is not repeated:
// its offer's attempt ends without an order, the order is looked up (not
// needed where an order needs a payment the failed call never reached:
// Env.OrderNeedsPayment), and the trip books the next offer.
func aggregatorRetries(t *testing.T, w *world) {
	agg := w.newAggregator()
	w.Kit.Update(func(k *simkit.Knobs) { k.RateLimited, k.RetryAfter = 1, time.Second })
	start := time.Now()
	res, err := agg.Search(t.Context(), searchReq)
	if err != nil || len(res.Offers) == 0 || res.Providers[0].Status != "ok" {
		t.Fatalf("search after a 429 = %+v, %v; want offers", res, err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("the search was tried again after %v, before Retry-After", waited)
	}
	w.Kit.Update(func(k *simkit.Knobs) { k.ErrorBurst = 2 })
	if res, err := agg.Search(t.Context(), searchReq); err != nil || len(res.Offers) == 0 {
		t.Fatalf("search after two 5xx = %+v, %v; want offers", res, err)
	}
	if k := w.Kit.Knobs(); k.ErrorBurst != 0 || k.RateLimited != 0 {
		t.Fatalf("knobs = %+v: the faults were not all met", k)
	}

	s := &saver{beforeOrder: func(n int) {
		if n == 1 {
			w.Kit.Update(func(k *simkit.Knobs) { k.ErrorBurst = 1 })
		}
	}}
	got, err := agg.Book(t.Context(), trip("trp_retry"), s.save)
	if err != nil || got.Status != trips.Confirmed {
		t.Fatalf("book = %s %v, %v; want confirmed", got.Status, outcomes(got), err)
	}
	if o := outcomes(got); len(o) != 2 || o[0] == trips.OutcomeConfirmed || o[1] != trips.OutcomeConfirmed {
		t.Fatalf("attempts = %v: want the first offer's order call failed, not retried, and the second confirmed", o)
	}
	orders := w.wantOrders(t, 1)
	if orders[0].Reference != got.Attempts[1].Reference || got.Attempts[0].OfferID == got.Attempts[1].OfferID {
		t.Errorf("the order %+v is not the second attempt's %+v", orders[0], got.Attempts[1])
	}
	switch st := w.Kit.Stats(); {
	case w.OrderNeedsPayment && st.Lookups != 0:
		t.Errorf("stats = %+v: an order call that made no order (it was never paid) was looked up", st)
	case !w.OrderNeedsPayment && st.Lookups < 1:
		t.Errorf("stats = %+v: the failed order call was not looked up", st)
	}
}

// aggregatorMapsRefusals: sold out, every offer's attempt is "unavailable"
// and the trip fails without an order; a price rise above the trip's
// maximum (the cheapest offer's price) is "price_changed".
func aggregatorRefusals(t *testing.T, w *world) {
	agg := w.newAggregator()
	w.Kit.Update(func(k *simkit.Knobs) { k.SoldOut = true })
	got, err := agg.Book(t.Context(), trip("trp_sold-out"), (&saver{}).save)
	o := outcomes(got)
	if err != nil || got.Status != trips.Failed || len(o) == 0 ||
		slices.ContainsFunc(o, func(s string) bool { return s != trips.OutcomeUnavailable }) {
		t.Errorf("sold out: book = %s %v, %v; want failed, every attempt unavailable", got.Status, o, err)
	}
	w.wantOrders(t, 0)

	res, err := agg.Search(t.Context(), searchReq)
	if err != nil || len(res.Offers) == 0 {
		t.Fatalf("search = %+v, %v", res, err)
	}
	w.Kit.Update(func(k *simkit.Knobs) { k.SoldOut, k.PriceChangeAtPricing = false, 50 })
	tr := trip("trp_too-dear")
	cheapest := res.Offers[0].Price
	tr.Request.MaxPrice = &cheapest
	got, err = agg.Book(t.Context(), tr, (&saver{}).save)
	if o := outcomes(got); err != nil || got.Status != trips.Failed || len(o) == 0 ||
		slices.ContainsFunc(o, func(s string) bool { return s != trips.OutcomePriceChanged }) {
		t.Errorf("price rise: book = %s %v, %v; want failed, every attempt price_changed", got.Status, o, err)
	}
	w.wantOrders(t, 0)
}

// aggregatorSettlesAmbiguousOrder: the order is made but its answer lost;
// the aggregator does not book again but finds the order by its reference
// and confirms the trip with it.
func aggregatorAmbiguousOrder(t *testing.T, w *world) {
	agg := w.newAggregator()
	s := &saver{beforeOrder: func(n int) {
		if n == 1 {
			w.Kit.Update(func(k *simkit.Knobs) { k.LoseOrderResponse = true })
		}
	}}
	// Answers come back again once the order exists, so that the lookup
	// is answered.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for len(w.Kit.Orders()) == 0 {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
		w.Kit.Update(func(k *simkit.Knobs) { k.LoseOrderResponse = false })
	}()
	got, err := agg.Book(t.Context(), trip("trp_lost"), s.save)
	if err != nil || got.Status != trips.Confirmed || len(got.Attempts) != 1 || got.InFlight != nil {
		t.Fatalf("book = %s %v (in flight %v), %v; want confirmed at the first attempt", got.Status, outcomes(got), got.InFlight, err)
	}
	orders := w.wantOrders(t, 1)
	if orders[0].Reference != got.Attempts[0].Reference || got.ProviderBookingReference != orders[0].BookingReference {
		t.Errorf("trip confirmed as %q (attempt %+v), the simulator's order is %+v", got.ProviderBookingReference, got.Attempts[0], orders[0])
	}
	if errors.Is(err, aggregator.ErrRetryLater) {
		t.Errorf("err = %v", err)
	}
}
