package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/store"
)

const paymentColumns = `hold_id, api_key_id, booking_id, attempt, amount, currency, token, state,
	coalesce(charge_id, ''), coalesce(refund_id, '')`

func scanPayment(r scanner) (store.Payment, error) {
	var p store.Payment
	err := r.Scan(&p.HoldID, &p.KeyID, &p.BookingID, &p.Attempt, &p.Amount.Amount, &p.Amount.Currency, &p.Token, &p.State,
		&p.ChargeID, &p.RefundID)
	return p, err
}

const selectPayment = `SELECT ` + paymentColumns + ` FROM payments WHERE hold_id = ?1`

const insertPayment = `
	INSERT INTO payments (hold_id, flight_id, api_key_id, booking_id, attempt, amount, currency, token, state, lease_until, created_at, updated_at)
	VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, 'pending', ?8, ?9, ?9)`

const retryPayment = `
	UPDATE payments SET attempt = attempt + 1, token = ?1, state = 'pending', lease_until = ?2, updated_at = ?3
	WHERE hold_id = ?4 AND state = 'declined'`

const takeOverPayment = `
	UPDATE payments SET lease_until = ?1, updated_at = ?2
	WHERE hold_id = ?3 AND token = ?4 AND state = 'pending' AND lease_until <= ?2`

// PaymentRelease implements store.Payments.
func (s *Store) PaymentRelease(ctx context.Context, p store.Payment) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		now, _, _, err := readClock(ctx, tx, 0, 0)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE payments SET lease_until = ?1, updated_at = ?1
			WHERE hold_id = ?2 AND attempt = ?3 AND state = 'pending'`, now, p.HoldID, p.Attempt)
		return err
	})
	if err != nil {
		return fmt.Errorf("release payment: %w", err)
	}
	return nil
}

// pinSeats keeps a hold's seats for its payment, past expires_at if need be.
const pinSeats = `UPDATE seats SET held_until = max(held_until, ?1) WHERE hold_id = ?2 AND booking_id IS NULL`

// PaymentBegin implements store.Payments.
func (s *Store) PaymentBegin(ctx context.Context, b store.PaymentBeginParams) (store.Payment, error) {
	var out store.Payment
	err := s.write(ctx, func(tx *sql.Tx) error {
		now, leaseUntil, pinUntil, err := readClock(ctx, tx, b.Lease, b.Pin)
		if err != nil {
			return err
		}
		row, err := loadHold(ctx, tx, b.KeyID, b.HoldID)
		if err != nil {
			return err
		}
		if row.payment == store.PaymentPending {
			// A stalled payment (its lease ran out) is taken over by a retry
			// with the same card; the charge keeps its idempotency key.
			res, err := tx.ExecContext(ctx, takeOverPayment, leaseUntil, now, b.HoldID, b.Token)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return bookings.ErrPaymentInProgress
			}
			out, err = scanPayment(tx.QueryRowContext(ctx, selectPayment, b.HoldID))
			return err
		}
		switch {
		case row.Status == holds.Booked, row.Status == holds.Released:
			return holds.ErrNotActive
		case row.payment != "" && row.payment != store.PaymentDeclined:
			return holds.ErrNotActive
		case row.status(now) == holds.Expired:
			return holds.ErrExpired
		}
		// A departed flight cannot be booked: refuse before anything is charged.
		if _, err := flightOpen(ctx, tx, row.FlightID, now); err != nil {
			return err
		}
		if row.payment == store.PaymentDeclined {
			_, err = tx.ExecContext(ctx, retryPayment, b.Token, leaseUntil, now, b.HoldID)
		} else {
			_, err = tx.ExecContext(ctx, insertPayment, b.HoldID, row.FlightID, row.KeyID, b.BookingID,
				row.Total.Amount, row.Total.Currency, b.Token, leaseUntil, now)
		}
		if err != nil {
			return fmt.Errorf("record payment: %w", translate(err))
		}
		if _, err := tx.ExecContext(ctx, pinSeats, pinUntil, b.HoldID); err != nil {
			return fmt.Errorf("pin seats: %w", err)
		}
		out, err = scanPayment(tx.QueryRowContext(ctx, selectPayment, b.HoldID))
		return err
	})
	if err != nil {
		return store.Payment{}, fmt.Errorf("begin booking: %w", err)
	}
	return out, nil
}

// PaymentDecline implements store.Payments. A payment no longer pending
// with this attempt (declined already, or driven to an end by another
// request) is left as it is.
func (s *Store) PaymentDecline(ctx context.Context, p store.Payment) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		now, _, _, err := readClock(ctx, tx, 0, 0)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE payments SET state = 'declined', updated_at = ?3
			WHERE hold_id = ?1 AND state = 'pending' AND attempt = ?2`, p.HoldID, p.Attempt, now)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		// The pin is over: the seats are the hold's until expires_at again.
		if _, err = tx.ExecContext(ctx, `UPDATE seats SET held_until = (SELECT expires_at FROM holds WHERE id = ?1)
			WHERE hold_id = ?1 AND booking_id IS NULL`, p.HoldID); err != nil {
			return err
		}
		// The hold as stored: active, its payment pending until now.
		row, err := loadHold(ctx, tx, p.KeyID, p.HoldID)
		if err != nil {
			return err
		}
		return writeEvents(ctx, tx, now, events.OfHold(events.PaymentDeclined, row.Hold))
	})
	if err != nil {
		return fmt.Errorf("decline payment: %w", err)
	}
	return nil
}

