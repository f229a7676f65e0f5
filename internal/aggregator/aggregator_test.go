package aggregator_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/reservd/reservd/internal/aggregator"
	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/cache"
	"github.com/reservd/reservd/internal/fx"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/registry"
	"github.com/reservd/reservd/internal/provider/simkit"
	"github.com/reservd/reservd/internal/provider/simset"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/storetest"
	"github.com/reservd/reservd/internal/trips"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"), goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"))
}

// world is an aggregator over a simulator of every registered provider
// (simset), speaking real HTTP.
type world struct {
	sims *simset.Set
	kits map[string]*simkit.Sim
	agg  *aggregator.Aggregator
	hc   *http.Client
	cfg  aggregator.Config
}

func newWorld(t *testing.T, tune func(*aggregator.Config), cache cache.Cache) *world {
	t.Helper()
	sims, err := simset.Start()
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		sims.Close()
		hc.CloseIdleConnections()
	})
	cfg := aggregator.DefaultConfig()
	// Generous for a loaded 2-core machine running -race; the black-holed
	// provider costs one CallTimeout per test that uses it.
	cfg.CallTimeout, cfg.SearchBudget, cfg.RetryBase, cfg.BookTimeout = time.Second, 2*time.Second, 10*time.Millisecond, time.Second
	if tune != nil {
		tune(&cfg)
	}
	var sources []aggregator.Source
	for _, p := range sims.Providers(hc) {
		sources = append(sources, aggregator.Source{Provider: p, Simulated: true})
	}
	return &world{sims: sims, kits: sims.Kits(), hc: hc, cfg: cfg,
		agg: aggregator.New(sources, fx.Default(), cache, nil, prometheus.NewRegistry(), cfg)}
}

func search(date time.Time) provider.SearchRequest {
	return provider.SearchRequest{Origin: "SFO", Destination: "JFK", DepartureDate: date, Adults: 1, Currency: "USD"}
}

var day = time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 30)

func status(res aggregator.Result) map[string]string {
	out := map[string]string{}
	for _, p := range res.Providers {
		out[p.Name] = p.Status
	}
	return out
}

func TestSearchAllProviders(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil, nil)
	res, err := w.agg.Search(t.Context(), search(day))
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for i, o := range res.Offers {
		per[o.Provider]++
		if o.Price.Currency != "USD" || o.Price.Amount <= 0 || o.ProviderPrice.Amount <= 0 || len(o.ID) != 30 {
			t.Errorf("offer %+v", o)
		}
		if i > 0 && o.Price.Amount < res.Offers[i-1].Price.Amount {
			t.Errorf("offers not cheapest first at %d", i)
		}
		for _, s := range o.Segments {
			if s.DepartsAt.Location() != time.UTC || !s.ArrivesAt.After(s.DepartsAt) || s.Carrier == "" || s.FlightNumber == "" {
				t.Errorf("segment %+v", s)
			}
		}
		if o.ProviderPrice.Currency != "USD" {
			conv, _ := fx.Default().Convert(o.ProviderPrice, "USD")
			if conv != o.Price {
				t.Errorf("%s offer %s converted to %v, want %v", o.Provider, o.ProviderPrice, o.Price, conv)
			}
		}
	}
	for _, p := range res.Providers {
		if p.Status != "ok" || !p.Simulated || p.Offers != per[p.Name] || p.Offers == 0 {
			t.Errorf("provider %+v (offers counted %d)", p, per[p.Name])
		}
	}
}

