package aggregator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/trips"
)

// ErrCancelInProgress reports a cancellation another request is making
// right now whose outcome is not known yet: ask again shortly.
var ErrCancelInProgress = errors.New("the trip's cancellation is in progress")

// OnCanceled, when set, is called with every trip this service cancels:
// the hook for recording trip.canceled once events exist.
type OnCanceled func(ctx context.Context, t trips.Trip)

// Cancel cancels p's confirmed trip at its provider. It is idempotent: a
// canceled trip is returned as it is. The cancellation is written down
// (TripUpdate) before the provider is asked, and a cancellation found
// written down is first settled by looking the order up (CancelStatus), so
// a lost answer, a crash or two racing requests never cancel one order
// twice. trips.ErrNotCancelable when the trip is not confirmed or the
// provider refuses.
func (s *TripService) Cancel(ctx context.Context, p apikey.Principal, id string) (trips.Trip, error) {
	t, err := s.Get(ctx, p, id)
	if err != nil {
		return trips.Trip{}, err
	}
	deadline := s.now().Add(s.cancelLease())
	for {
		switch {
		case t.Status == trips.Canceled:
			return t, nil
		case t.Status != trips.Confirmed:
			return t, fmt.Errorf("%w: the trip is %s", trips.ErrNotCancelable, t.Status)
		}
		if t.Cancel != nil {
			// Written down by an earlier call that crashed or lost its
			// answer, or by one running now: settle it by a lookup.
			done, out, err := s.settleCancel(ctx, t)
			if err != nil || done {
				return out, err
			}
			if s.now().Sub(t.Cancel.StartedAt) < s.cancelLease() {
				// Its owner may still be calling the provider: wait for it.
				if s.now().After(deadline) {
					return t, ErrCancelInProgress
				}
				select {
				case <-ctx.Done():
					return t, ctx.Err()
				case <-time.After(100 * time.Millisecond):
				}
				if t, err = s.store.TripGet(ctx, p.KeyID, id); err != nil {
					return trips.Trip{}, err
				}
				continue
			}
			// Its owner is gone and the order is not canceled: its call
			// never took effect, so this one may make it.
		}
		next := t
		next.Cancel = &trips.Cancellation{StartedAt: s.now().UTC()}
		owned, err := s.store.TripUpdate(ctx, next, trips.Confirmed)
		if errors.Is(err, store.ErrLeaseLost) {
			if t, err = s.store.TripGet(ctx, p.KeyID, id); err != nil {
				return trips.Trip{}, err
			}
			continue // someone else moved first: look again
		}
		if err != nil {
			return trips.Trip{}, err
		}
		return s.cancelAt(ctx, owned)
	}
}

// cancelLease bounds one cancel call and how long a cancellation written
// down belongs to the request that wrote it.
func (s *TripService) cancelLease() time.Duration {
	return s.agg.cfg.BookTimeout + 2*time.Second
}

// cancelAt makes the provider call for a cancellation this request owns.
func (s *TripService) cancelAt(ctx context.Context, t trips.Trip) (trips.Trip, error) {
	g := s.agg.source(t.Provider)
	if g == nil {
		return t, fmt.Errorf("provider %s of trip %s is not configured", t.Provider, t.ID)
	}
	var res provider.Cancellation
	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.agg.cfg.BookTimeout)
	callCtx, call := s.agg.startCall(callCtx, g.Name(), "cancel")
	err := g.call(callCtx, func(ctx context.Context) error {
		var err error
		res, err = g.Cancel(ctx, t.OrderID)
		return err
	})
	call.end(err)
	cancel()
	switch {
	case err == nil:
		return s.finishCancel(ctx, t, res)
	case errors.Is(err, provider.ErrNotCancelable), errors.Is(err, errCircuitOpen), errors.As(err, new(*provider.RateLimitedError)):
		// Definite: the provider refused, or was never asked.
		t.Cancel = nil
		if _, uerr := s.store.TripUpdate(context.WithoutCancel(ctx), t, trips.Confirmed); uerr != nil {
			return t, uerr
		}
		if errors.Is(err, provider.ErrNotCancelable) {
			return t, fmt.Errorf("%w: %v", trips.ErrNotCancelable, err)
		}
		return t, fmt.Errorf("%w: %v", ErrCancelInProgress, err)
	}
	// The outcome is unknown: look the order up, never cancel again blind.
	s.agg.log.WarnContext(ctx, "cancellation outcome unknown; looking the order up", "provider", g.Name(), "trip_id", t.ID, "error", err.Error())
	done, out, serr := s.settleCancel(ctx, t)
	if serr != nil || done {
		return out, serr
	}
	// Not canceled: the call did not take effect. Leave the cancellation
	// written down; the next request past its lease makes it again.
	return t, fmt.Errorf("%w: %v", ErrCancelInProgress, err)
}

