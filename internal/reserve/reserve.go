// Package reserve is the service that holds, books, releases and cancels
// seats. The store's conditional transactions decide who owns a seat; this
// package puts the Redis fast path in front of them, drives the phased
// payment (intent → charge → booking), and recovers the payments and refunds
// a crashed request left behind.
package reserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/cache"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/idempotency"
	"github.com/reservd/reservd/internal/payment"
	"github.com/reservd/reservd/internal/seatlock"
	"github.com/reservd/reservd/internal/store"
)

// Config tunes the service.
type Config struct {
	HoldTTL         time.Duration // HOLD_TTL
	HoldMaxLifetime time.Duration // HOLD_MAX_LIFETIME
	HoldMaxSeats    int           // HOLD_MAX_SEATS
	// HoldLimits caps one customer's live holds (HOLD_MAX_SEATS_PER_FLIGHT,
	// HOLD_MAX_ACTIVE; 0: no cap).
	HoldLimits holds.Limits
	// PaymentLease is how long a booking request owns its payment before
	// recovery may take it over.
	PaymentLease time.Duration
	// PaymentPin is how long a payment keeps its hold's seats, past expires_at if need be.
	PaymentPin time.Duration
	// ReadCacheTTL bounds how stale a cached flight or seat map can be
	// (0: reads go to the database every time). Changes made through the
	// service invalidate at once; the TTL covers the one change nobody
	// announces, a hold lapsing at its expires_at, and writes made by other
	// replicas.
	ReadCacheTTL time.Duration
	// Batch groups concurrent holds into one transaction (HOLD_BATCH).
	Batch BatchConfig
}

// DefaultConfig has the documented defaults (README.md, "Configuration").
func DefaultConfig() Config {
	return Config{
		HoldTTL: 10 * time.Minute, HoldMaxLifetime: 30 * time.Minute, HoldMaxSeats: 10,
		HoldLimits:   holds.Limits{SeatsPerFlight: 10, Active: 20},
		PaymentLease: 30 * time.Second, PaymentPin: 15 * time.Minute, ReadCacheTTL: time.Second,
		Batch: DefaultBatch(),
	}
}

// ErrPaymentUnavailable reports a gateway that did not answer; the payment
// stays pending and recovery finishes it.
var ErrPaymentUnavailable = errors.New("payment gateway unavailable")

// Service holds, books, releases and cancels seats.
type Service struct {
	store store.Store
	locks seatlock.Locker
	// reads is the shared read cache (Redis when configured).
	reads   cache.Cache
	gateway payment.Gateway
	log     *slog.Logger
	cfg     Config
	m       *metrics
	// near caches hot reads in this process in front of the shared cache.
	near  *cache.Near
	loads singleflight.Group
	batch *batcher // nil when batching is off
}

// New returns a Service. locks is the fast path and read cache
// (seatlock.NewMemory in process, seatlock.NewRedis with Redis); reads is
// the cache of flights and seat maps (cache.NewMemory, cache.NewRedis); reg
// receives the service's metrics.
func New(st store.Store, locks seatlock.Locker, reads cache.Cache, gw payment.Gateway, log *slog.Logger, reg prometheus.Registerer, cfg Config) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := &Service{store: st, locks: locks, reads: reads, gateway: gw, log: log, cfg: cfg, m: newMetrics(reg), near: cache.NewNear(time.Now)}
	if cfg.Batch.Enabled {
		s.batch = newBatcher(s, cfg.Batch, reg)
	}
	return s
}

// Config returns the service's configuration.
func (s *Service) Config() Config { return s.cfg }

