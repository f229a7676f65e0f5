// Package aggregator searches every flight provider at once and books the
// cheapest offer. A search fans out with a deadline per provider and an
// overall budget, and answers with whatever came back in time, reporting
// each provider's status; a slow or failing provider never fails a search.
// Prices are converted to the requested currency through a dated rates
// table, exactly. Bookings go cheapest first and fall back to the next offer
// when a provider refuses (see book.go).
package aggregator

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/reservd/reservd/internal/cache"
	"github.com/reservd/reservd/internal/fx"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
)

// Config tunes the aggregator. Zero fields take the defaults of DefaultConfig.
type Config struct {
	CallTimeout     time.Duration // one provider call (PROVIDER_TIMEOUT)
	SearchBudget    time.Duration // a whole search, retries included (SEARCH_BUDGET)
	CacheTTL        time.Duration // identical searches answered from cache (SEARCH_CACHE_TTL)
	MaxConcurrent   int           // calls in flight per provider
	Retries         int           // extra tries of a safe call after a transient failure
	RetryBase       time.Duration // first backoff
	BreakerFailures int           // consecutive failures that open a provider's circuit
	BreakerWindow   time.Duration // closed-state counting window
	BreakerOpenFor  time.Duration // how long an open circuit skips its provider
	BookTimeout     time.Duration // one order call; past it the outcome is ambiguous
	// OfferIDKey keys offer ids (see OfferID). Replicas that share a cache
	// and trips should share it; when empty, a random key per process.
	OfferIDKey []byte
}

// DefaultConfig is the production tuning.
func DefaultConfig() Config {
	return Config{
		CallTimeout: 2 * time.Second, SearchBudget: 3 * time.Second, CacheTTL: 30 * time.Second,
		MaxConcurrent: 16, Retries: 2, RetryBase: 100 * time.Millisecond,
		BreakerFailures: 5, BreakerWindow: time.Minute, BreakerOpenFor: 30 * time.Second,
		BookTimeout: 10 * time.Second,
	}
}

// Source is a provider to aggregate; Simulated marks a built-in simulator.
type Source struct {
	Provider  provider.Provider
	Simulated bool
}

// Aggregator searches and books across providers.
type Aggregator struct {
	sources []*guarded
	rates   *fx.Table
	cache   cache.Cache // nil: nothing cached
	log     *slog.Logger
	cfg     Config
	m       *metrics
	tracer  trace.Tracer
}

// New returns an aggregator over sources.
func New(sources []Source, rates *fx.Table, searches cache.Cache, log *slog.Logger, reg prometheus.Registerer, cfg Config) *Aggregator {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	a := &Aggregator{rates: rates, cache: searches, log: log, cfg: cfg, m: newMetrics(reg), tracer: otel.Tracer(tracerName)}
	for _, s := range sources {
		name := s.Provider.Name()
		a.m.breaker.WithLabelValues(name).Set(0)
		a.sources = append(a.sources, newGuarded(s.Provider, s.Simulated, cfg, func(name string, to gobreaker.State) {
			a.m.breaker.WithLabelValues(name).Set(float64(to))
			a.log.Warn("provider circuit changed", "provider", name, "state", to.String())
		}))
	}
	return a
}

// Offer is an offer as the API shows it: the price in the requested currency
// beside the price as the provider quoted it.
type Offer struct {
	ID            string
	Provider      string
	Price         money.Money
	ProviderPrice money.Money
	Segments      []provider.Segment
	ExpiresAt     time.Time
	// Source is the provider's own offer, needed to price and book it.
	Source provider.Offer
}

// ProviderStatus says how one provider did in a search.
type ProviderStatus struct {
	Name      string
	Status    string // ok, timeout, error, circuit_open
	Offers    int
	LatencyMS int64
	Simulated bool
}

// Result is a search's answer.
type Result struct {
	Offers    []Offer
	Providers []ProviderStatus
}

// ErrNoProviders reports a search in which every provider failed.
var ErrNoProviders = errors.New("every provider failed")

// NoProvidersError is ErrNoProviders with how each provider did.
type NoProvidersError struct {
	Providers []ProviderStatus
}

func (e *NoProvidersError) Error() string        { return ErrNoProviders.Error() }
func (e *NoProvidersError) Is(target error) bool { return target == ErrNoProviders }

// Search returns the offers of every provider cheapest first, each with its
// Source to book it: from the cache when an identical search ran within
// CacheTTL (on any replica sharing the cache), else by asking the providers.
func (a *Aggregator) Search(ctx context.Context, req provider.SearchRequest) (Result, error) {
	if res, _, ok := a.cachedSearch(ctx, req); ok {
		a.m.cache.WithLabelValues("hit").Inc()
		return res, nil
	}
	if a.cache != nil {
		a.m.cache.WithLabelValues("miss").Inc()
	}
	return a.search(ctx, req)
}

