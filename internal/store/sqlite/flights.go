package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/store"
)

// FlightExists implements store.Store.
func (s *Store) FlightExists(ctx context.Context) (bool, error) {
	var n int
	if err := s.reader.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM flights)`).Scan(&n); err != nil {
		return false, fmt.Errorf("has flights: %w", err)
	}
	return n == 1, nil
}

// FlightCreate implements store.Store.
func (s *Store) FlightCreate(ctx context.Context, f flights.NewFlight) (flights.Flight, error) {
	if len(f.Seats) == 0 {
		return flights.Flight{}, errors.New("create flight: a flight needs at least one seat")
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return flights.Flight{}, fmt.Errorf("create flight: %w", err)
	}
	defer tx.Rollback()
	var id int64
	err = tx.QueryRowContext(ctx, `
		INSERT INTO flights (number, origin, destination, departs_at, arrives_at, currency, seats_total)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		f.Number, f.Origin, f.Destination, f.DepartsAt.UTC().Format(timeFormat), f.ArrivesAt.UTC().Format(timeFormat),
		f.Seats[0].Price.Currency, len(f.Seats)).Scan(&id)
	if err != nil {
		return flights.Flight{}, fmt.Errorf("insert flight: %w", translate(err))
	}
	stmt, err := tx.PrepareContext(ctx, `
		INSERT INTO seats (flight_id, label, row_no, letter, cabin, price_amount) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return flights.Flight{}, fmt.Errorf("prepare seats: %w", err)
	}
	defer stmt.Close()
	for _, seat := range f.Seats {
		row, letter, err := flights.ParseSeatLabel(seat.Label)
		if err != nil {
			return flights.Flight{}, err
		}
		if _, err := stmt.ExecContext(ctx, id, seat.Label, row, string(letter), string(seat.Cabin), seat.Price.Amount); err != nil {
			return flights.Flight{}, fmt.Errorf("insert seat %s: %w", seat.Label, translate(err))
		}
	}
	for c, seats := range f.Layout {
		if _, err := tx.ExecContext(ctx, `INSERT INTO cabin_layouts (flight_id, cabin, seats) VALUES (?, ?, ?)`, id, string(c), seats); err != nil {
			return flights.Flight{}, fmt.Errorf("insert layout of %s: %w", c, translate(err))
		}
	}
	if err := tx.Commit(); err != nil {
		return flights.Flight{}, fmt.Errorf("commit flight: %w", err)
	}
	return s.FlightGet(ctx, id)
}

// liveFreeSeat is a seat of alias s available now.
var liveFreeSeat = freeSeat("s.", nowSQL)

const flightColumns = `f.id, f.number, f.origin, f.destination, f.departs_at, f.arrives_at, f.seats_total, f.currency,
	count(s.label), min(s.price_amount)`

// FlightGet implements store.Store.
func (s *Store) FlightGet(ctx context.Context, id int64) (flights.Flight, error) {
	// #nosec G202 -- joins constant SQL fragments (holds.go's seatHeld, freeSeat, … of constant arguments); every value is a ? parameter
	row := s.reader.QueryRowContext(ctx, `
		SELECT `+flightColumns+`
		FROM flights f LEFT JOIN seats s ON s.flight_id = f.id AND `+liveFreeSeat+`
		WHERE f.id = ?
		GROUP BY f.id`, id)
	f, err := scanFlight(row)
	if errors.Is(err, sql.ErrNoRows) {
		return flights.Flight{}, flights.ErrNotFound
	}
	if err != nil {
		return flights.Flight{}, fmt.Errorf("flight %d: %w", id, err)
	}
	return f, nil
}

// FlightList implements store.Store.
func (s *Store) FlightList(ctx context.Context, p store.FlightListParams) ([]flights.Flight, error) {
	filter, after, limit := p.Filter, p.After, p.Limit
	var dayStart, dayEnd, afterAt any
	var afterID int64
	if !filter.Date.IsZero() {
		d := filter.Date.UTC().Truncate(24 * time.Hour)
		dayStart, dayEnd = d.Format(timeFormat), d.AddDate(0, 0, 1).Format(timeFormat)
	}
	if after != nil {
		afterAt, afterID = after.DepartsAt.UTC().Format(timeFormat), after.ID
	}
	// #nosec G202 -- joins constant SQL fragments (holds.go's seatHeld, freeSeat, … of constant arguments); every value is a ? parameter
	rows, err := s.reader.QueryContext(ctx, `
		WITH page AS (
			SELECT * FROM flights
			WHERE (?8 OR NOT `+flightDeparted("", nowSQL)+`)
			  AND (?1 = '' OR origin = ?1)
			  AND (?2 = '' OR destination = ?2)
			  AND (?3 IS NULL OR (departs_at >= ?3 AND departs_at < ?4))
			  AND (?5 IS NULL OR (departs_at, id) > (?5, ?6))
			ORDER BY departs_at, id
			LIMIT ?7
		)
		SELECT `+flightColumns+`
		FROM page f LEFT JOIN seats s ON s.flight_id = f.id AND `+liveFreeSeat+`
		GROUP BY f.id
		ORDER BY f.departs_at, f.id`,
		filter.Origin, filter.Destination, dayStart, dayEnd, afterAt, afterID, limit, filter.IncludeDeparted)
	if err != nil {
		return nil, fmt.Errorf("list flights: %w", err)
	}
	defer rows.Close()
	var out []flights.Flight
	for rows.Next() {
		f, err := scanFlight(rows)
		if err != nil {
			return nil, fmt.Errorf("list flights: %w", err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list flights: %w", err)
	}
	return out, nil
}

func scanFlight(r scanner) (flights.Flight, error) {
	var (
		f                flights.Flight
		departs, arrives string
		currency         string
		lowest           sql.NullInt64
	)
	if err := r.Scan(&f.ID, &f.Number, &f.Origin, &f.Destination, &departs, &arrives, &f.SeatsTotal, &currency,
		&f.SeatsAvailable, &lowest); err != nil {
		return flights.Flight{}, err
	}
	var err error
	if f.DepartsAt, err = parseTime(departs); err != nil {
		return flights.Flight{}, err
	}
	if f.ArrivesAt, err = parseTime(arrives); err != nil {
		return flights.Flight{}, err
	}
	if lowest.Valid {
		f.LowestPrice = &money.Money{Amount: lowest.Int64, Currency: currency}
	}
	return f, nil
}
