package amadeus_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/reservd/reservd/internal/fx"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/amadeus"
	"github.com/reservd/reservd/internal/provider/amadeus/amadeussim"
	"github.com/reservd/reservd/internal/provider/simkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	day    = time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC)
	search = provider.SearchRequest{Origin: "CDG", Destination: "FCO", DepartureDate: day, Adults: 1, Currency: "EUR"}
	ada    = provider.Passenger{GivenName: "Ada", FamilyName: "Lovelace", BornOn: "1990-12-10", Title: "ms", Gender: "f", Email: "ada@example.com", PhoneNumber: "+442071234567"}
)

type env struct {
	sim    *amadeussim.Sim
	srv    *httptest.Server
	client *amadeus.Client
}

// newEnv serves a fresh simulator over real HTTP, wrapped by wrap when
// given, with an adapter pointed at it.
func newEnv(t *testing.T, wrap func(http.Handler) http.Handler) *env {
	t.Helper()
	sim := amadeussim.New()
	var h http.Handler = sim.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(sim.Close) // runs first: releases held requests so srv.Close returns
	e := &env{sim: sim, srv: srv}
	e.client = e.newClient(amadeus.Config{})
	return e
}

// newClient is another adapter on the same simulator: another process.
func (e *env) newClient(cfg amadeus.Config) *amadeus.Client {
	cfg.BaseURL = e.srv.URL
	if cfg.ClientID == "" {
		cfg.ClientID, cfg.ClientSecret = "reservd-key", "reservd-secret"
	}
	return amadeus.New(cfg, e.srv.Client())
}

func (e *env) orders(t *testing.T, want int) []simkit.Order {
	t.Helper()
	got := e.sim.Kit.Orders()
	if len(got) != want {
		t.Fatalf("the simulator created %d orders, want %d", len(got), want)
	}
	return got
}

func (e *env) firstOffer(t *testing.T) provider.Offer {
	t.Helper()
	offers, err := e.client.Search(t.Context(), search)
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	if len(offers) == 0 {
		t.Fatal("search found no offers")
	}
	return offers[0]
}

func TestHappyPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := t.Context()

	offers, err := e.client.Search(ctx, search)
	if err != nil {
		t.Fatal(err)
	}
	inventory := simkit.Inventory("amadeus", amadeussim.Carriers, "CDG", "FCO", day)
	if len(offers) != len(inventory) {
		t.Fatalf("offers = %d, inventory = %d", len(offers), len(inventory))
	}
	for i, o := range offers {
		if i > 0 && o.Price.Amount < offers[i-1].Price.Amount {
			t.Errorf("offers not cheapest first: %v after %v", o.Price, offers[i-1].Price)
		}
		if o.Provider != "amadeus" || o.Price.Currency != "EUR" || len(o.Segments) != 1 || len(o.Raw) == 0 || o.ExpiresAt.IsZero() {
			t.Errorf("offer %+v", o)
		}
		s := o.Segments[0]
		var f *simkit.Flight
		for j := range inventory {
			if inventory[j].Carrier == s.Carrier && inventory[j].Number == s.FlightNumber {
				f = &inventory[j]
			}
		}
		if f == nil {
			t.Fatalf("segment %+v is not in the inventory", s)
		}
		if !s.DepartsAt.Equal(f.DepartsAt) || !s.ArrivesAt.Equal(f.ArrivesAt) || s.DepartsAt.Location() != time.UTC {
			t.Errorf("segment times %v–%v, want %v–%v UTC", s.DepartsAt, s.ArrivesAt, f.DepartsAt, f.ArrivesAt)
		}
		if o.Price != (money.Money{Amount: f.Amount, Currency: "EUR"}) {
			t.Errorf("price %v, want %d EUR cents", o.Price, f.Amount)
		}
	}

	priced, err := e.client.Price(ctx, offers[0])
	if err != nil {
		t.Fatalf("price: %v", err)
	}
	if priced.Price != offers[0].Price || priced.ID != offers[0].ID {
		t.Errorf("priced %v %s, want %v %s", priced.Price, priced.ID, offers[0].Price, offers[0].ID)
	}

	const ref = "trp_happy-1"
	order, err := e.client.Book(ctx, provider.OrderRequest{Offer: priced, Passengers: []provider.Passenger{ada}, Reference: ref})
	if err != nil {
		t.Fatalf("book: %v", err)
	}
	if order.ID == "" || len(order.BookingReference) != 6 || order.Price != priced.Price {
		t.Errorf("order %+v", order)
	}
	created := e.orders(t, 1)[0]
	if created.ID != order.ID || created.Reference != ref || created.BookingReference != order.BookingReference || created.Passengers != 1 {
		t.Errorf("simulator order %+v, adapter order %+v", created, order)
	}

	// By id (this process saw the answer) and by remark (another process).
	for name, c := range map[string]*amadeus.Client{"same process": e.client, "new process": e.newClient(amadeus.Config{})} {
		found, err := c.FindOrder(ctx, ref)
		if err != nil || found != order {
			t.Errorf("%s: FindOrder = %+v, %v; want %+v", name, found, err, order)
		}
	}
	e.orders(t, 1)
	if st := e.sim.Kit.Stats(); st.Searches != 1 || st.Prices != 1 || st.Orders != 1 || st.Lookups != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestSearchCurrencyAndTravellers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	req := search
	req.Currency, req.Adults = "USD", 2
	offers, err := e.client.Search(t.Context(), req)
	if err != nil || len(offers) == 0 {
		t.Fatalf("search: %v, %v", offers, err)
	}
	f := simkit.Inventory("amadeus", amadeussim.Carriers, "CDG", "FCO", day)
	var cheapest int64 = -1
	for _, fl := range f {
		if cheapest < 0 || fl.Amount < cheapest {
			cheapest = fl.Amount
		}
	}
	// The inventory is in EUR; a USD search quotes it at the shipped rates.
	perAdult, err := fx.Default().Convert(money.Money{Amount: cheapest, Currency: "EUR"}, "USD")
	if err != nil {
		t.Fatal(err)
	}
	if want := (money.Money{Amount: 2 * perAdult.Amount, Currency: "USD"}); offers[0].Price != want {
		t.Errorf("price %v, want %v for two adults", offers[0].Price, want)
	}
	bob := ada
	bob.GivenName, bob.Gender, bob.Title = "Bob", "m", "mr"
	if _, err := e.client.Book(t.Context(), provider.OrderRequest{Offer: offers[0], Passengers: []provider.Passenger{ada, bob}, Reference: "trp_two-1"}); err != nil {
		t.Fatalf("book: %v", err)
	}
	if o := e.orders(t, 1)[0]; o.Passengers != 2 || o.Currency != "USD" || o.Amount != 2*perAdult.Amount {
		t.Errorf("order %+v", o)
	}
	// Booking one traveller on a two-traveller offer is refused, not sold out.
	_, err = e.client.Book(t.Context(), provider.OrderRequest{Offer: offers[0], Passengers: []provider.Passenger{ada}, Reference: "trp_two-2"})
	if !errors.Is(err, provider.ErrRejected) || errors.Is(err, provider.ErrUnavailable) {
		t.Errorf("mismatched travellers: %v", err)
	}
	e.orders(t, 1)
}

func TestPriceChangeAtBooking(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	offer := e.firstOffer(t)
	priced, err := e.client.Price(t.Context(), offer)
	if err != nil {
		t.Fatal(err)
	}
	e.sim.Kit.Update(func(k *simkit.Knobs) { k.PriceChangeAtBooking = -5 })

	_, err = e.client.Book(t.Context(), provider.OrderRequest{Offer: priced, Passengers: []provider.Passenger{ada}, Reference: "trp_booking-1"})
	var pc *provider.PriceChangedError
	if !errors.As(err, &pc) {
		t.Fatalf("book: %v, want *PriceChangedError", err)
	}
	if want := (money.Money{Amount: simkit.Adjust(priced.Price.Amount, -5), Currency: "EUR"}); pc.Old != priced.Price || pc.New != want {
		t.Errorf("change %v → %v, want %v → %v", pc.Old, pc.New, priced.Price, want)
	}
	if st := e.sim.Kit.Stats(); st.Prices != 1 {
		t.Errorf("prices = %d: the detail named the new price, no re-pricing was needed", st.Prices)
	}
	e.orders(t, 0)
}

