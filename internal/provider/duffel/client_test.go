package duffel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/duffel/duffelsim"
	"github.com/reservd/reservd/internal/provider/simkit"
)

var (
	travelDate = time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC)
	amelia     = provider.Passenger{
		GivenName: "Amelia", FamilyName: "Earhart", BornOn: "1987-07-24", Title: "mrs", Gender: "f",
		Email: "amelia@example.com", PhoneNumber: "+442080160509",
	}
)

type env struct {
	sim *duffelsim.Sim
	srv *httptest.Server
	c   *Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	sim := duffelsim.New()
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(sim.Close) // runs first: releases held requests so srv.Close can return
	e := &env{sim: sim, srv: srv}
	e.c = e.client(Config{})
	return e
}

// client returns a new Client of the simulator (fresh: it remembers nothing).
func (e *env) client(cfg Config) *Client {
	cfg.BaseURL = e.srv.URL
	if cfg.AccessToken == "" {
		cfg.AccessToken = "duffel_test_reservd"
	}
	return New(cfg, e.srv.Client())
}

func (e *env) search(t *testing.T, c *Client) []provider.Offer {
	t.Helper()
	offers, err := c.Search(t.Context(), provider.SearchRequest{
		Origin: "LHR", Destination: "JFK", DepartureDate: travelDate, Adults: 1, Currency: "USD",
	})
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	if len(offers) == 0 {
		t.Fatal("search found no offers")
	}
	return offers
}

func (e *env) orders(t *testing.T, want int) {
	t.Helper()
	if got := len(e.sim.Kit.Orders()); got != want {
		t.Errorf("simulator created %d orders, want %d", got, want)
	}
}

func book(ctx context.Context, c *Client, offer provider.Offer, ref string) (provider.Order, error) {
	return c.Book(ctx, provider.OrderRequest{Offer: offer, Passengers: []provider.Passenger{amelia}, Reference: ref})
}

func TestHappyPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if e.c.Name() != "duffel" {
		t.Errorf("name = %q", e.c.Name())
	}
	offers := e.search(t, e.c)

	// The offers are the simulator's inventory, normalized: GBP minor units,
	// UTC instants, marketing carrier and the flight number's digits.
	flights := simkit.Inventory("duffel", e.sim.Carriers, "LHR", "JFK", travelDate)
	if len(offers) != len(flights) {
		t.Fatalf("got %d offers, want %d", len(offers), len(flights))
	}
	for i, o := range offers {
		f := flights[i]
		want := provider.Segment{Carrier: f.Carrier, FlightNumber: f.Number, Origin: "LHR", Destination: "JFK", DepartsAt: f.DepartsAt, ArrivesAt: f.ArrivesAt}
		if o.Provider != "duffel" || len(o.Segments) != 1 || o.Segments[0] != want {
			t.Errorf("offer %d = %+v, want segment %+v", i, o, want)
		}
		if o.Price != (money.Money{Amount: f.Amount, Currency: "GBP"}) {
			t.Errorf("offer %d price = %v, want %d GBP", i, o.Price, f.Amount)
		}
		if time.Until(o.ExpiresAt) < 25*time.Minute {
			t.Errorf("offer %d expires at %v", i, o.ExpiresAt)
		}
	}

	offer := offers[0]
	priced, err := e.c.Price(t.Context(), offer)
	if err != nil || priced.Price != offer.Price || priced.ID != offer.ID {
		t.Fatalf("price = %+v, %v", priced, err)
	}
	order, err := book(t.Context(), e.c, priced, "trp_1/attempt-1")
	if err != nil {
		t.Fatalf("book: %v", err)
	}
	if order.ID == "" || len(order.BookingReference) != 6 || order.Price != offer.Price {
		t.Errorf("order = %+v", order)
	}
	found, err := e.c.FindOrder(t.Context(), "trp_1/attempt-1")
	if err != nil || found != order {
		t.Errorf("FindOrder = %+v, %v; want %+v", found, err, order)
	}
	e.orders(t, 1)
	if got := e.sim.Kit.Orders()[0]; got.ID != order.ID || got.Reference != "trp_1/attempt-1" || got.Amount != offer.Price.Amount {
		t.Errorf("simulator's order = %+v", got)
	}
	st := e.sim.Kit.Stats()
	if st.Searches != 1 || st.Prices != 1 || st.Orders != 1 || st.Lookups != 1 {
		t.Errorf("stats = %+v", st)
	}
}

