package aggregator_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/aggregator"
	"github.com/reservd/reservd/internal/cache"
	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/registry"
	"github.com/reservd/reservd/internal/provider/simkit"
	"github.com/reservd/reservd/internal/seatlock"
	"github.com/reservd/reservd/internal/testdb"
	"github.com/reservd/reservd/internal/trips"
)

// testEncoding renders what an answer shows of a search: the offers without
// their Sources, and the providers.
var testEncoding = aggregator.Encoding{Name: "test", Encode: func(res aggregator.Result) ([]byte, error) {
	offers := make([]aggregator.Offer, len(res.Offers))
	for i, o := range res.Offers {
		o.Source = provider.Offer{}
		offers[i] = o
	}
	return json.Marshal(aggregator.Result{Offers: offers, Providers: res.Providers})
}}

func (w *world) searches() int {
	n := 0
	for _, k := range w.kits {
		n += k.Stats().Searches
	}
	return n
}

// redisCache is a cache on the test Redis under a prefix of its own.
func redisCache(t *testing.T) *cache.Redis {
	t.Helper()
	c, err := seatlock.NewRedisClient(testdb.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var b [8]byte
	rand.Read(b[:])
	prefix := "reservdtest:" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		keys, _ := c.Keys(ctx, prefix+":*").Result()
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	r, err := cache.NewRedis(c, cache.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A cache hit answers the bytes of the miss, on every replica sharing the
// cache, without asking any provider.
func TestAnswerFromCacheIsTheSearchedAnswer(t *testing.T) {
	t.Parallel()
	for name, cache := range map[string]func(*testing.T) cache.Cache{
		"memory": func(*testing.T) cache.Cache { return cache.NewMemory(nil) },
		"redis":  func(t *testing.T) cache.Cache { return redisCache(t) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			shared := cache(t)
			one, two := newWorld(t, nil, shared), newWorld(t, nil, shared) // two replicas
			miss, err := one.agg.Answer(t.Context(), search(day), testEncoding)
			if err != nil {
				t.Fatal(err)
			}
			var res aggregator.Result
			if err := json.Unmarshal(miss, &res); err != nil || len(res.Offers) == 0 || len(res.Providers) != len(registry.Names()) {
				t.Fatalf("answer %s: %v", miss, err)
			}
			before := one.searches() + two.searches()
			for _, w := range []*world{one, two} {
				hit, err := w.agg.Answer(t.Context(), search(day), testEncoding)
				if err != nil {
					t.Fatal(err)
				}
				if string(hit) != string(miss) {
					t.Errorf("cache hit\n%s\ndiffers from the miss\n%s", hit, miss)
				}
			}
			if after := one.searches() + two.searches(); after != before {
				t.Errorf("cache hits searched the providers (%d → %d searches)", before, after)
			}
			// The search behind the answer is there to book, Sources included.
			got, err := two.agg.Search(t.Context(), search(day))
			if err != nil {
				t.Fatal(err)
			}
			if after := one.searches() + two.searches(); after != before {
				t.Errorf("Search after Answer searched the providers (%d → %d searches)", before, after)
			}
			if len(got.Offers) != len(res.Offers) {
				t.Fatalf("Search found %d offers, the answer %d", len(got.Offers), len(res.Offers))
			}
			for i, o := range got.Offers {
				if o.ID != res.Offers[i].ID || o.Price != res.Offers[i].Price || o.Source.ID == "" || len(o.Source.Raw) == 0 {
					t.Errorf("offer %d: %s %v source %q (%d raw bytes), answered %s %v", i, o.ID, o.Price, o.Source.ID, len(o.Source.Raw),
						res.Offers[i].ID, res.Offers[i].Price)
				}
			}
		})
	}
}

// A trip books the cheapest offer of the search its customer was answered,
// from the cache, without searching again.
func TestTripBooksAnOfferFoundThroughACachedSearch(t *testing.T) {
	t.Parallel()
	w := newCachedTripWorld(t, nil, cache.NewMemory(nil))
	b, err := w.agg.Answer(t.Context(), search(day), testEncoding)
	if err != nil {
		t.Fatal(err)
	}
	var shown aggregator.Result
	if err := json.Unmarshal(b, &shown); err != nil {
		t.Fatal(err)
	}
	before := w.searches()
	tr := w.work(t, w.create(t, nil).ID)
	if tr.Status != trips.Confirmed || len(tr.Attempts) != 1 || tr.Attempts[0].OfferID != shown.Offers[0].ID {
		t.Fatalf("trip = %+v, want confirmed with %s, the cheapest offer shown", tr, shown.Offers[0].ID)
	}
	if after := w.searches(); after != before {
		t.Errorf("the trip searched again (%d → %d searches)", before, after)
	}
	if o := w.orders(); total(o) != 1 {
		t.Errorf("orders = %v, want one", o)
	}
}

// The search ends by the caller's deadline (counted from the request's
// arrival) when it comes before SearchBudget; a budget already spent asks
// no provider.
func TestSearchEndsByTheCallersDeadline(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(c *aggregator.Config) {
		c.Retries, c.CallTimeout, c.SearchBudget = 0, time.Minute, time.Minute
	}, cache.NewMemory(nil))
	w.kits["duffel"].Update(func(k *simkit.Knobs) { k.BlackHole = true })

	spent, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Millisecond))
	defer cancel()
	_, err := w.agg.Answer(spent, search(day), testEncoding)
	var none *aggregator.NoProvidersError
	if !errors.As(err, &none) || !errors.Is(err, aggregator.ErrNoProviders) || len(none.Providers) != len(registry.Names()) {
		t.Fatalf("Answer with the budget spent: %v, want NoProvidersError naming every provider", err)
	}
	for _, p := range none.Providers {
		if p.Status != "timeout" {
			t.Errorf("provider %+v, want timeout", p)
		}
	}
	if n := w.searches(); n != 0 {
		t.Errorf("%d provider searches with the budget spent, want none", n)
	}

	// A deadline well before the minute of SearchBudget: the search answers
	// by it with what came back. (A correctness bound, not a measurement.)
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	b, err := w.agg.Answer(ctx, search(day), testEncoding)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("search took %v, past the caller's deadline of 500ms", took)
	}
	var res aggregator.Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	got := status(res)
	for _, name := range registry.Names() {
		want := "ok"
		if name == "duffel" { // the one black-holed above
			want = "timeout"
		}
		if got[name] != want {
			t.Errorf("statuses = %v, want %s %s (duffel timeout and the others ok)", got, name, want)
		}
	}
}