// A 37200 whose detail does not name the new price (the documented form has
// no detail at all) is resolved by pricing the offer again.
func TestPriceDiscrepancyWithoutDetail(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.URL.Path == "/v1/booking/flight-orders" {
				w.Header().Set("Content-Type", "application/vnd.amadeus+json")
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(`{"errors":[{"status":400,"code":37200,"title":"PRICE DISCREPANCY"}]}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	offer := e.firstOffer(t)
	e.sim.Kit.Update(func(k *simkit.Knobs) { k.PriceChangeAtPricing = 20 })

	_, err := e.client.Book(t.Context(), provider.OrderRequest{Offer: offer, Passengers: []provider.Passenger{ada}, Reference: "trp_nodetail-1"})
	var pc *provider.PriceChangedError
	if !errors.As(err, &pc) {
		t.Fatalf("book: %v, want *PriceChangedError", err)
	}
	if want := (money.Money{Amount: simkit.Adjust(offer.Price.Amount, 20), Currency: "EUR"}); pc.Old != offer.Price || pc.New != want {
		t.Errorf("change %v → %v, want %v → %v", pc.Old, pc.New, offer.Price, want)
	}
	if st := e.sim.Kit.Stats(); st.Prices != 1 {
		t.Errorf("prices = %d, want the one re-pricing", st.Prices)
	}
	e.orders(t, 0)
}

// Against an endpoint without the remark search (the real Self-Service API
// answers 404 38196 there), FindOrder must not claim the order is absent.
func TestFindOrderWithoutRemarkSearch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && r.URL.Path == "/v1/booking/flight-orders" {
				w.Header().Set("Content-Type", "application/vnd.amadeus+json")
				w.WriteHeader(http.StatusNotFound)
				w.Write([]byte(`{"errors":[{"code":38196,"title":"Resource not found","detail":"The targeted resource doesn't exist","status":404}]}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	_, err := e.client.FindOrder(t.Context(), "trp_real-1")
	if !errors.Is(err, amadeus.ErrLookupUnsupported) || errors.Is(err, provider.ErrNotFound) {
		t.Errorf("find: %v, want ErrLookupUnsupported and not ErrNotFound", err)
	}
	e.orders(t, 0)
}

func TestBadCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.sim.ClientID, e.sim.ClientSecret = "right-key", "right-secret"
	c := e.newClient(amadeus.Config{ClientID: "right-key", ClientSecret: "wrong-secret"})

	_, err := c.Search(t.Context(), search)
	var h *provider.HTTPError
	if !errors.Is(err, provider.ErrRejected) || !errors.As(err, &h) || h.Status != http.StatusUnauthorized || h.Code != "38187" {
		t.Errorf("search: %v, want ErrRejected and a 401 HTTPError 38187", err)
	}
	if n := e.sim.TokensIssued(); n != 0 {
		t.Errorf("tokens issued = %d", n)
	}
	e.orders(t, 0)
}

func TestRejectedToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(next http.Handler) http.Handler {
		// Drop the bearer token of the searches: the API refuses
		// them with 38191 (code and status as strings), and the adapter must
		// try a new token once, not forever.
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/v2/") {
				r.Header.Del("Authorization")
			}
			next.ServeHTTP(w, r)
		})
	})
	c := e.newClient(amadeus.Config{MaxOffers: 1})
	_, err := c.Search(t.Context(), search)
	var h *provider.HTTPError
	if !errors.Is(err, provider.ErrRejected) || !errors.As(err, &h) || h.Status != 401 || h.Code != "38191" {
		t.Errorf("search: %v, want a rejected 401 38191", err)
	}
	if n := e.sim.AuthFailures(); n != 2 {
		t.Errorf("auth failures = %d, want 2 (one call, repeated once with a new token)", n)
	}
}

