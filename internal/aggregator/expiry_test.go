package aggregator_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reservd/reservd/internal/aggregator"
	"github.com/reservd/reservd/internal/cache"
	"github.com/reservd/reservd/internal/fx"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/trips"
)

// risingFare is a provider whose one offer expires after ttl and costs 50
// USD more at every search; it counts its calls.
type risingFare struct {
	ttl time.Duration

	mu                      sync.Mutex
	searches, prices, books int
}

func (p *risingFare) Name() string { return "rising" }

func (p *risingFare) Search(_ context.Context, req provider.SearchRequest) ([]provider.Offer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.searches++
	dep := req.DepartureDate.Add(9 * time.Hour)
	return []provider.Offer{{
		Provider: "rising", ID: "offer-" + string(rune('0'+p.searches)),
		Price:     money.Money{Amount: int64(10000 + 5000*(p.searches-1)), Currency: "USD"},
		Segments:  []provider.Segment{{Carrier: "UA", FlightNumber: "1", Origin: req.Origin, Destination: req.Destination, DepartsAt: dep, ArrivesAt: dep.Add(5 * time.Hour)}},
		ExpiresAt: time.Now().Add(p.ttl),
	}}, nil
}

func (p *risingFare) Price(_ context.Context, o provider.Offer) (provider.Offer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prices++
	return o, nil
}

func (p *risingFare) Book(_ context.Context, r provider.OrderRequest) (provider.Order, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.books++
	return provider.Order{ID: "ord-" + r.Offer.ID, BookingReference: "RISE01", Price: r.Offer.Price}, nil
}

func (p *risingFare) FindOrder(context.Context, string) (provider.Order, error) {
	return provider.Order{}, provider.ErrNotFound
}

func (p *risingFare) Cancel(context.Context, string) (provider.Cancellation, error) {
	return provider.Cancellation{}, provider.ErrNotCancelable
}

func (p *risingFare) CancelStatus(context.Context, string) (provider.Cancellation, error) {
	return provider.Cancellation{}, errors.New("not supported")
}

func (p *risingFare) counts() (searches, prices, books int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.searches, p.prices, p.books
}

// TestExpiredOffersAreSearchedAgainUnderMaxPrice: a customer's search is
// cached; its offer expires; the trip does not try it but searches again,
// and max_price applies to the new, higher price: above it nothing is
// priced or ordered, within it the new offer is booked at its new price.
func TestExpiredOffersAreSearchedAgainUnderMaxPrice(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		max    int64
		status trips.Status
		books  int
	}{
		{"new price above max_price", 12000, trips.Failed, 0},
		{"new price within max_price", 20000, trips.Confirmed, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := &risingFare{ttl: 300 * time.Millisecond}
			agg := aggregator.New([]aggregator.Source{{Provider: p}}, fx.Default(), cache.NewMemory(nil), nil,
				prometheus.NewRegistry(), aggregator.DefaultConfig())
			req := provider.SearchRequest{Origin: "SFO", Destination: "JFK", DepartureDate: day, Adults: 1, Currency: "USD"}
			if res, err := agg.Search(t.Context(), req); err != nil || len(res.Offers) != 1 || res.Offers[0].Price.Amount != 10000 {
				t.Fatalf("search = %+v, %v", res, err)
			}
			time.Sleep(400 * time.Millisecond) // the cached offer has expired; the search is still cached

			max := money.Money{Amount: c.max, Currency: "USD"}
			tr := trips.Trip{ID: trips.NewID(), Status: trips.Pending, CreatedAt: time.Now(), Request: trips.Request{
				Origin: "SFO", Destination: "JFK", DepartureDate: day.Format(time.DateOnly), Currency: "USD", MaxPrice: &max,
				Passengers: []trips.Passenger{{GivenName: "Ada", FamilyName: "Lovelace", BornOn: "1990-12-10"}},
			}}
			got, err := agg.Book(t.Context(), tr, func(context.Context, trips.Trip) error { return nil })
			if err != nil {
				t.Fatalf("Book: %v", err)
			}
			searches, prices, books := p.counts()
			if got.Status != c.status || searches != 2 || prices != c.books || books != c.books {
				t.Errorf("trip %s with attempts %+v; %d searches, %d prices, %d orders; want %s after 2 searches, %d orders",
					got.Status, got.Attempts, searches, prices, books, c.status, c.books)
			}
			if c.status == trips.Confirmed && (got.Price == nil || got.Price.Amount != 15000 || len(got.Attempts) != 1) {
				t.Errorf("confirmed at %v with attempts %+v, want the new offer at 150.00 USD", got.Price, got.Attempts)
			}
		})
	}
}
