package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/store"
)

// FlightExists implements store.Store.
func (s *Store) FlightExists(ctx context.Context) (bool, error) {
	var has bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM flights)`).Scan(&has); err != nil {
		return false, fmt.Errorf("has flights: %w", err)
	}
	return has, nil
}

// FlightCreate implements store.Store.
func (s *Store) FlightCreate(ctx context.Context, f flights.NewFlight) (flights.Flight, error) {
	n := len(f.Seats)
	var (
		labels  = make([]string, 0, n)
		rows    = make([]int32, 0, n)
		letters = make([]string, 0, n)
		cabins  = make([]string, 0, n)
		prices  = make([]int64, 0, n)
	)
	for _, seat := range f.Seats {
		row, letter, err := flights.ParseSeatLabel(seat.Label)
		if err != nil {
			return flights.Flight{}, err
		}
		labels = append(labels, seat.Label)
		rows = append(rows, int32(row)) // #nosec G115 -- ParseSeatLabel's row has 1 to 3 digits (1 to 999)
		letters = append(letters, string(letter))
		cabins = append(cabins, string(seat.Cabin))
		prices = append(prices, seat.Price.Amount)
	}

	if len(f.Seats) == 0 {
		return flights.Flight{}, errors.New("create flight: a flight needs at least one seat")
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return flights.Flight{}, fmt.Errorf("create flight: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var id int64
	err = tx.QueryRow(ctx, `
		INSERT INTO flights (number, origin, destination, departs_at, arrives_at, currency, seats_total)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		f.Number, f.Origin, f.Destination, f.DepartsAt.UTC(), f.ArrivesAt.UTC(),
		f.Seats[0].Price.Currency, n).Scan(&id)
	if err != nil {
		return flights.Flight{}, fmt.Errorf("insert flight: %w", translate(err))
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO seats (flight_id, label, row_no, letter, cabin, price_amount)
		SELECT $1, label, row_no, letter, cabin, price_amount
		FROM unnest($2::text[], $3::integer[], $4::text[], $5::text[], $6::bigint[])
		     AS t (label, row_no, letter, cabin, price_amount)`,
		id, labels, rows, letters, cabins, prices)
	if err != nil {
		return flights.Flight{}, fmt.Errorf("insert seats: %w", translate(err))
	}
	if len(f.Layout) > 0 {
		var lc, ls []string
		for c, seats := range f.Layout {
			lc, ls = append(lc, string(c)), append(ls, seats)
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO cabin_layouts (flight_id, cabin, seats)
			SELECT $1, cabin, seats FROM unnest($2::text[], $3::text[]) AS t (cabin, seats)`, id, lc, ls)
		if err != nil {
			return flights.Flight{}, fmt.Errorf("insert layout: %w", translate(err))
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return flights.Flight{}, fmt.Errorf("commit flight: %w", err)
	}
	return s.FlightGet(ctx, id)
}

const flightColumns = `f.id, f.number, f.origin, f.destination, f.departs_at, f.arrives_at, f.seats_total, f.currency,
	count(s.label), min(s.price_amount)`

// pageGroupBy lists every column of a page of flights: PostgreSQL infers
// functional dependency on a primary key only for tables, not for CTEs.
const pageGroupBy = `f.id, f.number, f.origin, f.destination, f.departs_at, f.arrives_at, f.seats_total, f.currency`

// FlightGet implements store.Store.
func (s *Store) FlightGet(ctx context.Context, id int64) (flights.Flight, error) {
	row := s.pool.QueryRow(ctx, `
		SELECT `+flightColumns+`
		FROM flights f LEFT JOIN seats s ON s.flight_id = f.id AND `+freeSeat+`
		WHERE f.id = $1
		GROUP BY f.id`, id)
	f, err := scanFlight(row)
	if errors.Is(err, pgx.ErrNoRows) {
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
	var dayStart, dayEnd, afterAt *time.Time
	var afterID int64
	if !filter.Date.IsZero() {
		d := filter.Date.UTC().Truncate(24 * time.Hour)
		end := d.AddDate(0, 0, 1)
		dayStart, dayEnd = &d, &end
	}
	if after != nil {
		at := after.DepartsAt.UTC()
		afterAt, afterID = &at, after.ID
	}
	rows, err := s.pool.Query(ctx, `
		WITH page AS (
			SELECT * FROM flights f
			WHERE ($8 OR NOT `+flightDeparted+`)
			  AND ($1::text = '' OR origin = $1)
			  AND ($2::text = '' OR destination = $2)
			  AND ($3::timestamptz IS NULL OR (departs_at >= $3 AND departs_at < $4::timestamptz))
			  AND ($5::timestamptz IS NULL OR (departs_at, id) > ($5, $6::bigint))
			ORDER BY departs_at, id
			LIMIT $7
		)
		SELECT `+flightColumns+`
		FROM page f LEFT JOIN seats s ON s.flight_id = f.id AND `+freeSeat+`
		GROUP BY `+pageGroupBy+`
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

func scanFlight(r pgx.Row) (flights.Flight, error) {
	var (
		f        flights.Flight
		currency string
		lowest   *int64
	)
	if err := r.Scan(&f.ID, &f.Number, &f.Origin, &f.Destination, &f.DepartsAt, &f.ArrivesAt, &f.SeatsTotal, &currency,
		&f.SeatsAvailable, &lowest); err != nil {
		return flights.Flight{}, err
	}
	f.DepartsAt, f.ArrivesAt = f.DepartsAt.UTC(), f.ArrivesAt.UTC()
	if lowest != nil {
		f.LowestPrice = &money.Money{Amount: *lowest, Currency: currency}
	}
	return f, nil
}
