package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/jackc/pgx/v5"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/store"
)

// SeatList implements store.Store.
func (s *Store) SeatList(ctx context.Context, flightID int64) ([]flights.Seat, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT s.label, s.cabin, s.price_amount, f.currency,
		       CASE WHEN s.booking_id IS NOT NULL THEN 'booked'
		            WHEN `+seatHeld+` THEN 'held'
		            ELSE 'available' END
		FROM flights f JOIN seats s ON s.flight_id = f.id
		WHERE f.id = $1
		ORDER BY s.row_no, s.letter`, flightID)
	if err != nil {
		return nil, fmt.Errorf("seats of %d: %w", flightID, err)
	}
	defer rows.Close()
	var out []flights.Seat
	for rows.Next() {
		var (
			seat          flights.Seat
			cabin, status string
		)
		if err := rows.Scan(&seat.Label, &cabin, &seat.Price.Amount, &seat.Price.Currency, &status); err != nil {
			return nil, fmt.Errorf("seats of %d: %w", flightID, err)
		}
		seat.Cabin, seat.Status = flights.Cabin(cabin), flights.SeatStatus(status)
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

// pickSeats chooses seats for a quantity request. It picks from an unlocked
// snapshot at random among the best blocks, so concurrent requests spread
// over the cabin instead of queueing on its first row; the caller's locked
// re-check catches a stale pick. The last try locks free seats directly,
// skipping rows other transactions hold.
func pickSeats(ctx context.Context, tx querier, h store.HoldCreateParams, lastTry bool) ([]string, error) {
	if lastTry {
		rows, err := tx.Query(ctx, `
			SELECT s.label FROM seats s
			WHERE s.flight_id = $1 AND s.cabin = $2 AND `+freeSeat+`
			ORDER BY s.price_amount, s.label
			LIMIT $3
			FOR UPDATE SKIP LOCKED`, h.FlightID, string(h.Cabin), h.Quantity)
		if err != nil {
			return nil, err
		}
		labels, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, err
		}
		if len(labels) < h.Quantity {
			return nil, holds.ErrNotEnoughSeats
		}
		return labels, nil
	}
	rows, err := tx.Query(ctx, `
		SELECT s.label, s.row_no, s.letter, s.price_amount, `+freeSeat+`,
			coalesce((SELECT l.seats FROM cabin_layouts l WHERE l.flight_id = $1 AND l.cabin = $2), '')
		FROM seats s WHERE s.flight_id = $1 AND s.cabin = $2`, h.FlightID, string(h.Cabin))
	if err != nil {
		return nil, err
	}
	var slots []holds.SeatSlot
	var slot holds.SeatSlot
	var letter, layout string
	_, err = pgx.ForEachRow(rows, []any{&slot.Label, &slot.Row, &letter, &slot.Price, &slot.Free, &layout}, func() error {
		slot.Letter = letter[0]
		slots = append(slots, slot)
		return nil
	})
	if err != nil {
		return nil, err
	}
	labels := holds.Pick(slots, h.Quantity, layout, rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))) // #nosec G404 -- spreads seat picks so concurrent holds collide less; a seat is no secret and guessing the pick wins nothing
	if labels == nil {
		return nil, holds.ErrNotEnoughSeats
	}
	return labels, nil
}

// lockSeats locks seats of one flight in label order.
func lockSeats(ctx context.Context, tx pgx.Tx, flightID int64, labels []string) error {
	rows, err := tx.Query(ctx, `SELECT 1 FROM seats WHERE flight_id = $1 AND label = ANY($2) ORDER BY label FOR UPDATE`, flightID, labels)
	if err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

// recordEvents appends one seat event per seat, in the order given.
func recordEvents(ctx context.Context, tx pgx.Tx, flightID int64, seats []string, event, holdID, bookingID string) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO seat_events (flight_id, seat, event, hold_id, booking_id)
		SELECT $1, seat, $3, nullif($4, ''), nullif($5, '') FROM unnest($2::text[]) WITH ORDINALITY AS x(seat, n) ORDER BY n`,
		flightID, seats, event, holdID, bookingID)
	return err
}

// freeSeats clears the seats of flightID matching cond (over $2) and returns
// their labels in seat order. The caller has locked them.
func freeSeats(ctx context.Context, tx pgx.Tx, flightID int64, cond string, arg any) ([]string, error) {
	rows, err := tx.Query(ctx, `
		UPDATE seats SET hold_id = NULL, held_until = NULL, booking_id = NULL
		WHERE flight_id = $1 AND `+cond+` RETURNING label`, flightID, arg)
	if err != nil {
		return nil, err
	}
	labels, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	return flights.SortSeatLabels(labels), nil
}

// SeatEventList implements store.Seats.
func (s *Store) SeatEventList(ctx context.Context, flightID int64) ([]store.SeatEvent, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT flight_id, seat, event, coalesce(hold_id, ''), coalesce(booking_id, ''), at
		FROM seat_events WHERE flight_id = $1 ORDER BY id`, flightID)
	if err != nil {
		return nil, fmt.Errorf("seat events: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.SeatEvent, error) {
		var e store.SeatEvent
		err := r.Scan(&e.FlightID, &e.Seat, &e.Event, &e.HoldID, &e.BookingID, &e.At)
		e.At = e.At.UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("seat events: %w", err)
	}
	return out, nil
}