// SearchBudget is how long a search may take, from the request's arrival.
func (a *Aggregator) SearchBudget() time.Duration { return a.cfg.SearchBudget }

// search asks every provider at once and returns their offers cheapest
// first. It answers by ctx's deadline or SearchBudget, whichever comes
// first, with what has come back by then: a provider still being waited for
// is reported as a timeout, and its call is cancelled without being waited
// for, so that nothing after the deadline stands between it and the answer.
// A successful search is stored for Search and Answer.
func (a *Aggregator) search(ctx context.Context, req provider.SearchRequest) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.SearchBudget)
	defer cancel()
	start := timeNow()
	res := Result{Providers: make([]ProviderStatus, len(a.sources))}
	type answer struct {
		i      int
		status ProviderStatus
		offers []Offer
	}
	answers := make(chan answer, len(a.sources)) // buffered: a late provider never blocks
	asked := 0
	for i, g := range a.sources {
		res.Providers[i] = ProviderStatus{Name: g.Name(), Simulated: g.simulated, Status: "timeout"}
		if ctx.Err() != nil {
			continue // the budget was spent before the search began: ask no one
		}
		asked++
		go func() {
			var got []provider.Offer
			callCtx, call := a.startCall(ctx, g.Name(), "search")
			err := g.retrying(callCtx, func(ctx context.Context) error {
				var err error
				got, err = g.Search(ctx, req)
				return err
			})
			st := ProviderStatus{Name: g.Name(), Simulated: g.simulated, LatencyMS: timeNow().Sub(start).Milliseconds()}
			st.Status = call.end(err)
			if err != nil {
				a.log.WarnContext(ctx, "provider search failed", "provider", g.Name(), "status", st.Status, "error", err.Error())
			}
			var offers []Offer
			for _, o := range got {
				off, err := a.normalize(o, req)
				if err != nil {
					a.log.WarnContext(ctx, "provider offer dropped", "provider", g.Name(), "error", err.Error())
					continue
				}
				offers = append(offers, off)
			}
			st.Offers = len(offers)
			answers <- answer{i: i, status: st, offers: offers}
		}()
	}
	offers := make([][]Offer, len(a.sources))
	answered := make([]bool, len(a.sources))
collect:
	for range asked {
		select {
		case got := <-answers:
			res.Providers[got.i], offers[got.i], answered[got.i] = got.status, got.offers, true
		case <-ctx.Done():
			break collect
		}
	}
	ok := false
	for i, st := range res.Providers {
		if !answered[i] {
			res.Providers[i].LatencyMS = timeNow().Sub(start).Milliseconds()
		}
		ok = ok || st.Status == "ok"
		res.Offers = append(res.Offers, offers[i]...)
	}
	if !ok && len(a.sources) > 0 {
		return res, ErrNoProviders
	}
	sortOffers(res.Offers)
	a.storeSearch(ctx, req, res)
	return res, nil
}

// sortOffers orders offers cheapest first, then earliest departure, then id.
func sortOffers(offers []Offer) {
	slices.SortStableFunc(offers, func(x, y Offer) int {
		return cmp.Or(cmp.Compare(x.Price.Amount, y.Price.Amount), departs(x).Compare(departs(y)), cmp.Compare(x.ID, y.ID))
	})
}

func departs(o Offer) time.Time {
	if len(o.Segments) == 0 {
		return time.Time{}
	}
	return o.Segments[0].DepartsAt
}

// normalize converts a provider's offer of search req to the requested
// currency and gives it our id.
func (a *Aggregator) normalize(o provider.Offer, req provider.SearchRequest) (Offer, error) {
	if len(o.Segments) == 0 {
		return Offer{}, errors.New("offer without segments")
	}
	price, err := a.rates.Convert(o.Price, req.Currency)
	if err != nil {
		return Offer{}, err
	}
	return Offer{ID: OfferID(a.offerKey(), req, o), Provider: o.Provider, Price: price, ProviderPrice: o.Price,
		Segments: o.Segments, ExpiresAt: o.ExpiresAt.UTC(), Source: o}, nil
}

// outcome names how a provider call ended, as the API reports it.
func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, errCircuitOpen):
		return "circuit_open"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "error"
}

// Providers lists the providers' names in order.
func (a *Aggregator) Providers() []string {
	var out []string
	for _, g := range a.sources {
		out = append(out, g.Name())
	}
	return out
}

// Rates is the exchange-rate table in use.
func (a *Aggregator) Rates() *fx.Table { return a.rates }

// tracerName names the aggregator's spans' instrumentation scope.
const tracerName = "github.com/reservd/reservd/internal/aggregator"

// timeNow is the aggregator's clock for latency measurements.
var timeNow = time.Now