// Hold grants the requested seats to p, all or none.
func (s *Service) Hold(ctx context.Context, p apikey.Principal, req holds.Request, done *idempotency.Completion[holds.Hold]) (holds.Hold, error) {
	if err := req.Validate(s.cfg.HoldMaxSeats); err != nil {
		return holds.Hold{}, err
	}
	nh := store.HoldCreateParams{ID: holds.NewID(), KeyID: p.KeyID, Request: req, TTL: s.cfg.HoldTTL, MaxLifetime: s.cfg.HoldMaxLifetime,
		Limits: s.cfg.HoldLimits}
	if done != nil && done.Claim {
		// The transaction claims the idempotency key: a twin of this request
		// gets the same id, so the fast path lets it through to the database,
		// which finds the hold (or the key) and says so.
		nh.ID = done.HoldID()
	}
	if s.batch != nil {
		return s.batch.hold(ctx, nh, done)
	}
	fast := false
	if !req.ByQuantity() {
		taken, err := s.locks.Acquire(ctx, req.FlightID, req.Seats, nh.ID, s.cfg.HoldTTL)
		switch {
		case err != nil:
			s.fallback(ctx, "acquire", err)
		case len(taken) > 0:
			// Obviously taken: refuse without a database round trip.
			s.m.fastPath.WithLabelValues("hit").Inc()
			s.m.holds.WithLabelValues("conflict").Inc()
			return holds.Hold{}, &holds.SeatsUnavailableError{Seats: taken}
		default:
			s.m.fastPath.WithLabelValues("miss").Inc()
			fast = true
		}
	}
	h, err := s.store.HoldCreate(ctx, nh, done)
	if err != nil {
		if !req.ByQuantity() {
			// Whether or not Acquire's answer arrived, its keys may exist.
			// A keyed hold's twin (idempotency.ErrKeyTaken) shares its
			// owner with the hold that exists, so this takes that hold's
			// keys too: the fast path then misses those seats and the
			// database refuses them. Putting the keys back would race with
			// that hold's release and could leave a key on a free seat.
			s.release(ctx, req.FlightID, req.Seats, nh.ID)
		}

		var unavailable *holds.SeatsUnavailableError
		if errors.As(err, &unavailable) || errors.Is(err, holds.ErrNotEnoughSeats) {
			s.m.holds.WithLabelValues("conflict").Inc()
		}
		return holds.Hold{}, err
	}
	if !fast {
		// Teach the fast path about seats the database picked.
		if _, err := s.locks.Acquire(ctx, h.FlightID, h.Seats, h.ID, time.Until(h.ExpiresAt)); err != nil {
			s.fallback(ctx, "acquire", err)
		}
	}
	s.invalidate(ctx, h.FlightID)
	s.m.holds.WithLabelValues("created").Inc()
	return h, nil
}

// GetHold returns p's hold.
func (s *Service) GetHold(ctx context.Context, p apikey.Principal, id string) (holds.Hold, error) {
	if !holds.ValidID(id) {
		return holds.Hold{}, holds.ErrNotFound
	}
	return s.store.HoldGet(ctx, p.KeyID, id)
}

// Extend moves p's hold's expiry to now + HOLD_TTL, within its lifetime.
func (s *Service) Extend(ctx context.Context, p apikey.Principal, id string, done *idempotency.Completion[holds.Hold]) (holds.Hold, error) {
	if !holds.ValidID(id) {
		return holds.Hold{}, holds.ErrNotFound
	}
	h, err := s.store.HoldExtend(ctx, store.HoldExtendParams{KeyID: p.KeyID, ID: id, TTL: s.cfg.HoldTTL, Done: done})
	if err != nil {
		return holds.Hold{}, err
	}
	if err := s.locks.Extend(ctx, h.FlightID, h.Seats, h.ID, time.Until(h.ExpiresAt)); err != nil {
		s.fallback(ctx, "extend", err)
	}
	return h, nil
}

// Release frees p's hold.
func (s *Service) Release(ctx context.Context, p apikey.Principal, id string, done *idempotency.Completion[holds.Hold]) (holds.Hold, error) {
	if !holds.ValidID(id) {
		return holds.Hold{}, holds.ErrNotFound
	}
	h, err := s.store.HoldRelease(ctx, store.HoldReleaseParams{KeyID: p.KeyID, ID: id, Done: done})
	if err != nil {
		return holds.Hold{}, err
	}
	s.release(ctx, h.FlightID, h.Seats, h.ID)
	s.invalidate(ctx, h.FlightID)
	s.m.holds.WithLabelValues("released").Inc()
	return h, nil
}

// Book pays for p's hold with token and converts it into a booking.
func (s *Service) Book(ctx context.Context, p apikey.Principal, holdID, token string, done *idempotency.Completion[bookings.Booking]) (bookings.Booking, error) {
	if !holds.ValidID(holdID) {
		return bookings.Booking{}, holds.ErrNotFound
	}
	pay, err := s.store.PaymentBegin(ctx, store.PaymentBeginParams{
		KeyID: p.KeyID, HoldID: holdID, Token: token, BookingID: bookings.NewID(),
		Lease: s.cfg.PaymentLease, Pin: s.cfg.PaymentPin,
	})
	if err != nil {
		return bookings.Booking{}, err
	}
	return s.drive(ctx, pay, done)
}

