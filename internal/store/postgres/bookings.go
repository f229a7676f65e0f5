package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/store"
)

// BookingComplete implements store.Bookings.
func (s *Store) BookingComplete(ctx context.Context, bp store.BookingCompleteParams) (bookings.Booking, error) {
	p, chargeID, done := bp.Payment, bp.ChargeID, bp.Done
	var out bookings.Booking
	lost, departed := false, false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		lost, departed = false, false
		h, _, err := lockHold(ctx, tx, p.KeyID, p.HoldID)
		if err != nil {
			return err
		}
		cur, err := scanPayment(tx.QueryRow(ctx, `SELECT `+paymentColumns+` FROM payments WHERE hold_id = $1`, p.HoldID))
		if err != nil {
			return err
		}
		switch {
		case cur.State == store.PaymentCompleted:
			if out, err = bookingByID(ctx, tx, cur.BookingID); err != nil {
				return err
			}
			return complete(ctx, tx, done, out)
		case cur.State != store.PaymentPending || cur.Attempt != p.Attempt:
			return holds.ErrNotActive
		}
		if err := lockSeats(ctx, tx, h.FlightID, h.Seats); err != nil {
			return err
		}
		if _, err := flightOpen(ctx, tx, h.FlightID); errors.Is(err, flights.ErrDeparted) {
			// Charged, but the flight left while the charge was under way:
			// no booking, and the money goes back as for lost seats.
			departed = true
		} else if err != nil {
			return err
		}
		var kept int
		err = tx.QueryRow(ctx, `
			SELECT count(*) FROM seats s
			WHERE s.flight_id = $1 AND s.hold_id = $2 AND s.booking_id IS NULL AND `+seatHeld, h.FlightID, h.ID).Scan(&kept)
		if err != nil {
			return err
		}
		if departed || kept != len(h.Seats) {
			// Charged, but the seats went to someone else: the money goes back.
			if _, err := tx.Exec(ctx, `
				UPDATE payments SET state = 'refunding', charge_id = $2, lease_until = now(), updated_at = now()
				WHERE hold_id = $1`, h.ID, chargeID); err != nil {
				return err
			}
			lost = true
			return nil
		}
		out = bookings.Booking{
			ID: cur.BookingID, HoldID: h.ID, KeyID: h.KeyID, FlightID: h.FlightID, Seats: h.Seats,
			Total: h.Total, Status: bookings.Confirmed,
		}
		err = tx.QueryRow(ctx, `
			INSERT INTO bookings (id, hold_id, api_key_id, flight_id, seats, total_amount, currency, status, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'confirmed', now()) RETURNING created_at`,
			out.ID, h.ID, h.KeyID, h.FlightID, strings.Join(h.Seats, ","), h.Total.Amount, h.Total.Currency).Scan(&out.CreatedAt)
		if err != nil {
			return translate(err)
		}
		out.CreatedAt = out.CreatedAt.UTC()
		if _, err := tx.Exec(ctx, `
			INSERT INTO booking_seats (booking_id, flight_id, seat) SELECT $1, $2, unnest($3::text[])`,
			out.ID, h.FlightID, h.Seats); err != nil {
			return translate(err)
		}
		if _, err := tx.Exec(ctx, `
			UPDATE seats SET booking_id = $3, hold_id = NULL, held_until = NULL
			WHERE flight_id = $1 AND hold_id = $2`, h.FlightID, h.ID, out.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE holds SET status = 'booked', booking_id = $2, ended_at = now() WHERE id = $1`, h.ID, out.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			UPDATE payments SET state = 'completed', charge_id = $2, updated_at = now() WHERE hold_id = $1`, h.ID, chargeID); err != nil {
			return err
		}
		if err := recordEvents(ctx, tx, h.FlightID, h.Seats, "booked", h.ID, out.ID); err != nil {
			return err
		}
		if err := writeEvents(ctx, tx, events.OfBooking(events.BookingConfirmed, out)); err != nil {
			return err
		}
		return complete(ctx, tx, done, out)
	})
	if err != nil {
		return bookings.Booking{}, fmt.Errorf("complete booking: %w", err)
	}
	if lost && departed {
		// Committed: the payment turns refunding. ErrExpired makes the
		// caller refund at once; ErrDeparted tells the client why.
		return bookings.Booking{}, errors.Join(flights.ErrDeparted, holds.ErrExpired)
	}
	if lost {
		// Committed: the payment turns refunding; the hold has, in effect, expired.
		return bookings.Booking{}, holds.ErrExpired
	}
	return out, nil
}

const bookingColumns = `b.id, b.hold_id, b.api_key_id, b.flight_id, b.seats, b.total_amount, b.currency, b.status, b.created_at, b.canceled_at`

