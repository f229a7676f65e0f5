package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/store"
)

const paymentColumns = `hold_id, api_key_id, booking_id, attempt, amount, currency, token, state, coalesce(charge_id, ''), coalesce(refund_id, '')`

func scanPayment(row pgx.Row) (store.Payment, error) {
	var p store.Payment
	var state string
	err := row.Scan(&p.HoldID, &p.KeyID, &p.BookingID, &p.Attempt, &p.Amount.Amount, &p.Amount.Currency, &p.Token, &state, &p.ChargeID, &p.RefundID)
	p.State = store.PaymentState(state)
	return p, err
}

// PaymentBegin implements store.Payments.
func (s *Store) PaymentBegin(ctx context.Context, b store.PaymentBeginParams) (store.Payment, error) {
	var out store.Payment
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		h, pay, err := lockHold(ctx, tx, b.KeyID, b.HoldID)
		if err != nil {
			return err
		}
		if pay == store.PaymentPending {
			// A stalled payment (its lease ran out) is taken over by a retry
			// with the same card; the charge keeps its idempotency key.
			out, err = scanPayment(tx.QueryRow(ctx, `
				UPDATE payments SET lease_until = now() + $3::interval, updated_at = now()
				WHERE hold_id = $1 AND token = $2 AND state = 'pending' AND lease_until <= now()
				RETURNING `+paymentColumns, h.ID, b.Token, b.Lease))
			if errors.Is(err, pgx.ErrNoRows) {
				return bookings.ErrPaymentInProgress
			}
			return err
		}
		switch {
		case h.Status == holds.Booked || h.Status == holds.Released,
			pay == store.PaymentCompleted || pay == store.PaymentRefunding || pay == store.PaymentRefunded:
			return holds.ErrNotActive
		case h.Status == holds.Expired:
			return holds.ErrExpired
		}
		// A departed flight cannot be booked: refuse before anything is charged.
		if _, err := flightOpen(ctx, tx, h.FlightID); err != nil {
			return err
		}
		row := tx.QueryRow(ctx, `
			INSERT INTO payments (hold_id, flight_id, api_key_id, booking_id, attempt, amount, currency, token, state, lease_until)
			VALUES ($1, $2, $3, $4, 1, $5, $6, $7, 'pending', now() + $8::interval)
			ON CONFLICT (hold_id) DO UPDATE
				SET attempt = payments.attempt + 1, token = excluded.token, state = 'pending',
				    lease_until = excluded.lease_until, updated_at = now()
				WHERE payments.state = 'declined'
			RETURNING `+paymentColumns,
			h.ID, h.FlightID, h.KeyID, b.BookingID, h.Total.Amount, h.Total.Currency, b.Token, b.Lease)
		if out, err = scanPayment(row); err != nil {
			return err
		}
		if err := lockSeats(ctx, tx, h.FlightID, h.Seats); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			UPDATE seats SET held_until = greatest(held_until, now() + $3::interval)
			WHERE flight_id = $1 AND hold_id = $2 AND booking_id IS NULL`, h.FlightID, h.ID, b.Pin)
		return err
	})
	if err != nil {
		return store.Payment{}, fmt.Errorf("begin booking: %w", err)
	}
	return out, nil
}

// PaymentRelease implements store.Payments.
func (s *Store) PaymentRelease(ctx context.Context, p store.Payment) error {
	if _, err := s.pool.Exec(ctx, `
		UPDATE payments SET lease_until = now(), updated_at = now()
		WHERE hold_id = $1 AND attempt = $2 AND state = 'pending'`, p.HoldID, p.Attempt); err != nil {
		return fmt.Errorf("release payment: %w", err)
	}
	return nil
}

// PaymentDecline implements store.Payments.
func (s *Store) PaymentDecline(ctx context.Context, p store.Payment) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		h, _, err := lockHold(ctx, tx, p.KeyID, p.HoldID)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
			UPDATE payments SET state = 'declined', updated_at = now()
			WHERE hold_id = $1 AND attempt = $2 AND state = 'pending'`, p.HoldID, p.Attempt)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		if err := lockSeats(ctx, tx, h.FlightID, h.Seats); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			UPDATE seats SET held_until = (SELECT expires_at FROM holds WHERE id = $2)
			WHERE flight_id = $1 AND hold_id = $2 AND booking_id IS NULL`, h.FlightID, h.ID)
		if err != nil {
			return err
		}
		// The hold as it was read: active, its payment pending until now.
		return writeEvents(ctx, tx, events.OfHold(events.PaymentDeclined, h))
	})
	if err != nil {
		return fmt.Errorf("decline payment: %w", err)
	}
	return nil
}

func (s *Store) claimPayments(ctx context.Context, state store.PaymentState, lease time.Duration, limit int) ([]store.Payment, error) {
	rows, err := s.pool.Query(ctx, `
		UPDATE payments SET lease_until = now() + $2::interval, updated_at = now()
		WHERE hold_id IN (
			SELECT hold_id FROM payments
			WHERE state = $1 AND lease_until <= now()
			ORDER BY lease_until
			LIMIT $3
			FOR UPDATE SKIP LOCKED)
		RETURNING `+paymentColumns, string(state), lease, limit)
	if err != nil {
		return nil, fmt.Errorf("claim %s payments: %w", state, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Payment, error) { return scanPayment(r) })
	if err != nil {
		return nil, fmt.Errorf("claim %s payments: %w", state, err)
	}
	return out, nil
}

// PaymentClaimStale implements store.Payments.
func (s *Store) PaymentClaimStale(ctx context.Context, lease time.Duration, limit int) ([]store.Payment, error) {
	return s.claimPayments(ctx, store.PaymentPending, lease, limit)
}

// PaymentClaimRefunds implements store.Payments.
func (s *Store) PaymentClaimRefunds(ctx context.Context, lease time.Duration, limit int) ([]store.Payment, error) {
	return s.claimPayments(ctx, store.PaymentRefunding, lease, limit)
}

// PaymentMarkRefunded implements store.Payments.
func (s *Store) PaymentMarkRefunded(ctx context.Context, holdID, refundID string) error {
	if _, err := s.pool.Exec(ctx, `
		UPDATE payments SET state = 'refunded', refund_id = $2, updated_at = now()
		WHERE hold_id = $1 AND state = 'refunding'`, holdID, refundID); err != nil {
		return fmt.Errorf("mark refunded: %w", err)
	}
	return nil
}

// PaymentGet implements store.Payments.
func (s *Store) PaymentGet(ctx context.Context, holdID string) (store.Payment, error) {
	p, err := scanPayment(s.pool.QueryRow(ctx, `SELECT `+paymentColumns+` FROM payments WHERE hold_id = $1`, holdID))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Payment{}, bookings.ErrNotFound
	}
	if err != nil {
		return store.Payment{}, fmt.Errorf("payment of %s: %w", holdID, err)
	}
	return p, nil
}
