package aggregator

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/idempotency"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/telemetry"
	"github.com/reservd/reservd/internal/trips"
)

// TripService accepts trips and works them off in the background.
type TripService struct {
	store store.Trips
	agg   *Aggregator
	// Lease is how long a worker owns a trip between saves.
	Lease time.Duration
	// GiveUp fails a trip that could not move for this long since it was created.
	GiveUp time.Duration
	// OnCanceled is called with each trip this service cancels (nil: nothing
	// beyond the trip itself records it yet).
	OnCanceled OnCanceled
	now        func() time.Time
}

// NewTripService returns a trip service over st and agg.
func NewTripService(st store.Trips, agg *Aggregator) *TripService {
	return &TripService{store: st, agg: agg, Lease: 30 * time.Second, GiveUp: 15 * time.Minute, now: time.Now}
}

// Create validates and stores a trip for p; a worker books it.
func (s *TripService) Create(ctx context.Context, p apikey.Principal, req trips.Request, done *idempotency.Completion[trips.Trip]) (trips.Trip, error) {
	if err := req.Validate(s.now()); err != nil {
		return trips.Trip{}, err
	}
	return s.store.TripCreate(ctx, trips.Trip{ID: trips.NewID(), KeyID: p.KeyID, Status: trips.Pending, Request: req,
		TraceParent: telemetry.TraceParent(ctx)}, done)
}

// Get returns p's trip.
func (s *TripService) Get(ctx context.Context, p apikey.Principal, id string) (trips.Trip, error) {
	if !trips.ValidID(id) {
		return trips.Trip{}, trips.ErrNotFound
	}
	return s.store.TripGet(ctx, p.KeyID, id)
}

// Work claims pending trips and drives each as far as it goes.
func (s *TripService) Work(ctx context.Context) (int, error) {
	claimed, err := s.store.TripClaim(ctx, s.Lease, 10)
	if err != nil {
		return 0, err
	}
	// Cancellations a crash left written down resume here too.
	n, err := s.ResumeCancels(ctx)
	if err != nil {
		return n, err
	}
	for _, t := range claimed {
		save := func(ctx context.Context, t trips.Trip) error {
			return s.store.TripSave(context.WithoutCancel(ctx), t, s.Lease)
		}
		done, err := s.work(ctx, t, save)
		if err != nil {
			return n, err
		}
		if done {
			n++
		}
	}
	return n, nil
}

// work drives one claimed trip in its own span: a child of the request that
// created the trip (so the booking shows in that request's trace, however
// much later it runs) linked to the worker's pass, or without a request's
// trace context, a child of the pass.
func (s *TripService) work(ctx context.Context, t trips.Trip, save Save) (done bool, err error) {
	opts := []trace.SpanStartOption{trace.WithAttributes(attribute.String("reservd.trip.id", t.ID))}
	parent := telemetry.ContextWithTraceParent(ctx, t.TraceParent)
	if !trace.SpanContextFromContext(parent).Equal(trace.SpanContextFromContext(ctx)) {
		opts = append(opts, trace.WithLinks(trace.LinkFromContext(ctx)))
	}
	spanCtx, span := s.agg.tracer.Start(parent, "trip book", opts...)
	defer span.End()
	// Stop before the lease runs out, so that no other worker takes the
	// trip while this one still calls providers for it.
	tripCtx, cancel := context.WithTimeout(spanCtx, s.Lease*9/10)
	t, err = s.agg.Book(tripCtx, t, save)
	cancel()
	switch {
	case err == nil:
		span.SetAttributes(attribute.String("reservd.trip.status", string(t.Status)))
		return true, nil
	case errors.Is(err, ErrRetryLater) && t.InFlight == nil && s.now().Sub(t.CreatedAt) > s.GiveUp:
		// Nothing is in flight, so failing cannot hide an order.
		if _, err := s.agg.fail(spanCtx, t, save); err != nil {
			span.SetStatus(codes.Error, err.Error())
			return false, err
		}
		span.SetAttributes(attribute.String("reservd.trip.status", string(trips.Failed)))
		return true, nil
	default:
		span.RecordError(err)
		s.agg.log.WarnContext(spanCtx, "trip will be retried", "trip_id", t.ID, "error", err.Error())
		return false, nil
	}
}