// TestWireFormat checks what the adapter puts on the wire for a booking.
func TestWireFormat(t *testing.T) {
	t.Parallel()
	sim := duffelsim.New()
	var mu sync.Mutex
	var orderBodyIn []byte
	var headers []http.Header
	h := sim.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		mu.Lock()
		headers = append(headers, r.Header.Clone())
		if r.Method == http.MethodPost && r.URL.Path == "/air/orders" {
			orderBodyIn = b
		}
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(sim.Close)
	c := New(Config{BaseURL: srv.URL + "/", AccessToken: "duffel_test_abc"}, srv.Client())
	offers, err := c.Search(t.Context(), provider.SearchRequest{Origin: "LHR", Destination: "JFK", DepartureDate: travelDate, Adults: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := book(t.Context(), c, offers[0], "ref-42"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, h := range headers {
		if h.Get("Authorization") != "Bearer duffel_test_abc" || h.Get("Duffel-Version") != "v2" ||
			h.Get("Accept") != "application/json" || h.Get("Content-Type") != "application/json" {
			t.Errorf("headers = %v", h)
		}
	}
	var body struct {
		Data struct {
			Type           string   `json:"type"`
			SelectedOffers []string `json:"selected_offers"`
			Passengers     []map[string]string
			Payments       []map[string]string
			Metadata       map[string]string
		} `json:"data"`
	}
	if err := json.Unmarshal(orderBodyIn, &body); err != nil {
		t.Fatal(err)
	}
	d := body.Data
	if d.Type != "instant" || len(d.SelectedOffers) != 1 || d.SelectedOffers[0] != offers[0].ID {
		t.Errorf("order body = %s", orderBodyIn)
	}
	if p := d.Payments; len(p) != 1 || p[0]["type"] != "balance" || p[0]["amount"] != offers[0].Price.Decimal() || p[0]["currency"] != "GBP" {
		t.Errorf("payments = %v", p)
	}
	if d.Metadata[MetadataReferenceKey] != "ref-42" || MetadataReferenceKey != duffelsim.ReferenceMetadataKey {
		t.Errorf("metadata = %v", d.Metadata)
	}
	if p := d.Passengers; len(p) != 1 || p[0]["given_name"] != "Amelia" || p[0]["title"] != "mrs" || p[0]["gender"] != "f" ||
		p[0]["id"] == "" || p[0]["phone_number"] != "+442080160509" {
		t.Errorf("passengers = %v", p)
	}
}

func TestPriceChangeAtBooking(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	offer := e.search(t, e.c)[0]
	e.sim.Kit.Update(func(k *simkit.Knobs) { k.PriceChangeAtBooking = 10 })
	if _, err := e.c.Price(t.Context(), offer); err != nil {
		t.Fatalf("price before booking: %v", err)
	}
	newPrice := money.Money{Amount: simkit.Adjust(offer.Price.Amount, 10), Currency: "GBP"}
	_, err := book(t.Context(), e.c, offer, "booking-move")
	var pc *provider.PriceChangedError
	if !errors.As(err, &pc) || pc.Old != offer.Price || pc.New != newPrice {
		t.Fatalf("book: err = %v, want a change from %v to %v", err, offer.Price, newPrice)
	}
	e.orders(t, 0)
	// The offer keeps its new price; booking it at that price succeeds.
	fresh, err := e.c.Price(t.Context(), offer)
	if !errors.As(err, &pc) || fresh.Price != newPrice {
		t.Fatalf("price after the move = %v, %v", fresh.Price, err)
	}
	order, err := book(t.Context(), e.c, fresh, "booking-move-2")
	if err != nil || order.Price != newPrice {
		t.Errorf("rebook = %+v, %v", order, err)
	}
	e.orders(t, 1)
}

func TestFindOrderPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 5 {
		offer := e.search(t, e.c)[i%3]
		if _, err := book(t.Context(), e.c, offer, fmt.Sprintf("page-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	e.orders(t, 5)
	before := e.sim.Kit.Stats().Lookups
	c := e.client(Config{PageSize: 2})
	found, err := c.FindOrder(t.Context(), "page-4")
	if err != nil || found.ID != e.sim.Kit.Orders()[4].ID {
		t.Fatalf("FindOrder = %+v, %v", found, err)
	}
	if pages := e.sim.Kit.Stats().Lookups - before; pages != 3 {
		t.Errorf("read %d pages, want 3", pages)
	}
	if _, err := c.FindOrder(t.Context(), "page-9"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

func TestBookTwiceAndWithoutRaw(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	offers := e.search(t, e.c)
	// Without the offer as Duffel sent it, the adapter reads it for its passengers.
	bare := offers[0]
	bare.Raw = nil
	if _, err := book(t.Context(), e.c, bare, "bare"); err != nil {
		t.Fatalf("book without Raw: %v", err)
	}
	// An offer request books once: the next offer of the same search is gone.
	if _, err := book(t.Context(), e.c, offers[1], "second"); !errors.Is(err, provider.ErrUnavailable) {
		t.Errorf("second booking: err = %v, want ErrUnavailable", err)
	}
	e.orders(t, 1)
	// The offer names one passenger; an order for two is refused before any request.
	_, err := e.c.Book(t.Context(), provider.OrderRequest{Offer: offers[2], Passengers: []provider.Passenger{amelia, amelia}, Reference: "two"})
	if !errors.Is(err, provider.ErrRejected) {
		t.Errorf("two passengers: err = %v, want ErrRejected", err)
	}
	e.orders(t, 1)
}

func TestRejectedByDuffel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	offer := e.search(t, e.c)[0]
	noPhone := amelia
	noPhone.PhoneNumber = ""
	_, err := e.c.Book(t.Context(), provider.OrderRequest{Offer: offer, Passengers: []provider.Passenger{noPhone}, Reference: "no-phone"})
	var he *provider.HTTPError
	if !errors.Is(err, provider.ErrRejected) || !errors.As(err, &he) || he.Status != 422 {
		t.Errorf("err = %v, want a 422 rejection", err)
	}
	e.orders(t, 0)
	// The contact phone of the configuration stands in.
	c := e.client(Config{ContactPhone: "+442080160509"})
	if _, err := c.Book(t.Context(), provider.OrderRequest{Offer: offer, Passengers: []provider.Passenger{noPhone}, Reference: "contact-phone"}); err != nil {
		t.Errorf("book with contact phone: %v", err)
	}
	e.orders(t, 1)
}

func TestConfigFromEnv(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"DUFFEL_BASE_URL": "https://sandbox.example/", "DUFFEL_ACCESS_TOKEN": "duffel_test_x"}
	c := New(ConfigFromEnv(func(k string) string { return vars[k] }), nil)
	if c.cfg.BaseURL != "https://sandbox.example" || c.cfg.AccessToken != "duffel_test_x" || c.cfg.Version != "v2" || c.cfg.PageSize != 200 {
		t.Errorf("config = %+v", c.cfg)
	}
	if d := New(Config{}, nil); d.cfg.BaseURL != DefaultBaseURL {
		t.Errorf("default base URL = %q", d.cfg.BaseURL)
	}
}