const selectLeasable = `
	SELECT ` + paymentColumns + ` FROM payments
	WHERE state = ?1 AND lease_until <= ?2
	ORDER BY lease_until, hold_id
	LIMIT ?3`

// claimPayments leases up to limit payments in state whose lease has run out.
func (s *Store) claimPayments(ctx context.Context, state store.PaymentState, lease time.Duration, limit int) ([]store.Payment, error) {
	var out []store.Payment
	err := s.write(ctx, func(tx *sql.Tx) error {
		now, leaseUntil, _, err := readClock(ctx, tx, lease, 0)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, selectLeasable, string(state), now, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanPayment(rows)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close() // #nosec G104 -- read to the end and rows.Err checked; closing early frees the transaction's one connection for the next statement
		for _, p := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE payments SET lease_until = ?1, updated_at = ?2 WHERE hold_id = ?3`,
				leaseUntil, now, p.HoldID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PaymentClaimStale implements store.Payments.
func (s *Store) PaymentClaimStale(ctx context.Context, lease time.Duration, limit int) ([]store.Payment, error) {
	out, err := s.claimPayments(ctx, store.PaymentPending, lease, limit)
	if err != nil {
		return nil, fmt.Errorf("claim stale payments: %w", err)
	}
	return out, nil
}

// PaymentClaimRefunds implements store.Payments.
func (s *Store) PaymentClaimRefunds(ctx context.Context, lease time.Duration, limit int) ([]store.Payment, error) {
	out, err := s.claimPayments(ctx, store.PaymentRefunding, lease, limit)
	if err != nil {
		return nil, fmt.Errorf("claim refunds: %w", err)
	}
	return out, nil
}

// PaymentMarkRefunded implements store.Payments. A payment that is not
// refunding (refunded already) is left as it is.
func (s *Store) PaymentMarkRefunded(ctx context.Context, holdID, refundID string) error {
	if _, err := s.writer.ExecContext(ctx, `UPDATE payments SET state = 'refunded', refund_id = ?1, updated_at = `+nowSQL+`
		WHERE hold_id = ?2 AND state = 'refunding'`, refundID, holdID); err != nil {
		return fmt.Errorf("mark refunded: %w", err)
	}
	return nil
}

// PaymentGet implements store.Payments.
func (s *Store) PaymentGet(ctx context.Context, holdID string) (store.Payment, error) {
	p, err := scanPayment(s.reader.QueryRowContext(ctx, selectPayment, holdID))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Payment{}, bookings.ErrNotFound
	}
	if err != nil {
		return store.Payment{}, fmt.Errorf("payment of %s: %w", holdID, err)
	}
	return p, nil
}