// drive charges a pending payment and records its outcome. It is what a
// booking request does after recording the intent, and what recovery does
// for a payment whose request died.
func (s *Service) drive(ctx context.Context, pay store.Payment, done *idempotency.Completion[bookings.Booking]) (bookings.Booking, error) {
	receipt, err := s.gateway.Charge(ctx, payment.Charge{
		IdempotencyKey: pay.ChargeKey(), Amount: pay.Amount, Token: pay.Token,
		Description: "reservd hold " + pay.HoldID,
	})
	var declined *payment.DeclinedError
	switch {
	case errors.As(err, &declined):
		if err := s.store.PaymentDecline(ctx, pay); err != nil {
			return bookings.Booking{}, err
		}
		s.m.payments.WithLabelValues("declined").Inc()
		return bookings.Booking{}, fmt.Errorf("%w: %s", bookings.ErrPaymentDeclined, declined.Reason)
	case err != nil:
		// The outcome is unknown; the payment stays pending, and a retry of
		// the request (or recovery) charges again with the same idempotency key.
		if err := s.store.PaymentRelease(context.WithoutCancel(ctx), pay); err != nil {
			s.log.WarnContext(ctx, "release payment lease", "hold_id", pay.HoldID, "error", err.Error())
		}
		s.m.payments.WithLabelValues("unavailable").Inc()
		return bookings.Booking{}, fmt.Errorf("%w: %v", ErrPaymentUnavailable, err)
	}
	b, err := s.store.BookingComplete(ctx, store.BookingCompleteParams{Payment: pay, ChargeID: receipt.ID, Done: done})
	if errors.Is(err, holds.ErrExpired) {
		s.m.payments.WithLabelValues("refund_seats_lost").Inc()
		s.refund(ctx, pay.HoldID)
		return bookings.Booking{}, err
	}
	if err != nil {
		return bookings.Booking{}, err
	}
	// The database has spoken; the fast path must hear it even if the
	// client has gone (a stale key would refuse a seat that is free).
	if err := s.locks.Transfer(context.WithoutCancel(ctx), b.FlightID, b.Seats, b.HoldID, b.ID, bookedTTL); err != nil {
		s.fallback(ctx, "transfer", err)
	}
	s.invalidate(ctx, b.FlightID)
	s.m.payments.WithLabelValues("charged").Inc()
	s.m.holds.WithLabelValues("booked").Inc()
	s.m.bookings.WithLabelValues("confirmed").Inc()
	return b, nil
}

// bookedTTL bounds how long the fast path remembers a booked seat; the
// database remembers it for good.
const bookedTTL = 24 * time.Hour

// GetBooking returns p's booking.
func (s *Service) GetBooking(ctx context.Context, p apikey.Principal, id string) (bookings.Booking, error) {
	if !bookings.ValidID(id) {
		return bookings.Booking{}, bookings.ErrNotFound
	}
	return s.store.BookingGet(ctx, p.KeyID, id)
}

// ListBookings returns p's bookings, newest first.
func (s *Service) ListBookings(ctx context.Context, p apikey.Principal, after *store.BookingCursor, limit int) ([]bookings.Booking, error) {
	return s.store.BookingList(ctx, store.BookingListParams{KeyID: p.KeyID, After: after, Limit: limit})
}

// Cancel cancels p's booking, frees its seats and refunds it.
func (s *Service) Cancel(ctx context.Context, p apikey.Principal, id string, done *idempotency.Completion[bookings.Booking]) (bookings.Booking, error) {
	if !bookings.ValidID(id) {
		return bookings.Booking{}, bookings.ErrNotFound
	}
	b, err := s.store.BookingCancel(ctx, store.BookingCancelParams{KeyID: p.KeyID, ID: id, Done: done})
	if err != nil {
		return bookings.Booking{}, err
	}
	// The seats' fast-path keys belong to the booking once the booking
	// request has handed them over (Transfer), to its hold before. That
	// request may still be running (its client gave up, or recovery books
	// it), so free the hold's keys first, then the booking's: a hand-over
	// before, between or after the two finds nothing to take over.
	s.release(ctx, b.FlightID, b.Seats, b.HoldID)
	s.release(ctx, b.FlightID, b.Seats, b.ID)
	s.invalidate(ctx, b.FlightID)
	s.refund(ctx, b.HoldID)
	s.m.bookings.WithLabelValues("canceled").Inc()
	return b, nil
}