func scanBooking(row pgx.Row) (bookings.Booking, error) {
	var b bookings.Booking
	var seats, status string
	var canceled *time.Time
	if err := row.Scan(&b.ID, &b.HoldID, &b.KeyID, &b.FlightID, &seats, &b.Total.Amount, &b.Total.Currency, &status, &b.CreatedAt, &canceled); err != nil {
		return bookings.Booking{}, err
	}
	b.Seats = strings.Split(seats, ",")
	b.Status = bookings.Status(status)
	b.CreatedAt = b.CreatedAt.UTC()
	if canceled != nil {
		b.CanceledAt = canceled.UTC()
	}
	return b, nil
}

func bookingByID(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, id string) (bookings.Booking, error) {
	return scanBooking(q.QueryRow(ctx, `SELECT `+bookingColumns+` FROM bookings b WHERE b.id = $1`, id))
}

// BookingGet implements store.Bookings.
func (s *Store) BookingGet(ctx context.Context, keyID int64, id string) (bookings.Booking, error) {
	b, err := scanBooking(s.pool.QueryRow(ctx, `SELECT `+bookingColumns+` FROM bookings b WHERE b.id = $1 AND b.api_key_id = $2`, id, keyID))
	if errors.Is(err, pgx.ErrNoRows) {
		return bookings.Booking{}, bookings.ErrNotFound
	}
	if err != nil {
		return bookings.Booking{}, fmt.Errorf("booking %s: %w", id, err)
	}
	return b, nil
}

// BookingList implements store.Bookings.
func (s *Store) BookingList(ctx context.Context, p store.BookingListParams) ([]bookings.Booking, error) {
	keyID, after, limit := p.KeyID, p.After, p.Limit
	var afterAt *time.Time
	var afterID string
	if after != nil {
		afterAt, afterID = &after.CreatedAt, after.ID
	}
	rows, err := s.pool.Query(ctx, `
		SELECT `+bookingColumns+` FROM bookings b
		WHERE b.api_key_id = $1 AND ($2::timestamptz IS NULL OR (b.created_at, b.id) < ($2, $3))
		ORDER BY b.created_at DESC, b.id DESC
		LIMIT $4`, keyID, afterAt, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("list bookings: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (bookings.Booking, error) { return scanBooking(r) })
	if err != nil {
		return nil, fmt.Errorf("list bookings: %w", err)
	}
	return out, nil
}

// cancelRefundLease is zero: the canceling request refunds at once, and if
// recovery races it, the refund's idempotency key makes the two one refund.
const cancelRefundLease = time.Duration(0)

// BookingCancel implements store.Bookings.
func (s *Store) BookingCancel(ctx context.Context, p store.BookingCancelParams) (bookings.Booking, error) {
	keyID, id, done := p.KeyID, p.ID, p.Done
	var out bookings.Booking
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		b, err := scanBooking(tx.QueryRow(ctx, `SELECT `+bookingColumns+` FROM bookings b WHERE b.id = $1 AND b.api_key_id = $2 FOR UPDATE`, id, keyID))
		if errors.Is(err, pgx.ErrNoRows) {
			return bookings.ErrNotFound
		}
		if err != nil {
			return err
		}
		if b.Status == bookings.Canceled {
			out = b
			return complete(ctx, tx, done, out)
		}
		if err := lockSeats(ctx, tx, b.FlightID, b.Seats); err != nil {
			return err
		}
		// A flight that has left is flown (or missed): no refund.
		if _, err := flightOpen(ctx, tx, b.FlightID); err != nil {
			return err
		}
		var canceledAt time.Time
		if err := tx.QueryRow(ctx, `
			UPDATE bookings SET status = 'canceled', canceled_at = now() WHERE id = $1 RETURNING canceled_at`, id).Scan(&canceledAt); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE booking_seats SET live = false WHERE booking_id = $1`, id); err != nil {
			return err
		}
		freed, err := freeSeats(ctx, tx, b.FlightID, `booking_id = $2`, id)
		if err != nil {
			return err
		}
		if err := recordEvents(ctx, tx, b.FlightID, freed, "canceled", b.HoldID, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			UPDATE payments SET state = 'refunding', lease_until = now() + $2::interval, updated_at = now()
			WHERE hold_id = $1 AND state = 'completed'`, b.HoldID, cancelRefundLease); err != nil {
			return err
		}
		b.Status, b.CanceledAt = bookings.Canceled, canceledAt.UTC()
		if err := writeEvents(ctx, tx, events.OfBooking(events.BookingCanceled, b)); err != nil {
			return err
		}
		out = b
		return complete(ctx, tx, done, out)
	})
	if err != nil {
		return bookings.Booking{}, fmt.Errorf("cancel booking: %w", err)
	}
	return out, nil
}

// BookingListByFlight implements store.Bookings.
func (s *Store) BookingListByFlight(ctx context.Context, flightID int64) ([]bookings.Booking, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+bookingColumns+` FROM bookings b WHERE b.flight_id = $1 ORDER BY b.created_at, b.id`, flightID)
	if err != nil {
		return nil, fmt.Errorf("flight bookings: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (bookings.Booking, error) { return scanBooking(r) })
	if err != nil {
		return nil, fmt.Errorf("flight bookings: %w", err)
	}
	return out, nil
}
