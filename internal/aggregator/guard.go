package aggregator

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/sethvargo/go-retry"
	"github.com/sony/gobreaker/v2"
	"golang.org/x/sync/semaphore"

	"github.com/reservd/reservd/internal/provider"
)

// guarded wraps one provider with what every call to it needs: a deadline,
// a concurrency limit, a circuit breaker, and retries with exponential
// backoff and jitter (honouring Retry-After) for the calls that are safe to
// repeat.
type guarded struct {
	provider.Provider
	simulated bool
	cfg       Config
	breaker   *gobreaker.CircuitBreaker[any]
	slots     *semaphore.Weighted
	onState   func(name string, to gobreaker.State)
}

// errCircuitOpen is returned without calling the provider when its circuit is open.
var errCircuitOpen = errors.New("circuit open")

func newGuarded(p provider.Provider, simulated bool, cfg Config, onState func(string, gobreaker.State)) *guarded {
	g := &guarded{Provider: p, simulated: simulated, cfg: cfg, slots: semaphore.NewWeighted(int64(cfg.MaxConcurrent)), onState: onState}
	g.breaker = gobreaker.NewCircuitBreaker[any](gobreaker.Settings{
		Name:        p.Name(),
		MaxRequests: 1,
		Interval:    cfg.BreakerWindow,
		Timeout:     cfg.BreakerOpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return int64(c.ConsecutiveFailures) >= int64(cfg.BreakerFailures)
		},
		// A provider that answers "sold out" or "price changed" is healthy.
		IsSuccessful: func(err error) bool { return err == nil || !transient(err) },
		OnStateChange: func(name string, _, to gobreaker.State) {
			if g.onState != nil {
				g.onState(name, to)
			}
		},
	})
	return g
}

// transient reports whether err says nothing about the request itself: the
// provider or the network failed, and the same call may succeed later.
func transient(err error) bool {
	var httpErr *provider.HTTPError
	var rl *provider.RateLimitedError
	var netErr net.Error
	switch {
	case err == nil:
		return false
	case errors.Is(err, provider.ErrUnavailable), errors.Is(err, provider.ErrNotFound), errors.Is(err, provider.ErrRejected):
		return false
	case errors.As(err, new(*provider.PriceChangedError)):
		return false
	case errors.As(err, &rl):
		return true
	case errors.As(err, &httpErr):
		return httpErr.Temporary()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr):
		return true
	}
	return true
}

// call runs f once through the breaker and the concurrency limit, within
// the per-call deadline.
func (g *guarded) call(ctx context.Context, f func(ctx context.Context) error) error {
	if g.breaker.State() == gobreaker.StateOpen {
		return errCircuitOpen
	}
	if err := g.slots.Acquire(ctx, 1); err != nil {
		return err
	}
	defer g.slots.Release(1)
	ctx, cancel := context.WithTimeout(ctx, g.cfg.CallTimeout)
	defer cancel()
	_, err := g.breaker.Execute(func() (any, error) { return nil, f(ctx) })
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return errCircuitOpen
	}
	return err
}

// retrying runs f through call, again after transient failures, with
// exponential backoff and jitter, waiting at least a 429's Retry-After, as
// long as ctx allows. Only for calls that are safe to repeat.
func (g *guarded) retrying(ctx context.Context, f func(ctx context.Context) error) error {
	backoff := retry.WithMaxRetries(uint64(max(g.cfg.Retries, 0)), retry.WithJitterPercent(30, retry.NewExponential(g.cfg.RetryBase)))
	var called error // the last failure of a call that reached the provider
	for {
		err := g.call(ctx, f)
		if errors.Is(err, errCircuitOpen) && called != nil {
			// The breaker opened on our own failures: the provider was
			// called, and circuit_open means it was not. Report what the
			// call itself ended in.
			return called
		}
		if err == nil || errors.Is(err, errCircuitOpen) || !transient(err) || ctx.Err() != nil {
			return err
		}
		called = err
		wait, stop := backoff.Next()
		if stop {
			return err
		}
		var rl *provider.RateLimitedError
		if errors.As(err, &rl) && rl.RetryAfter > wait {
			wait = rl.RetryAfter
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return err // no time left to wait for
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}
