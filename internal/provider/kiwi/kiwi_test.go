package kiwi

import (
	"errors"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/kiwi/kiwisim"
	"github.com/reservd/reservd/internal/provider/simkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is a simulator behind a real HTTP server and the adapter talking to it.
type env struct {
	sim    *kiwisim.Sim
	client *Client
}

func newEnv(tb testing.TB, apiKey string) env {
	tb.Helper()
	return newEnvWith(tb, kiwisim.New(), apiKey)
}

func newEnvWith(tb testing.TB, sim *kiwisim.Sim, apiKey string) env {
	tb.Helper()
	srv := httptest.NewServer(sim.Handler())
	tb.Cleanup(srv.Close)
	tb.Cleanup(sim.Close) // runs first: releases held requests so srv.Close can finish
	c := New(Config{BaseURL: srv.URL, APIKey: apiKey, PollInterval: 5 * time.Millisecond}, srv.Client())
	return env{sim: sim, client: c}
}

var searchReq = provider.SearchRequest{
	Origin: "LHR", Destination: "BCN",
	DepartureDate: time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC),
	Adults:        1, Currency: "EUR",
}

var passengers = []provider.Passenger{{
	GivenName: "Ada", FamilyName: "Lovelace", BornOn: "1985-12-10", Title: "ms",
	Email: "ada@example.com", PhoneNumber: "+442071234567",
}}

// cheapest searches and returns the first (cheapest) offer.
func (e env) cheapest(t *testing.T) provider.Offer {
	t.Helper()
	offers, err := e.client.Search(t.Context(), searchReq)
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	if len(offers) == 0 {
		t.Fatal("search found no offers")
	}
	return offers[0]
}

func (e env) assertOrders(t *testing.T, want int) {
	t.Helper()
	if got := len(e.sim.Kit.Orders()); got != want {
		t.Errorf("simulator created %d orders, want %d", got, want)
	}
}

func TestHappyPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "test-key")
	ctx := t.Context()

	offers, err := e.client.Search(ctx, searchReq)
	if err != nil {
		t.Fatal(err)
	}
	inv := simkit.Inventory("kiwi", kiwisim.Carriers, "LHR", "BCN", searchReq.DepartureDate)
	if len(offers) != len(inv) || len(offers) < 3 {
		t.Fatalf("offers = %d, inventory = %d", len(offers), len(inv))
	}
	for i, o := range offers {
		if i > 0 && o.Price.Amount < offers[i-1].Price.Amount {
			t.Errorf("offers not cheapest first at %d", i)
		}
		s := o.Segments[0]
		if o.Price.Currency != "EUR" || len(o.Segments) != 1 || !slices.Contains(kiwisim.Carriers, s.Carrier) {
			t.Errorf("offer %d: %+v", i, o)
		}
		// The UTC times must be the inventory's instants, whatever Kiwi's local "Z" says.
		found := false
		for _, f := range inv {
			if f.Carrier == s.Carrier && f.Number == s.FlightNumber && f.DepartsAt.Equal(s.DepartsAt) && f.ArrivesAt.Equal(s.ArrivesAt) && f.Amount == o.Price.Amount {
				found = true
			}
		}
		if !found {
			t.Errorf("offer %d segment %+v at %v is not in the inventory", i, s, o.Price)
		}
	}

	offer := offers[0]
	priced, err := e.client.Price(ctx, offer)
	if err != nil || priced.Price != offer.Price {
		t.Fatalf("price = %v, %v; want %v", priced.Price, err, offer.Price)
	}

	const ref = "trp_happy-1"
	order, err := e.client.Book(ctx, provider.OrderRequest{Offer: offer, Passengers: passengers, Reference: ref})
	if err != nil {
		t.Fatalf("book: %v", err)
	}
	if order.ID == "" || order.BookingReference == "" || order.Price != offer.Price {
		t.Errorf("order = %+v, want price %v", order, offer.Price)
	}
	found, err := e.client.FindOrder(ctx, ref)
	if err != nil || found != order {
		t.Errorf("find order = %+v, %v; want %+v", found, err, order)
	}
	orders := e.sim.Kit.Orders()
	if len(orders) != 1 || orders[0].Reference != ref || orders[0].ID != order.ID {
		t.Errorf("simulator orders = %+v", orders)
	}
	// Price and Book each polled check_flights past its first, unchecked answer.
	if st := e.sim.Kit.Stats(); st.Prices < 4 || st.Searches != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestSearchInOtherCurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "test-key")
	req := searchReq
	req.Adults, req.Currency = 2, "USD"
	offers, err := e.client.Search(t.Context(), req)
	if err != nil || len(offers) == 0 {
		t.Fatalf("search: %d offers, %v", len(offers), err)
	}
	o := offers[0]
	if o.Price.Currency != "USD" {
		t.Errorf("price %v, want USD", o.Price)
	}
	priced, err := e.client.Price(t.Context(), o)
	if err != nil || priced.Price != o.Price {
		t.Errorf("price in USD for 2 = %v, %v; want %v", priced.Price, err, o.Price)
	}
	two := append(slices.Clone(passengers), provider.Passenger{GivenName: "Charles", FamilyName: "Babbage", BornOn: "1971-12-26", Gender: "m"})
	order, err := e.client.Book(t.Context(), provider.OrderRequest{Offer: o, Passengers: two, Reference: "trp_usd-1"})
	if err != nil || order.Price != o.Price {
		t.Errorf("book = %+v, %v", order, err)
	}
	e.assertOrders(t, 1)
}

func TestPriceChangeAtBooking(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "test-key")
	offer := e.cheapest(t)
	e.sim.Kit.Update(func(k *simkit.Knobs) { k.PriceChangeAtBooking = 5 })
	if _, err := e.client.Price(t.Context(), offer); err != nil {
		t.Fatalf("price: %v", err)
	}
	_, err := e.client.Book(t.Context(), provider.OrderRequest{Offer: offer, Passengers: passengers, Reference: "trp_pb-1"})
	var pc *provider.PriceChangedError
	want := money.Money{Amount: simkit.Adjust(offer.Price.Amount, 5), Currency: "EUR"}
	if !errors.As(err, &pc) || pc.Old != offer.Price || pc.New != want {
		t.Errorf("book = %v, want a price change %v -> %v", err, offer.Price, want)
	}
	// save_booking answered the new price; the payment was never confirmed.
	// The unpaid booking is still listed until Kiwi releases it: not an
	// order, and not proof that none exists either.
	e.assertOrders(t, 0)
	if _, err := e.client.FindOrder(t.Context(), "trp_pb-1"); !errors.Is(err, provider.ErrOrderPending) || errors.Is(err, provider.ErrNotFound) {
		t.Errorf("find order = %v, want ErrOrderPending (an unpaid booking)", err)
	}
}

func TestUnknownBookingToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "test-key")
	offer := e.cheapest(t)
	offer.ID = "not-a-token"
	if _, err := e.client.Price(t.Context(), offer); !errors.Is(err, provider.ErrUnavailable) {
		t.Errorf("price = %v, want ErrUnavailable", err)
	}
	e.assertOrders(t, 0)
}