func TestSearchSurvivesSlowAndFailingProviders(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(c *aggregator.Config) { c.Retries = 1 }, nil)
	w.kits["duffel"].Update(func(k *simkit.Knobs) { k.BlackHole = true })
	w.kits["kiwi"].Update(func(k *simkit.Knobs) { k.ErrorBurst = 100 })
	res, err := w.agg.Search(t.Context(), search(day))
	if err != nil {
		t.Fatalf("Search with one provider left: %v", err)
	}
	// Duffel and Kiwi are the two picked to fail; every other provider answers.
	got := status(res)
	for _, name := range registry.Names() {
		want := "ok"
		switch name {
		case "duffel":
			want = "timeout"
		case "kiwi":
			want = "error"
		}
		if got[name] != want {
			t.Errorf("statuses = %v, want %s %s", got, name, want)
		}
	}
	for _, o := range res.Offers {
		if got[o.Provider] != "ok" {
			t.Errorf("offer from a failed provider: %+v", o)
		}
	}
	if n := w.kits["kiwi"].Stats().Searches; n != 0 {
		t.Errorf("kiwi searched %d times through its errors", n)
	}
	if reqs := w.kits["kiwi"].Stats().Requests; reqs != 2 {
		t.Errorf("kiwi got %d requests, want 2 (one retry of a failed search)", reqs)
	}
}

func TestSearchRetriesTransientErrors(t *testing.T) {
	t.Parallel()
	// Retry-After has whole seconds: leave room to honour one.
	w := newWorld(t, func(c *aggregator.Config) { c.SearchBudget = 3 * time.Second }, nil)
	w.kits["amadeus"].Update(func(k *simkit.Knobs) { k.ErrorBurst = 1 })
	w.kits["kiwi"].Update(func(k *simkit.Knobs) { k.RateLimited, k.RetryAfter = 1, time.Millisecond })
	res, err := w.agg.Search(t.Context(), search(day))
	if err != nil {
		t.Fatal(err)
	}
	if got := status(res); got["amadeus"] != "ok" || got["kiwi"] != "ok" {
		t.Errorf("after one transient failure each: %v, want ok (retried)", got)
	}
}

func TestEveryProviderFailing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(c *aggregator.Config) { c.Retries = 0 }, nil)
	for _, k := range w.kits {
		k.Update(func(k *simkit.Knobs) { k.ErrorBurst = 100 })
	}
	if _, err := w.agg.Search(t.Context(), search(day)); !errors.Is(err, aggregator.ErrNoProviders) {
		t.Errorf("Search with every provider down: %v, want ErrNoProviders", err)
	}
}

func TestCircuitOpensAndSkipsWithoutWaiting(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(c *aggregator.Config) { c.Retries, c.BreakerFailures, c.BreakerOpenFor = 0, 2, time.Minute }, nil)
	w.kits["duffel"].Update(func(k *simkit.Knobs) { k.ErrorBurst = 100 })
	for range 2 {
		w.agg.Search(t.Context(), search(day))
	}
	before := w.kits["duffel"].Stats().Requests
	res, err := w.agg.Search(t.Context(), search(day))
	if err != nil {
		t.Fatal(err)
	}
	if got := status(res); got["duffel"] != "circuit_open" {
		t.Errorf("duffel after 2 failures = %s, want circuit_open", got["duffel"])
	}
	if after := w.kits["duffel"].Stats().Requests; after != before {
		t.Errorf("an open circuit still called duffel (%d → %d requests)", before, after)
	}
}

func TestIdenticalSearchesAreCached(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil, cache.NewMemory(nil))
	first, err := w.agg.Search(t.Context(), search(day))
	if err != nil {
		t.Fatal(err)
	}
	before := w.requests()
	second, err := w.agg.Search(t.Context(), search(day))
	if err != nil {
		t.Fatal(err)
	}
	after := w.requests()
	if after != before || len(second.Offers) != len(first.Offers) || second.Offers[0].ID != first.Offers[0].ID {
		t.Errorf("second identical search reached the providers (%d → %d) or changed", before, after)
	}
	if len(second.Offers[0].Segments) == 0 || second.Offers[0].Source.ID == "" {
		t.Errorf("cached offers lost their segments or provider handle")
	}
}

// tripWorld is a world with a store and a customer, to book trips.
type tripWorld struct {
	*world
	st    store.Store
	svc   *aggregator.TripService
	alice apikey.Principal
}

