// Package postgres is the production storage engine: PostgreSQL through a
// pgx v5 connection pool.
//
// Every time is a timestamptz and every judgement about time (is a hold
// still live?) uses the database clock, now(), so replicas with skewed clocks
// agree. Migrations run under a session-level advisory lock, so several
// replicas starting together apply them once.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strings"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// maxConns caps the default pool size; a pool_max_conns in the URL overrides it.
const maxConns = 32

// Store is the PostgreSQL engine.
type Store struct {
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or a keyword/value
// string; pool_* parameters tune the pool) and checks that it answers.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = int32(min(4*runtime.GOMAXPROCS(0), maxConns))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	// A span per query under the caller's span (none without one), named by
	// the statement's operation; parameters are never recorded. Acquire
	// spans are left out: the pool metrics show waiting for connections.
	cfg.ConnConfig.Tracer = otelpgx.NewTracer(otelpgx.WithDisableAcquireTracer())
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Engine implements store.Store.
func (s *Store) Engine() string { return "postgres" }

// Pool is the connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Collector exports the connection pool's statistics as Prometheus metrics.
func (s *Store) Collector() prometheus.Collector {
	return store.NewPoolCollector(func() []store.PoolStats {
		st := s.pool.Stat()
		return []store.PoolStats{{
			Pool:     "primary",
			MaxConns: int(st.MaxConns()), OpenConns: int(st.TotalConns()),
			InUse: int(st.AcquiredConns()), Idle: int(st.IdleConns()),
			WaitCount: st.EmptyAcquireCount(), WaitDuration: st.EmptyAcquireWaitTime(),
			AcquireCount: st.AcquireCount(), AcquireDuration: st.AcquireDuration(),
			CountsAcquires: true,
		}}
	})
}

// WorkDepth implements store.Store.
func (s *Store) WorkDepth(ctx context.Context) (map[string]int, error) {
	var payments, refunds, pending int
	err := s.pool.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM payments WHERE state = 'pending'),
		       (SELECT count(*) FROM payments WHERE state = 'refunding'),
		       (SELECT count(*) FROM trips WHERE status = 'pending')`).Scan(&payments, &refunds, &pending)
	if err != nil {
		return nil, fmt.Errorf("work depth: %w", err)
	}
	return map[string]int{store.QueuePayments: payments, store.QueueRefunds: refunds, store.QueueTrips: pending}, nil
}

// Migrate applies the embedded migrations, holding a PostgreSQL advisory lock
// so that concurrent callers (replicas starting together) apply them once.
func (s *Store) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	// Poll for the lock every second, for up to five minutes.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// HasFlights implements store.Store.
func (s *Store) HasFlights(ctx context.Context) (bool, error) {
	var has bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM flights)`).Scan(&has); err != nil {
		return false, fmt.Errorf("has flights: %w", err)
	}
	return has, nil
}

// CreateFlight implements store.Store.
func (s *Store) CreateFlight(ctx context.Context, f flights.NewFlight) (flights.Flight, error) {
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
		rows = append(rows, int32(row))
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
	if err := tx.Commit(ctx); err != nil {
		return flights.Flight{}, fmt.Errorf("commit flight: %w", err)
	}
	return s.Flight(ctx, id)
}

// freeSeat is the predicate that makes a seat available, expiry included.
const freeSeat = `s.booking_id IS NULL AND (s.hold_id IS NULL OR s.held_until <= now())`

const flightColumns = `f.id, f.number, f.origin, f.destination, f.departs_at, f.arrives_at, f.seats_total, f.currency,
	count(s.label), min(s.price_amount)`

// pageGroupBy lists every column of a page of flights: PostgreSQL infers
// functional dependency on a primary key only for tables, not for CTEs.
const pageGroupBy = `f.id, f.number, f.origin, f.destination, f.departs_at, f.arrives_at, f.seats_total, f.currency`

// Flight implements store.Store.
func (s *Store) Flight(ctx context.Context, id int64) (flights.Flight, error) {
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

// ListFlights implements store.Store.
func (s *Store) ListFlights(ctx context.Context, filter flights.Filter, after *store.FlightCursor, limit int) ([]flights.Flight, error) {
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
			SELECT * FROM flights
			WHERE ($1::text = '' OR origin = $1)
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
		filter.Origin, filter.Destination, dayStart, dayEnd, afterAt, afterID, limit)
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

// Seats implements store.Store.
func (s *Store) Seats(ctx context.Context, flightID int64) ([]flights.Seat, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT s.label, s.cabin, s.price_amount, f.currency,
		       CASE WHEN s.booking_id IS NOT NULL THEN 'booked'
		            WHEN s.hold_id IS NOT NULL AND s.held_until > now() THEN 'held'
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

// CreateAPIKey implements store.Store.
func (s *Store) CreateAPIKey(ctx context.Context, name string, digest []byte, admin bool) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO api_keys (name, digest, admin) VALUES ($1, $2, $3) RETURNING id`,
		name, digest, admin).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create api key: %w", translate(err))
	}
	return id, nil
}

// Principal implements store.Store.
func (s *Store) Principal(ctx context.Context, digest []byte) (apikey.Principal, error) {
	var p apikey.Principal
	err := s.pool.QueryRow(ctx, `SELECT id, name, admin FROM api_keys WHERE digest = $1 AND revoked_at IS NULL`, digest).
		Scan(&p.KeyID, &p.Name, &p.Admin)
	if errors.Is(err, pgx.ErrNoRows) {
		return apikey.Principal{}, apikey.ErrNotFound
	}
	if err != nil {
		return apikey.Principal{}, fmt.Errorf("principal: %w", err)
	}
	return p, nil
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

// uniqueViolation is the SQLSTATE of a duplicate key.
const uniqueViolation = "23505"

// translate maps driver errors onto the store's sentinel errors.
func translate(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == uniqueViolation {
		return fmt.Errorf("%w: %v", store.ErrConflict, err)
	}
	return err
}
