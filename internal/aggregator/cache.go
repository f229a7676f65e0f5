package aggregator

import (
	"context"
	"fmt"
	"time"

	"github.com/reservd/reservd/internal/provider"
)

// The cache keeps two entries per search, both shared by every replica that
// shares the cache (Redis), both for CacheTTL from the search:
//
//   - the search, offers and their Sources (the providers' own offers,
//     which booking needs back), in the form of entry.go, read by Search
//     and so by the trip worker:
//     a trip books the offers its customer was shown, without searching
//     again. It is the larger entry and is only decoded to book;
//   - the answer, as the API serves it (see Answer): a cache hit of
//     GET /offers copies these bytes out and decodes nothing.
//
// Their keys carry a version: replicas of different versions (a rolling
// deploy) never read each other's entries, whose form may differ.
const cacheVersion = "v4"

// searchEntry is the search as its cache entry keeps it.
type searchEntry struct {
	At     time.Time // when the providers answered: the answer expires with the search
	Result Result
}

func searchKey(r provider.SearchRequest) string {
	return "offers:" + cacheVersion + ":search:" + searchID(r)
}

func answerKey(enc Encoding, r provider.SearchRequest) string {
	return "offers:" + cacheVersion + ":answer:" + enc.Name + ":" + searchID(r)
}

func searchID(r provider.SearchRequest) string {
	ret := "-"
	if r.RoundTrip() {
		ret = r.ReturnDate.Format(time.DateOnly)
	}
	return fmt.Sprintf("%s:%s:%s:%s:%d:%d:%d:%v:%s", r.Origin, r.Destination, r.DepartureDate.Format(time.DateOnly), ret,
		r.Adults, r.Children, r.Infants, r.Ages, r.Currency)
}

// cachedSearch returns the stored search identical to req, and when it was made.
func (a *Aggregator) cachedSearch(ctx context.Context, req provider.SearchRequest) (Result, time.Time, bool) {
	if a.cache == nil {
		return Result{}, time.Time{}, false
	}
	b, ok, err := a.cache.Get(ctx, searchKey(req))
	if err != nil || !ok {
		return Result{}, time.Time{}, false
	}
	// Not JSON: the Sources' raw provider bytes stay bytes, not base64 (entry.go).
	e, err := decodeSearchEntry(b)
	if err != nil {
		a.log.WarnContext(ctx, "cached search dropped", "error", err.Error())
		return Result{}, time.Time{}, false
	}
	return e.Result, e.At, true
}

// storeSearch keeps a successful search for CacheTTL.
func (a *Aggregator) storeSearch(ctx context.Context, req provider.SearchRequest, res Result) {
	if a.cache == nil || a.cfg.CacheTTL <= 0 {
		return
	}
	b, err := encodeSearchEntry(searchEntry{At: timeNow().UTC(), Result: res})
	if err != nil {
		a.log.WarnContext(ctx, "search not cached", "error", err.Error())
		return
	}
	a.cache.Set(context.WithoutCancel(ctx), searchKey(req), b, a.cfg.CacheTTL) // #nosec G104 -- a cache that cannot store costs a later provider search, never a wrong answer (package cache)
}

// An Encoding renders a search's result as the bytes of an answer. Its Name
// is part of the answer's cache key: give the encoding a new name whenever
// its bytes change form.
type Encoding struct {
	Name   string
	Encode func(Result) ([]byte, error)
}

// Answer returns the answer to a search, as enc renders it. An identical
// search within CacheTTL gets the same bytes, on every replica sharing the
// cache, and costs one cache read: the cache keeps the rendered answer, so
// a hit decodes and encodes nothing. On a miss the answer is rendered from
// the stored search when there is one (a trip searched), else from a new
// search, which is stored for Search. When every provider failed, the error
// is a *NoProvidersError; failed searches are not cached.
//
// The search ends by ctx's deadline or SearchBudget, whichever comes first;
// a caller that has already spent time on the request (reading,
// authenticating it) passes a deadline counted from its arrival.
func (a *Aggregator) Answer(ctx context.Context, req provider.SearchRequest, enc Encoding) ([]byte, error) {
	key := answerKey(enc, req)
	if a.cache != nil {
		if b, ok, err := a.cache.Get(ctx, key); err == nil && ok {
			a.m.cache.WithLabelValues("hit").Inc()
			return b, nil
		}
	}
	res, at, ok := a.cachedSearch(ctx, req)
	if ok {
		a.m.cache.WithLabelValues("hit").Inc()
	} else {
		if a.cache != nil {
			a.m.cache.WithLabelValues("miss").Inc()
		}
		var err error
		at = timeNow()
		if res, err = a.search(ctx, req); err != nil {
			if err == ErrNoProviders {
				return nil, &NoProvidersError{Providers: res.Providers}
			}
			return nil, err
		}
	}
	b, err := enc.Encode(res)
	if err != nil {
		return nil, fmt.Errorf("encode offers: %w", err)
	}
	if ttl := a.cfg.CacheTTL - timeNow().Sub(at); a.cache != nil && ttl > 0 {
		a.cache.Set(context.WithoutCancel(ctx), key, b, ttl) // #nosec G104 -- a cache that cannot store costs a later provider search, never a wrong answer (package cache)
	}
	return b, nil
}