func newTripWorld(t *testing.T, tune func(*aggregator.Config)) *tripWorld {
	return newCachedTripWorld(t, tune, nil)
}

func newCachedTripWorld(t *testing.T, tune func(*aggregator.Config), cache cache.Cache) *tripWorld {
	w := &tripWorld{world: newWorld(t, tune, cache), st: storetest.Engines["sqlite"](t)}
	w.svc = aggregator.NewTripService(w.st, w.agg)
	w.svc.Lease = 3 * time.Second
	_, digest := apikey.Generate()
	id, err := w.st.APIKeyCreate(t.Context(), store.APIKeyCreateParams{Name: "alice", Digest: digest, Admin: false})
	if err != nil {
		t.Fatal(err)
	}
	w.alice = apikey.Principal{KeyID: id}
	return w
}

func (w *tripWorld) create(t *testing.T, max *money.Money) trips.Trip {
	t.Helper()
	tr, err := w.svc.Create(t.Context(), w.alice, trips.Request{
		Origin: "SFO", Destination: "JFK", DepartureDate: day.Format(time.DateOnly), Currency: "USD", MaxPrice: max,
		Passengers: []trips.Passenger{{GivenName: "Ada", FamilyName: "Lovelace", BornOn: "1990-12-10", Gender: "f", Title: "ms"}},
		Contact:    &trips.Contact{Email: "ada@example.com", PhoneNumber: "+14155550100"},
	}, nil)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return tr
}