func TestTokenRefreshOn401(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.firstOffer(t)
	e.sim.ExpireTokens()
	if _, err := e.client.Search(t.Context(), search); err != nil {
		t.Fatalf("search after expiry: %v", err)
	}
	if n, f := e.sim.TokensIssued(), e.sim.AuthFailures(); n != 2 || f != 1 {
		t.Errorf("tokens issued = %d, auth failures = %d; want 2 and 1", n, f)
	}
}

func TestTokenRefreshBeforeExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	var clock atomic.Int64
	clock.Store(day.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	e.sim.Now = now
	c := e.newClient(amadeus.Config{Now: now})

	for range 2 {
		if _, err := c.Search(t.Context(), search); err != nil {
			t.Fatal(err)
		}
	}
	clock.Add(int64(1790 * time.Second)) // 9 s before the 1799 s token expires
	if _, err := c.Search(t.Context(), search); err != nil {
		t.Fatal(err)
	}
	if n, f := e.sim.TokensIssued(), e.sim.AuthFailures(); n != 2 || f != 0 {
		t.Errorf("tokens issued = %d, auth failures = %d; want 2 and 0", n, f)
	}
}

func TestTokenFetchedOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			_, err := e.client.Search(t.Context(), search)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := e.sim.TokensIssued(); n != 1 {
		t.Errorf("tokens issued = %d, want 1 for concurrent first calls", n)
	}
}

// The booking request carries what Amadeus documents: travelers with
// contact, and our reference as a general remark.
func TestBookingRequest(t *testing.T) {
	t.Parallel()
	var body []byte
	var mu sync.Mutex
	e := newEnv(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.URL.Path == "/v1/booking/flight-orders" {
				b, err := io.ReadAll(r.Body)
				if err != nil {
					t.Errorf("read body: %v", err)
				}
				mu.Lock()
				body = b
				mu.Unlock()
				r.Body = io.NopCloser(bytes.NewReader(b))
				if ct := r.Header.Get("Content-Type"); ct != "application/vnd.amadeus+json" {
					t.Errorf("content type %q", ct)
				}
			}
			next.ServeHTTP(w, r)
		})
	})
	offer := e.firstOffer(t)
	if _, err := e.client.Book(t.Context(), provider.OrderRequest{Offer: offer, Passengers: []provider.Passenger{ada}, Reference: "trp_wire-1"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var req struct {
		Data struct {
			Type      string
			Travelers []struct {
				ID          string
				DateOfBirth string
				Gender      string
				Name        struct{ FirstName, LastName string }
				Contact     struct {
					EmailAddress string
					Phones       []struct{ DeviceType, CountryCallingCode, Number string }
				}
			}
			Remarks struct {
				General []struct{ SubType, Text string }
			}
			FlightOffers []json.RawMessage
		}
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	d := req.Data
	if d.Type != "flight-order" || len(d.FlightOffers) != 1 || len(d.Travelers) != 1 {
		t.Fatalf("request %s", body)
	}
	tr := d.Travelers[0]
	if tr.ID != "1" || tr.DateOfBirth != "1990-12-10" || tr.Gender != "FEMALE" || tr.Name.FirstName != "Ada" || tr.Name.LastName != "Lovelace" ||
		tr.Contact.EmailAddress != "ada@example.com" || len(tr.Contact.Phones) != 1 || tr.Contact.Phones[0].CountryCallingCode != "44" || tr.Contact.Phones[0].Number != "2071234567" {
		t.Errorf("traveler %+v", tr)
	}
	if len(d.Remarks.General) != 1 || d.Remarks.General[0].SubType != "GENERAL_MISCELLANEOUS" || d.Remarks.General[0].Text != "CLIENT REF trp_wire-1" {
		t.Errorf("remarks %+v", d.Remarks)
	}
}
