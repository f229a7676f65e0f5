package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/store"
)

var countLiveSeats = `SELECT count(*) FROM seats WHERE hold_id = ?1 AND booking_id IS NULL AND ` + seatHeld("", "?2")

const insertBooking = `
	INSERT INTO bookings (id, hold_id, api_key_id, flight_id, seats, total_amount, currency, status, created_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, 'confirmed', ?)`

const insertBookingSeats = `
	INSERT INTO booking_seats (booking_id, flight_id, seat, live)
	SELECT ?1, flight_id, label, 1 FROM seats WHERE hold_id = ?2 AND booking_id IS NULL`

// #nosec G202 -- joins constant SQL fragments (holds.go's seatHeld, freeSeat, … of constant arguments); every value is a ? parameter
var bookSeats = `
	UPDATE seats SET booking_id = ?1, hold_id = NULL, held_until = NULL
	WHERE hold_id = ?2 AND booking_id IS NULL AND ` + seatHeld("", "?3")

// BookingComplete implements store.Bookings.
func (s *Store) BookingComplete(ctx context.Context, bp store.BookingCompleteParams) (bookings.Booking, error) {
	p, chargeID, done := bp.Payment, bp.ChargeID, bp.Done
	var (
		out  bookings.Booking
		lost bool // the charge is taken but the seats are gone: committed as refunding
		// departed: the flight left before the booking could be made (lost too)
		departed bool
	)
	err := s.write(ctx, func(tx *sql.Tx) error {
		lost, departed = false, false
		now, _, _, err := readClock(ctx, tx, 0, 0)
		if err != nil {
			return err
		}
		pay, err := scanPayment(tx.QueryRowContext(ctx, selectPayment, p.HoldID))
		if errors.Is(err, sql.ErrNoRows) {
			return holds.ErrNotActive
		}
		if err != nil {
			return fmt.Errorf("read payment: %w", err)
		}
		if pay.State == store.PaymentCompleted {
			if out, err = loadBooking(ctx, tx, pay.KeyID, pay.BookingID); err != nil {
				return err
			}
			return complete(ctx, tx, done, out)
		}
		if pay.State != store.PaymentPending || pay.Attempt != p.Attempt {
			return holds.ErrNotActive
		}
		row, err := loadHold(ctx, tx, pay.KeyID, pay.HoldID)
		if err != nil {
			return err
		}
		if row.Status != holds.Active {
			return holds.ErrNotActive
		}
		var live int
		if err := tx.QueryRowContext(ctx, countLiveSeats, pay.HoldID, now).Scan(&live); err != nil {
			return fmt.Errorf("count seats: %w", err)
		}
		if _, err := flightOpen(ctx, tx, row.FlightID, now); errors.Is(err, flights.ErrDeparted) {
			// Charged, but the flight left while the charge was under way:
			// no booking, and the money goes back as for lost seats.
			departed = true
		} else if err != nil {
			return err
		}
		if departed || live < len(row.Seats) {
			lost = true
			_, err := tx.ExecContext(ctx, `UPDATE payments SET state = 'refunding', charge_id = ?1, lease_until = ?2, updated_at = ?2
				WHERE hold_id = ?3`, chargeID, now, pay.HoldID)
			return err
		}
		if _, err := tx.ExecContext(ctx, insertBooking, pay.BookingID, row.ID, row.KeyID, row.FlightID,
			strings.Join(row.Seats, ","), row.Total.Amount, row.Total.Currency, now); err != nil {
			return fmt.Errorf("insert booking: %w", translate(err))
		}
		if _, err := tx.ExecContext(ctx, insertBookingSeats, pay.BookingID, pay.HoldID); err != nil {
			return fmt.Errorf("insert booking seats: %w", translate(err))
		}
		if err := holdEvents(ctx, tx, "booked", pay.HoldID, pay.BookingID, now); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, bookSeats, pay.BookingID, pay.HoldID, now)
		if err != nil {
			return fmt.Errorf("book seats: %w", translate(err))
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(len(row.Seats)) {
			return fmt.Errorf("book seats: %d of %d booked (%v)", n, len(row.Seats), err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE holds SET status = 'booked', booking_id = ?1, ended_at = ?2 WHERE id = ?3`,
			pay.BookingID, now, pay.HoldID); err != nil {
			return fmt.Errorf("update hold: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE payments SET state = 'completed', charge_id = ?1, updated_at = ?2 WHERE hold_id = ?3`,
			chargeID, now, pay.HoldID); err != nil {
			return fmt.Errorf("update payment: %w", err)
		}
		out = bookings.Booking{
			ID: pay.BookingID, HoldID: row.ID, KeyID: row.KeyID, FlightID: row.FlightID, Seats: row.Seats,
			Total: row.Total, Status: bookings.Confirmed,
		}
		if out.CreatedAt, err = parseTime(now); err != nil {
			return err
		}
		if err := writeEvents(ctx, tx, now, events.OfBooking(events.BookingConfirmed, out)); err != nil {
			return err
		}
		return complete(ctx, tx, done, out)
	})
	switch {
	case err == nil && lost && departed:
		// ErrExpired makes the caller refund at once; ErrDeparted tells the client why.
		err = errors.Join(flights.ErrDeparted, holds.ErrExpired)
	case err == nil && lost:
		err = holds.ErrExpired
	}
	if err != nil {
		return bookings.Booking{}, fmt.Errorf("complete booking: %w", err)
	}
	return out, nil
}

const bookingColumns = `b.id, b.hold_id, b.api_key_id, b.flight_id, b.seats, b.total_amount, b.currency, b.status,
	b.created_at, coalesce(b.canceled_at, '')`

func scanBooking(r scanner) (bookings.Booking, error) {
	var (
		b                            bookings.Booking
		seats, createdAt, canceledAt string
	)
	if err := r.Scan(&b.ID, &b.HoldID, &b.KeyID, &b.FlightID, &seats, &b.Total.Amount, &b.Total.Currency, &b.Status,
		&createdAt, &canceledAt); err != nil {
		return bookings.Booking{}, err
	}
	b.Seats = strings.Split(seats, ",")
	var err error
	if b.CreatedAt, err = parseTime(createdAt); err != nil {
		return bookings.Booking{}, err
	}
	if canceledAt != "" {
		if b.CanceledAt, err = parseTime(canceledAt); err != nil {
			return bookings.Booking{}, err
		}
	}
	return b, nil
}

func scanBookings(rows *sql.Rows) ([]bookings.Booking, error) {
	defer rows.Close()
	var out []bookings.Booking
	for rows.Next() {
		b, err := scanBooking(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

const selectBooking = `SELECT ` + bookingColumns + ` FROM bookings b WHERE b.id = ?1 AND b.api_key_id = ?2`

// loadBooking reads a booking of keyID in tx, or bookings.ErrNotFound.
func loadBooking(ctx context.Context, tx *sql.Tx, keyID int64, id string) (bookings.Booking, error) {
	b, err := scanBooking(tx.QueryRowContext(ctx, selectBooking, id, keyID))
	if errors.Is(err, sql.ErrNoRows) {
		return bookings.Booking{}, bookings.ErrNotFound
	}
	return b, err
}

// BookingGet implements store.Bookings.
func (s *Store) BookingGet(ctx context.Context, keyID int64, id string) (bookings.Booking, error) {
	b, err := scanBooking(s.reader.QueryRowContext(ctx, selectBooking, id, keyID))
	if errors.Is(err, sql.ErrNoRows) {
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
	var afterAt, afterID any
	if after != nil {
		afterAt, afterID = after.CreatedAt.UTC().Format(timeFormat), after.ID
	}
	rows, err := s.reader.QueryContext(ctx, `
		SELECT `+bookingColumns+` FROM bookings b
		WHERE b.api_key_id = ?1 AND (?2 IS NULL OR (b.created_at, b.id) < (?2, ?3))
		ORDER BY b.created_at DESC, b.id DESC
		LIMIT ?4`, keyID, afterAt, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("list bookings: %w", err)
	}
	out, err := scanBookings(rows)
	if err != nil {
		return nil, fmt.Errorf("list bookings: %w", err)
	}
	return out, nil
}

const insertCanceledEvents = `
	INSERT INTO seat_events (flight_id, seat, event, hold_id, booking_id, at)
	SELECT flight_id, label, 'canceled', ?1, ?2, ?3 FROM seats
	WHERE booking_id = ?2
	ORDER BY row_no, letter`

// refundLease is zero: the canceling request refunds at once, and if
// recovery races it, the refund's idempotency key makes the two one refund.
const refundLease = time.Duration(0)

// BookingCancel implements store.Bookings.
func (s *Store) BookingCancel(ctx context.Context, p store.BookingCancelParams) (bookings.Booking, error) {
	keyID, id, done := p.KeyID, p.ID, p.Done
	var out bookings.Booking
	err := s.write(ctx, func(tx *sql.Tx) error {
		now, leaseUntil, _, err := readClock(ctx, tx, refundLease, 0)
		if err != nil {
			return err
		}
		b, err := loadBooking(ctx, tx, keyID, id)
		if err != nil {
			return err
		}
		if b.Status == bookings.Canceled {
			out = b
			return complete(ctx, tx, done, out)
		}
		// A flight that has left is flown (or missed): no refund.
		if _, err := flightOpen(ctx, tx, b.FlightID, now); err != nil {
			return err
		}
		for _, st := range []struct {
			what, sql string
			args      []any
		}{
			{"update booking", `UPDATE bookings SET status = 'canceled', canceled_at = ?1 WHERE id = ?2`, []any{now, id}},
			{"update booking seats", `UPDATE booking_seats SET live = 0 WHERE booking_id = ?1`, []any{id}},
			{"record canceled events", insertCanceledEvents, []any{b.HoldID, id, now}},
			{"free seats", `UPDATE seats SET booking_id = NULL, hold_id = NULL, held_until = NULL WHERE booking_id = ?1`, []any{id}},
			{"update payment", `UPDATE payments SET state = 'refunding', lease_until = ?1, updated_at = ?2
				WHERE hold_id = ?3 AND state = 'completed'`, []any{leaseUntil, now, b.HoldID}},
		} {
			if _, err := tx.ExecContext(ctx, st.sql, st.args...); err != nil {
				return fmt.Errorf("%s: %w", st.what, err)
			}
		}
		out = b
		out.Status = bookings.Canceled
		if out.CanceledAt, err = parseTime(now); err != nil {
			return err
		}
		if err := writeEvents(ctx, tx, now, events.OfBooking(events.BookingCanceled, out)); err != nil {
			return err
		}
		return complete(ctx, tx, done, out)
	})
	if err != nil {
		return bookings.Booking{}, fmt.Errorf("cancel booking: %w", err)
	}
	return out, nil
}

// BookingListByFlight implements store.Bookings.
func (s *Store) BookingListByFlight(ctx context.Context, flightID int64) ([]bookings.Booking, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT `+bookingColumns+` FROM bookings b
		WHERE b.flight_id = ?1 ORDER BY b.created_at, b.id`, flightID)
	if err != nil {
		return nil, fmt.Errorf("bookings of flight %d: %w", flightID, err)
	}
	out, err := scanBookings(rows)
	if err != nil {
		return nil, fmt.Errorf("bookings of flight %d: %w", flightID, err)
	}
	return out, nil
}