// work runs the trip worker until the trip leaves pending.
func (w *tripWorld) work(t *testing.T, id string) trips.Trip {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := w.svc.Work(t.Context()); err != nil {
			t.Fatalf("Work: %v", err)
		}
		tr, err := w.st.TripGet(t.Context(), w.alice.KeyID, id)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Status != trips.Pending {
			return tr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("trip %s still pending", id)
	return trips.Trip{}
}

// orders counts the orders at each provider of the world: every registered one.
func (w *world) orders() map[string]int {
	out := map[string]int{}
	for name, k := range w.kits {
		out[name] = len(k.Orders())
	}
	return out
}

// requests counts the requests every provider of the world has answered.
func (w *world) requests() int {
	n := 0
	for _, k := range w.kits {
		n += k.Stats().Requests
	}
	return n
}

// total sums counts by provider, such as orders(): over every provider.
func total(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

func (w *world) cheapest(t *testing.T) aggregator.Offer {
	t.Helper()
	res, err := w.agg.Search(t.Context(), search(day))
	if err != nil || len(res.Offers) == 0 {
		t.Fatalf("Search: %v", err)
	}
	return res.Offers[0]
}

func outcomes(tr trips.Trip) []string {
	var out []string
	for _, a := range tr.Attempts {
		out = append(out, a.Provider+":"+a.Outcome)
	}
	return out
}

func TestTripBooksTheCheapestOffer(t *testing.T) {
	t.Parallel()
	w := newTripWorld(t, nil)
	best := w.cheapest(t)
	tr := w.work(t, w.create(t, nil).ID)
	if tr.Status != trips.Confirmed || tr.Provider != best.Provider || tr.ProviderBookingReference == "" || *tr.Price != best.Price {
		t.Fatalf("trip = %+v, want confirmed at %s for %v", tr, best.Provider, best.Price)
	}
	if o := w.orders(); o[best.Provider] != 1 || total(o) != 1 {
		t.Errorf("orders = %v, want exactly one at %s", o, best.Provider)
	}
}

func TestTripFallsBackWhenTheCheapestIsSoldOut(t *testing.T) {
	t.Parallel()
	w := newTripWorld(t, nil)
	best := w.cheapest(t)
	w.kits[best.Provider].Update(func(k *simkit.Knobs) { k.SoldOut = true })
	tr := w.work(t, w.create(t, nil).ID)
	if tr.Status != trips.Confirmed || tr.Provider == best.Provider {
		t.Fatalf("trip = %+v %v", tr.Status, outcomes(tr))
	}
	if tr.Attempts[0].Provider != best.Provider || tr.Attempts[0].Outcome != trips.OutcomeUnavailable {
		t.Errorf("attempts = %v, want the cheapest unavailable first", outcomes(tr))
	}
	if o := w.orders(); o[best.Provider] != 0 || total(o) != 1 {
		t.Errorf("orders = %v", o)
	}
}

func TestTripSkipsAPriceRisePastMaxPrice(t *testing.T) {
	t.Parallel()
	w := newTripWorld(t, nil)
	best := w.cheapest(t)
	w.kits[best.Provider].Update(func(k *simkit.Knobs) { k.PriceChangeAtPricing = 50 })
	max := money.Money{Amount: best.Price.Amount + best.Price.Amount/4, Currency: "USD"}
	tr := w.work(t, w.create(t, &max).ID)
	first := tr.Attempts[0]
	if first.Provider != best.Provider || first.Outcome != trips.OutcomePriceChanged || first.Price.Amount <= max.Amount {
		t.Errorf("first attempt = %+v, want price_changed above %v", first, max)
	}
	if tr.Status == trips.Confirmed && tr.Price.Amount > max.Amount {
		t.Errorf("booked for %v, above max_price %v", tr.Price, max)
	}
	if w.orders()[best.Provider] != 0 {
		t.Errorf("ordered from %s after its price rose past max_price", best.Provider)
	}
}

func TestTripResolvesALostOrderAnswerByLookup(t *testing.T) {
	t.Parallel()
	w := newTripWorld(t, nil)
	best := w.cheapest(t)
	w.kits[best.Provider].Update(func(k *simkit.Knobs) { k.LoseOrderResponse = true })
	tr := w.work(t, w.create(t, nil).ID)
	if tr.Status != trips.Confirmed || tr.Provider != best.Provider {
		t.Fatalf("trip = %s at %s %v, want confirmed at %s (found by reference)", tr.Status, tr.Provider, outcomes(tr), best.Provider)
	}
	if o := w.orders(); o[best.Provider] != 1 || total(o) != 1 {
		t.Errorf("orders = %v: one trip must be one order", o)
	}
}

func TestTripResumesAfterARestart(t *testing.T) {
	t.Parallel()
	w := newTripWorld(t, nil)
	best := w.cheapest(t)
	// The provider takes the order but its answer never arrives, and the
	// worker dies right then: the trip was saved with the order in flight.
	w.kits[best.Provider].Update(func(k *simkit.Knobs) { k.LoseOrderResponse = true })
	tr := w.create(t, nil)
	claimed, err := w.st.TripClaim(t.Context(), w.svc.Lease, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatal(claimed, err)
	}
	crashed := errors.New("worker killed")
	var once sync.Once
	_, err = w.agg.Book(t.Context(), claimed[0], func(ctx context.Context, t trips.Trip) error {
		if err := w.st.TripSave(ctx, t, 50*time.Millisecond); err != nil {
			return err
		}
		if t.InFlight != nil {
			var stop error
			once.Do(func() { stop = crashed })
			return stop
		}
		return nil
	})
	if !errors.Is(err, crashed) {
		t.Fatalf("Book = %v, want the simulated crash", err)
	}
	saved, _ := w.st.TripGet(t.Context(), w.alice.KeyID, tr.ID)
	if saved.InFlight == nil || saved.Status != trips.Pending {
		t.Fatalf("saved trip = %+v, want pending with the order in flight", saved)
	}
	// The crash came before the order call, so the provider has no order;
	// a new worker looks it up, finds none, and goes on.
	w.kits[best.Provider].Update(func(k *simkit.Knobs) { k.LoseOrderResponse = false })
	time.Sleep(100 * time.Millisecond)
	done := w.work(t, tr.ID)
	if done.Status != trips.Confirmed {
		t.Fatalf("resumed trip = %s %v", done.Status, outcomes(done))
	}
	if o := w.orders(); total(o) != 1 {
		t.Errorf("orders = %v, want exactly one after the restart", o)
	}
}

func TestTripFailsWhenNothingFits(t *testing.T) {
	t.Parallel()
	w := newTripWorld(t, nil)
	for _, k := range w.kits {
		k.Update(func(k *simkit.Knobs) { k.SoldOut = true })
	}
	tr := w.work(t, w.create(t, nil).ID)
	if tr.Status != trips.Failed || len(tr.Attempts) == 0 {
		t.Fatalf("trip = %s %v, want failed after trying", tr.Status, outcomes(tr))
	}
	for _, a := range tr.Attempts {
		if a.Outcome != trips.OutcomeUnavailable {
			t.Errorf("attempt %+v", a)
		}
	}
	if o := w.orders(); total(o) != 0 {
		t.Errorf("orders = %v", o)
	}
}

func TestTripFallsBackWhenThePriceChangesAtBooking(t *testing.T) {
	t.Parallel()
	w := newTripWorld(t, nil)
	best := w.cheapest(t)
	w.kits[best.Provider].Update(func(k *simkit.Knobs) { k.PriceChangeAtBooking = 20 })
	tr := w.work(t, w.create(t, nil).ID)
	if tr.Status != trips.Confirmed || tr.Provider == best.Provider {
		t.Fatalf("trip = %s at %s %v", tr.Status, tr.Provider, outcomes(tr))
	}
	if a := tr.Attempts[0]; a.Provider != best.Provider || a.Outcome != trips.OutcomePriceChanged {
		t.Errorf("first attempt = %+v, want price_changed at %s", a, best.Provider)
	}
	if o := w.orders(); o[best.Provider] != 0 || total(o) != 1 {
		t.Errorf("orders = %v", o)
	}
}

func TestTripRidesOutRateLimitsAndErrorBursts(t *testing.T) {
	t.Parallel()
	w := newTripWorld(t, func(c *aggregator.Config) { c.SearchBudget = 5 * time.Second })
	best := w.cheapest(t)
	// The next calls to the cheapest provider fail once each way; retries of
	// the safe calls (pricing) carry the trip through to that provider.
	w.kits[best.Provider].Update(func(k *simkit.Knobs) { k.RateLimited, k.RetryAfter, k.ErrorBurst = 1, time.Second, 1 })
	tr := w.work(t, w.create(t, nil).ID)
	if tr.Status != trips.Confirmed || tr.Provider != best.Provider || len(tr.Attempts) != 1 {
		t.Fatalf("trip = %s at %s %v, want confirmed at %s in one attempt", tr.Status, tr.Provider, outcomes(tr), best.Provider)
	}
	if o := w.orders(); o[best.Provider] != 1 || total(o) != 1 {
		t.Errorf("orders = %v", o)
	}
}

func TestTripWaitsOutAnOutageOfEveryProvider(t *testing.T) {
	t.Parallel()
	w := newTripWorld(t, func(c *aggregator.Config) { c.Retries, c.BreakerOpenFor = 0, 300*time.Millisecond })
	w.svc.Lease = time.Second
	w.cheapest(t)
	for _, k := range w.kits {
		k.Update(func(k *simkit.Knobs) { k.ErrorBurst = 1000 })
	}
	tr := w.create(t, nil)
	for range 2 {
		if _, err := w.svc.Work(t.Context()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond)
	}
	if got, _ := w.st.TripGet(t.Context(), w.alice.KeyID, tr.ID); got.Status != trips.Pending {
		t.Fatalf("trip during an outage of every provider = %s %v, want still pending", got.Status, outcomes(got))
	}
	for _, k := range w.kits {
		k.Update(func(k *simkit.Knobs) { k.ErrorBurst = 0 })
	}
	done := w.work(t, tr.ID)
	if done.Status != trips.Confirmed {
		t.Fatalf("trip after the outage = %s %v", done.Status, outcomes(done))
	}
	if o := w.orders(); total(o) != 1 {
		t.Errorf("orders = %v", o)
	}
}