// refund gives back a refunding payment's charge now if it can; recovery
// retries whatever fails here.
func (s *Service) refund(ctx context.Context, holdID string) {
	pay, err := s.store.PaymentGet(ctx, holdID)
	if err != nil || pay.State != store.PaymentRefunding {
		return
	}
	if err := s.refundPayment(ctx, pay); err != nil {
		s.log.WarnContext(ctx, "refund deferred to recovery", "hold_id", holdID, "error", err.Error())
	}
}

func (s *Service) refundPayment(ctx context.Context, pay store.Payment) error {
	receipt, err := s.gateway.Refund(ctx, payment.Refund{IdempotencyKey: pay.RefundKey(), ChargeID: pay.ChargeID, Amount: pay.Amount})
	if err != nil {
		return fmt.Errorf("refund %s: %w", pay.HoldID, err)
	}
	if err := s.store.PaymentMarkRefunded(ctx, pay.HoldID, receipt.ID); err != nil {
		return err
	}
	s.m.payments.WithLabelValues("refunded").Inc()
	return nil
}

// release clears fast-path keys; a failure only costs the fast path.
// It runs even when the request's client has gone: the database change it
// follows is committed, and a stale key would refuse a free seat until it
// expired.
func (s *Service) release(ctx context.Context, flightID int64, seats []string, owner string) {
	if err := s.locks.Release(context.WithoutCancel(ctx), flightID, seats, owner); err != nil {
		s.fallback(ctx, "release", err)
	}
}

// fallback records that the fast path failed and the database alone decided.
func (s *Service) fallback(ctx context.Context, op string, err error) {
	s.m.fastPath.WithLabelValues("error").Inc()
	s.log.WarnContext(ctx, "seat fast path unavailable; using the database alone", "op", op, "error", err.Error())
}

// FlightCacheKey and SeatsCacheKey name the cached reads of a flight.
func FlightCacheKey(flightID int64) string { return fmt.Sprintf("flight:%d", flightID) }

// SeatsCacheKey names a flight's cached seat map.
func SeatsCacheKey(flightID int64) string { return fmt.Sprintf("seats:%d", flightID) }

// Cached returns the cached value of key, or loads, caches and returns it.
// Reads go to this process's near cache first, then to the shared cache
// (Redis when configured), then to load; concurrent misses of one key share
// one load. A cache that fails only costs the load.
func (s *Service) Cached(ctx context.Context, key string, load func() ([]byte, error)) ([]byte, error) {
	if s.cfg.ReadCacheTTL <= 0 {
		return load()
	}
	if b, ok, _ := s.near.Get(ctx, key); ok {
		s.m.cache.WithLabelValues("hit").Inc()
		return b, nil
	}
	v, err, _ := s.loads.Do(key, func() (any, error) {
		if b, ok, err := s.reads.Get(ctx, key); err == nil && ok {
			s.m.cache.WithLabelValues("hit").Inc()
			s.near.Set(ctx, key, b, s.cfg.ReadCacheTTL) // #nosec G104 -- cache.Near is an in-process map whose Set never fails
			return b, nil
		} else if err != nil {
			s.fallback(ctx, "cache get", err)
		}
		s.m.cache.WithLabelValues("miss").Inc()
		b, err := load()
		if err != nil {
			return nil, err
		}
		if err := s.reads.Set(ctx, key, b, s.cfg.ReadCacheTTL); err != nil {
			s.fallback(ctx, "cache set", err)
		}
		s.near.Set(ctx, key, b, s.cfg.ReadCacheTTL) // #nosec G104 -- cache.Near is an in-process map whose Set never fails
		return b, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}

// invalidate forgets the cached reads of flights whose seats changed, in
// one call to the shared cache (one round trip to Redis) for all of them.
func (s *Service) invalidate(ctx context.Context, flightIDs ...int64) {
	if len(flightIDs) == 0 {
		return
	}
	keys := make([]string, 0, 2*len(flightIDs))
	for _, id := range flightIDs {
		keys = append(keys, FlightCacheKey(id), SeatsCacheKey(id))
	}
	s.near.Delete(ctx, keys...) // #nosec G104 -- cache.Near is an in-process map whose Delete never fails
	if err := s.reads.Delete(context.WithoutCancel(ctx), keys...); err != nil {
		s.fallback(ctx, "cache delete", err)
	}
}