// settleCancel looks the order of a written-down cancellation up; done when
// the provider has canceled it (the trip is then recorded canceled).
func (s *TripService) settleCancel(ctx context.Context, t trips.Trip) (done bool, out trips.Trip, err error) {
	g := s.agg.source(t.Provider)
	if g == nil {
		return false, t, fmt.Errorf("provider %s of trip %s is not configured", t.Provider, t.ID)
	}
	var res provider.Cancellation
	lookCtx, call := s.agg.startCall(context.WithoutCancel(ctx), g.Name(), "cancel_status")
	lookCtx, cancel := context.WithTimeout(lookCtx, s.agg.cfg.BookTimeout)
	err = g.retrying(lookCtx, func(ctx context.Context) error {
		var err error
		res, err = g.CancelStatus(ctx, t.OrderID)
		return err
	})
	cancel()
	call.end(err)
	if err != nil {
		return false, t, fmt.Errorf("%w: look up order %s at %s: %v", ErrCancelInProgress, t.OrderID, t.Provider, err)
	}
	if !res.Canceled {
		return false, t, nil
	}
	out, err = s.finishCancel(ctx, t, res)
	return err == nil, out, err
}

// finishCancel records the trip canceled with the provider's refund.
func (s *TripService) finishCancel(ctx context.Context, t trips.Trip, res provider.Cancellation) (trips.Trip, error) {
	t.Status, t.Cancel, t.Refund = trips.Canceled, nil, res.Refund
	out, err := s.store.TripUpdate(context.WithoutCancel(ctx), t, trips.Confirmed)
	if errors.Is(err, store.ErrLeaseLost) {
		// Another request recorded it meanwhile (the same cancellation,
		// settled by its lookup): answer with what is stored.
		return s.store.TripGet(ctx, t.KeyID, t.ID)
	}
	if err != nil {
		return t, err
	}
	if s.OnCanceled != nil {
		s.OnCanceled(ctx, out)
	}
	return out, nil
}

// ResumeCancels settles the cancellations a crash left written down, as the
// next cancel request would: each one older than the cancellation lease is
// looked up first, recorded canceled when it took effect, and otherwise
// made (once: of two replicas resuming it, TripUpdate lets one through).
// It returns how many trips it canceled.
func (s *TripService) ResumeCancels(ctx context.Context) (int, error) {
	written, err := s.store.TripCancelsWritten(ctx, 10)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range written {
		if s.now().Sub(t.Cancel.StartedAt) < s.cancelLease() {
			continue // its owner may still be calling the provider
		}
		done, _, err := s.settleCancel(ctx, t)
		if err == nil && !done {
			next := t
			next.Cancel = &trips.Cancellation{StartedAt: s.now().UTC()}
			var owned trips.Trip
			if owned, err = s.store.TripUpdate(ctx, next, trips.Confirmed); err == nil {
				var out trips.Trip
				out, err = s.cancelAt(ctx, owned)
				done = err == nil && out.Status == trips.Canceled
			}
		}
		if done {
			n++
		}
		if err != nil && !errors.Is(err, store.ErrLeaseLost) {
			s.agg.log.WarnContext(ctx, "cancellation will be resumed later", "trip_id", t.ID, "error", err.Error())
		}
	}
	return n, nil
}
