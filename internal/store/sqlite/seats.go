package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/idempotency"
	"github.com/reservd/reservd/internal/store"
)

// SeatList implements store.Store.
func (s *Store) SeatList(ctx context.Context, flightID int64) ([]flights.Seat, error) {
	// #nosec G202 -- joins constant SQL fragments (holds.go's seatHeld, freeSeat, … of constant arguments); every value is a ? parameter
	rows, err := s.reader.QueryContext(ctx, `
		SELECT s.label, s.cabin, s.price_amount, f.currency,
		       CASE WHEN s.booking_id IS NOT NULL THEN 'booked'
		            WHEN `+seatHeld("s.", nowSQL)+` THEN 'held'
		            ELSE 'available' END
		FROM flights f JOIN seats s ON s.flight_id = f.id
		WHERE f.id = ?
		ORDER BY s.row_no, s.letter`, flightID)
	if err != nil {
		return nil, fmt.Errorf("seats of %d: %w", flightID, err)
	}
	defer rows.Close()
	var out []flights.Seat
	for rows.Next() {
		var seat flights.Seat
		if err := rows.Scan(&seat.Label, &seat.Cabin, &seat.Price.Amount, &seat.Price.Currency, &seat.Status); err != nil {
			return nil, fmt.Errorf("seats of %d: %w", flightID, err)
		}
		out = append(out, seat)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("seats of %d: %w", flightID, err)
	}
	if len(out) == 0 {
		return nil, flights.ErrNotFound
	}
	return out, nil
}

// insertHoldEvents records event for every seat a hold still has (not
// converted into a booking), in seat order. Run it before the seats change.
const insertHoldEvents = `
	INSERT INTO seat_events (flight_id, seat, event, hold_id, booking_id, at)
	SELECT flight_id, label, ?1, ?2, ?3, ?4 FROM seats
	WHERE hold_id = ?2 AND booking_id IS NULL
	ORDER BY row_no, letter`

// freeHoldSeats frees every seat a hold still has.
const freeHoldSeats = `UPDATE seats SET hold_id = NULL, held_until = NULL WHERE hold_id = ?1 AND booking_id IS NULL`

// holdEvents records event for the seats hold still has; bookingID may be "".
func holdEvents(ctx context.Context, tx *sql.Tx, event, holdID, bookingID, now string) error {
	if _, err := tx.ExecContext(ctx, insertHoldEvents, event, holdID, nullString(bookingID), now); err != nil {
		return fmt.Errorf("record %s events: %w", event, err)
	}
	return nil
}

// seatRow is a seat considered for a hold.
type seatRow struct {
	label  string
	row    int
	letter string
	price  int64
	free   bool
	holder string // the hold id on the seat, live or not
}

var seatRowColumns = `label, row_no, letter, price_amount, ` + freeSeat("", "?1") + `, coalesce(hold_id, '')`

var selectRequestedSeats = `
	SELECT ` + seatRowColumns + ` FROM seats
	WHERE flight_id = ?2 AND label IN (SELECT value FROM json_each(?3))
	ORDER BY row_no, letter`

var selectCabinSeats = `
	SELECT ` + seatRowColumns + ` FROM seats
	WHERE flight_id = ?2 AND cabin = ?3
	ORDER BY row_no, letter`

func querySeats(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]seatRow, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []seatRow
	for rows.Next() {
		var r seatRow
		if err := rows.Scan(&r.label, &r.row, &r.letter, &r.price, &r.free, &r.holder); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// pickSeats chooses which of the seats found for h to grant (in seat order),
// or says why none can be. layout is the cabin's stated layout, "" for none
// (holds.Pick then assumes the default).
func pickSeats(h store.HoldCreateParams, found []seatRow, layout string) ([]seatRow, error) {
	if !h.ByQuantity() {
		known := map[string]bool{}
		var taken []string
		own := 0
		for _, r := range found {
			known[r.label] = true
			if !r.free {
				taken = append(taken, r.label)
				if r.holder == h.ID {
					own++
				}
			}
		}
		var unknown []string
		for _, l := range h.Seats {
			if !known[l] {
				unknown = append(unknown, l)
			}
		}
		if len(unknown) > 0 {
			slices.Sort(unknown)
			return nil, &holds.UnknownSeatsError{Seats: unknown}
		}
		if len(taken) > 0 && own == len(taken) {
			// Our own id holds them: the hold of a keyed id (idempotency.HoldID)
			// exists already, made by this request's first attempt or twin.
			return nil, idempotency.ErrKeyTaken
		}
		if len(taken) > 0 {
			slices.Sort(taken)
			return nil, &holds.SeatsUnavailableError{Seats: taken}
		}
		return found, nil
	}
	slots := make([]holds.SeatSlot, len(found))
	for i, r := range found {
		slots[i] = holds.SeatSlot{Label: r.label, Row: r.row, Letter: r.letter[0], Free: r.free, Price: r.price}
	}
	rnd := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())) // #nosec G404 -- spreads seat picks so concurrent holds collide less; a seat is no secret and guessing the pick wins nothing
	picked := holds.Pick(slots, h.Quantity, layout, rnd)
	if picked == nil {
		return nil, holds.ErrNotEnoughSeats
	}
	var out []seatRow
	for _, r := range found {
		if slices.Contains(picked, r.label) {
			out = append(out, r)
		}
	}
	return out, nil
}

// --- Seat history ---

// SeatEventList implements store.Seats.
func (s *Store) SeatEventList(ctx context.Context, flightID int64) ([]store.SeatEvent, error) {
	rows, err := s.reader.QueryContext(ctx, `
		SELECT flight_id, seat, event, coalesce(hold_id, ''), coalesce(booking_id, ''), at
		FROM seat_events WHERE flight_id = ?1 ORDER BY id`, flightID)
	if err != nil {
		return nil, fmt.Errorf("seat events of %d: %w", flightID, err)
	}
	defer rows.Close()
	var out []store.SeatEvent
	for rows.Next() {
		var (
			e  store.SeatEvent
			at string
		)
		if err := rows.Scan(&e.FlightID, &e.Seat, &e.Event, &e.HoldID, &e.BookingID, &at); err != nil {
			return nil, fmt.Errorf("seat events of %d: %w", flightID, err)
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("seat events of %d: %w", flightID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("seat events of %d: %w", flightID, err)
	}
	return out, nil
}
