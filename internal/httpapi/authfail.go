package httpapi

import (
	"context"
	"net"
	"net/http"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/reservd/reservd/internal/ratelimit"
)

// authFailures limits the bad API keys one client address may present: a
// bad key is never rate-limited by key (it has none) and each costs a
// lookup, so past AUTH_FAILURE_BURST failures (then AUTH_FAILURE_LIMIT a
// second) the address is refused with 429 before its key is looked up,
// until its bucket has a token again. A key this replica already knows
// good is still served. The limit is per replica and per TCP peer: behind
// a proxy, every client shares the proxy's address.
type authFailures struct {
	lim     *ratelimit.Memory
	now     func() time.Time
	blocked *lru.Cache[string, time.Time] // address → refused until
}

func newAuthFailures(perSecond float64, burst int) *authFailures {
	if perSecond <= 0 {
		return nil
	}
	blocked, _ := lru.New[string, time.Time](keyCacheSize) // only fails for a size <= 0
	return &authFailures{lim: ratelimit.NewMemory(perSecond, max(burst, 1)), now: time.Now, blocked: blocked}
}

// check refuses an address that has run out of failures.
func (a *authFailures) check(addr string) error {
	if a == nil {
		return nil
	}
	if until, ok := a.blocked.Get(addr); ok {
		if wait := until.Sub(a.now()); wait > 0 {
			return tooManyFailures(wait)
		}
		a.blocked.Remove(addr)
	}
	return nil
}

// failed spends one of addr's failures; past the last it refuses addr.
func (a *authFailures) failed(ctx context.Context, addr string) error {
	if a == nil {
		return nil
	}
	ok, retry, _ := a.lim.Allow(ctx, addr) // the in-process limiter never fails
	if ok {
		return nil
	}
	a.blocked.Add(addr, a.now().Add(retry))
	return tooManyFailures(retry)
}

func tooManyFailures(wait time.Duration) error {
	return &Error{Status: http.StatusTooManyRequests, Code: "rate_limited",
		Message:    "Too many requests with an invalid API key from this address; slow down",
		RetryAfter: max(1, int((wait+time.Second-1)/time.Second))}
}

// clientAddr is the request's TCP peer address, without its port.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
