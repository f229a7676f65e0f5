package reserve

import (
	"context"
	"errors"
	"time"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/jobs"
)

// batch bounds the work one background pass takes on.
const batch = 100

// SweepExpired marks expired holds expired and clears their fast-path keys.
// Correctness never depends on it: expiry is exact in the store's predicates.
func (s *Service) SweepExpired(ctx context.Context) (int, error) {
	total := 0
	for {
		swept, err := s.store.HoldExpire(ctx, batch)
		if err != nil {
			return total, err
		}
		for _, h := range swept {
			s.release(ctx, h.FlightID, h.Seats, h.ID)
			s.invalidate(ctx, h.FlightID)
		}
		total += len(swept)
		s.m.holds.WithLabelValues("expired").Add(float64(len(swept)))
		if len(swept) < batch {
			break
		}
	}
	lag, err := s.store.HoldExpiryLag(ctx)
	if err != nil {
		return total, err
	}
	s.m.expiryLag.Set(lag.Seconds())
	active, err := s.store.HoldCountActive(ctx)
	if err != nil {
		return total, err
	}
	s.m.active.Set(float64(active))
	return total, nil
}

// RecoverPayments drives to an end the payments whose booking request died
// between recording the intent and recording the outcome: it charges again
// with the same idempotency key (the gateway answers with the first charge),
// then completes or declines the booking.
func (s *Service) RecoverPayments(ctx context.Context) (int, error) {
	stale, err := s.store.PaymentClaimStale(ctx, s.cfg.PaymentLease, batch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, pay := range stale {
		_, err := s.drive(ctx, pay, nil)
		switch {
		case err == nil, errors.Is(err, bookings.ErrPaymentDeclined), errors.Is(err, holds.ErrExpired), errors.Is(err, holds.ErrNotActive):
			n++
			s.m.recovered.Inc()
			s.log.InfoContext(ctx, "recovered an interrupted booking", "hold_id", pay.HoldID, "outcome", outcome(err))
		default:
			s.log.WarnContext(ctx, "booking recovery will retry", "hold_id", pay.HoldID, "error", err.Error())
		}
	}
	return n, nil
}

// RecoverRefunds retries refunds that did not go through.
func (s *Service) RecoverRefunds(ctx context.Context) (int, error) {
	due, err := s.store.PaymentClaimRefunds(ctx, s.cfg.PaymentLease, batch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, pay := range due {
		if err := s.refundPayment(ctx, pay); err != nil {
			s.log.WarnContext(ctx, "refund recovery will retry", "hold_id", pay.HoldID, "error", err.Error())
			continue
		}
		n++
	}
	return n, nil
}

// CleanIdempotencyKeysJob is the background job, named
// clean_idempotency_keys, that forgets keys older than retention every
// interval (the service passes idempotency.Retention; tests a shorter one).
func (s *Service) CleanIdempotencyKeysJob(every, retention time.Duration) jobs.Job {
	return jobs.Job{Name: "clean_idempotency_keys", Every: every, Run: func(ctx context.Context) (int, error) {
		n, err := s.store.IdempotencyKeyDeleteOlderThan(ctx, retention)
		return int(n), err
	}}
}

func outcome(err error) string {
	switch {
	case err == nil:
		return "booked"
	case errors.Is(err, bookings.ErrPaymentDeclined):
		return "declined"
	case errors.Is(err, holds.ErrExpired):
		return "refunded_seats_lost"
	}
	return "already_settled"
}
