// Package sqlite is the embedded storage engine: a single SQLite file under
// DATA_DIR through the pure-Go modernc.org/sqlite driver, so that
// `go run ./cmd/reservd` works on a machine with nothing installed.
//
// SQLite allows one writer at a time. The engine keeps a one-connection
// writer pool whose transactions begin IMMEDIATE (the write lock is taken up
// front, so two writers never deadlock upgrading a read lock) and a separate
// pool of readers that WAL lets run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/XSAM/otelsql"
	"github.com/pressly/goose/v3"
	"github.com/prometheus/client_golang/prometheus"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// timeFormat is how every time is stored: fixed width, UTC, milliseconds, the
// same form as strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), so text order is time order.
const timeFormat = "2006-01-02T15:04:05.000Z"

// nowSQL is the database clock.
const nowSQL = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`

// Store is the SQLite engine.
type Store struct {
	path   string
	writer *sql.DB
	reader *sql.DB
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := private(path); err != nil {
		return nil, err
	}
	pragmas := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		pragmas.Add("_pragma", p)
	}
	dsn := func(txlock string) string {
		q := url.Values{"_txlock": {txlock}}
		for k, v := range pragmas {
			q[k] = v
		}
		return "file:" + path + "?" + q.Encode()
	}
	writer, err := openDB(dsn("immediate"))
	if err != nil {
		return nil, fmt.Errorf("open sqlite writer: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	reader, err := openDB(dsn("deferred"))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("open sqlite reader: %w", err)
	}
	reader.SetMaxOpenConns(8)
	reader.SetMaxIdleConns(8)
	reader.SetConnMaxIdleTime(0)
	s := &Store{path: path, writer: writer, reader: reader}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// private makes the database's directory (DATA_DIR) and files readable by
// this user only: they hold every customer's holds, bookings and trips
// (names, emails, phone numbers) and the API keys' digests. The directory
// is made 0700; the database file is created 0600 before SQLite opens it,
// so that its WAL and shared-memory files, which SQLite creates with the
// database file's permissions, are 0600 too; files left by an earlier
// version with looser permissions are tightened.
func private(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("restrict data dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create database file: %w", err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("restrict %s: %w", filepath.Base(p), err)
		}
	}
	return nil
}

// openDB opens a pool on the modernc driver wrapped by otelsql: a span per
// statement and transaction, under the caller's span only (migrations and
// other work outside any trace make none), named by the statement's
// operation; arguments are never recorded.
func openDB(dsn string) (*sql.DB, error) {
	return otelsql.Open("sqlite", dsn,
		otelsql.WithAttributes(semconv.DBSystemNameSQLite),
		otelsql.WithSpanNameFormatter(func(_ context.Context, method otelsql.Method, query string) string {
			op := strings.TrimSpace(query)
			if i := strings.IndexFunc(op, unicode.IsSpace); i > 0 {
				op = op[:i]
			}
			if op == "" {
				return string(method) // sql.conn.begin_tx, sql.tx.commit, …
			}
			return strings.ToUpper(op)
		}),
		otelsql.WithSpanOptions(otelsql.SpanOptions{
			OmitConnResetSession: true,
			OmitConnPrepare:      true,
			OmitRows:             true,
			OmitConnectorConnect: true,
			SpanFilter: func(ctx context.Context, _ otelsql.Method, _ string, _ []driver.NamedValue) bool {
				return trace.SpanFromContext(ctx).IsRecording()
			},
		}),
	)
}

// Collector exports the writer and reader pools' statistics as Prometheus
// metrics. database/sql does not count acquisitions, only waits.
func (s *Store) Collector() prometheus.Collector {
	return store.NewPoolCollector(func() []store.PoolStats {
		stats := func(pool string, db *sql.DB) store.PoolStats {
			st := db.Stats()
			return store.PoolStats{
				Pool: pool, MaxConns: st.MaxOpenConnections, OpenConns: st.OpenConnections,
				InUse: st.InUse, Idle: st.Idle, WaitCount: st.WaitCount, WaitDuration: st.WaitDuration,
			}
		}
		return []store.PoolStats{stats("writer", s.writer), stats("reader", s.reader)}
	})
}

// WorkDepth implements store.Store.
func (s *Store) WorkDepth(ctx context.Context) (map[string]int, error) {
	var payments, refunds, pending int
	err := s.reader.QueryRowContext(ctx, `
		SELECT (SELECT count(*) FROM payments WHERE state = 'pending'),
		       (SELECT count(*) FROM payments WHERE state = 'refunding'),
		       (SELECT count(*) FROM trips WHERE status = 'pending')`).Scan(&payments, &refunds, &pending)
	if err != nil {
		return nil, fmt.Errorf("work depth: %w", err)
	}
	return map[string]int{store.QueuePayments: payments, store.QueueRefunds: refunds, store.QueueTrips: pending}, nil
}

// Engine implements store.Store.
func (s *Store) Engine() string { return "sqlite" }

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Migrate applies the embedded migrations.
func (s *Store) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.writer, sub)
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
	if err := s.reader.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	return errors.Join(s.reader.Close(), s.writer.Close())
}

// HasFlights implements store.Store.
func (s *Store) HasFlights(ctx context.Context) (bool, error) {
	var n int
	if err := s.reader.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM flights)`).Scan(&n); err != nil {
		return false, fmt.Errorf("has flights: %w", err)
	}
	return n == 1, nil
}

// CreateFlight implements store.Store.
func (s *Store) CreateFlight(ctx context.Context, f flights.NewFlight) (flights.Flight, error) {
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
	if err := tx.Commit(); err != nil {
		return flights.Flight{}, fmt.Errorf("commit flight: %w", err)
	}
	return s.Flight(ctx, id)
}

// freeSeat is the predicate that makes a seat available, expiry included.
const freeSeat = `s.booking_id IS NULL AND (s.hold_id IS NULL OR s.held_until <= ` + nowSQL + `)`

const flightColumns = `f.id, f.number, f.origin, f.destination, f.departs_at, f.arrives_at, f.seats_total, f.currency,
	count(s.label), min(s.price_amount)`

// Flight implements store.Store.
func (s *Store) Flight(ctx context.Context, id int64) (flights.Flight, error) {
	row := s.reader.QueryRowContext(ctx, `
		SELECT `+flightColumns+`
		FROM flights f LEFT JOIN seats s ON s.flight_id = f.id AND `+freeSeat+`
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

// ListFlights implements store.Store.
func (s *Store) ListFlights(ctx context.Context, filter flights.Filter, after *store.FlightCursor, limit int) ([]flights.Flight, error) {
	var dayStart, dayEnd, afterAt any
	var afterID int64
	if !filter.Date.IsZero() {
		d := filter.Date.UTC().Truncate(24 * time.Hour)
		dayStart, dayEnd = d.Format(timeFormat), d.AddDate(0, 0, 1).Format(timeFormat)
	}
	if after != nil {
		afterAt, afterID = after.DepartsAt.UTC().Format(timeFormat), after.ID
	}
	rows, err := s.reader.QueryContext(ctx, `
		WITH page AS (
			SELECT * FROM flights
			WHERE (?1 = '' OR origin = ?1)
			  AND (?2 = '' OR destination = ?2)
			  AND (?3 IS NULL OR (departs_at >= ?3 AND departs_at < ?4))
			  AND (?5 IS NULL OR (departs_at, id) > (?5, ?6))
			ORDER BY departs_at, id
			LIMIT ?7
		)
		SELECT `+flightColumns+`
		FROM page f LEFT JOIN seats s ON s.flight_id = f.id AND `+freeSeat+`
		GROUP BY f.id
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
	rows, err := s.reader.QueryContext(ctx, `
		SELECT s.label, s.cabin, s.price_amount, f.currency,
		       CASE WHEN s.booking_id IS NOT NULL THEN 'booked'
		            WHEN s.hold_id IS NOT NULL AND s.held_until > `+nowSQL+` THEN 'held'
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

// CreateAPIKey implements store.Store.
func (s *Store) CreateAPIKey(ctx context.Context, name string, digest []byte, admin bool) (int64, error) {
	var id int64
	err := s.writer.QueryRowContext(ctx, `INSERT INTO api_keys (name, digest, admin) VALUES (?, ?, ?) RETURNING id`,
		name, digest, admin).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create api key: %w", translate(err))
	}
	return id, nil
}

// Principal implements store.Store.
func (s *Store) Principal(ctx context.Context, digest []byte) (apikey.Principal, error) {
	var p apikey.Principal
	err := s.reader.QueryRowContext(ctx, `SELECT id, name, admin FROM api_keys WHERE digest = ? AND revoked_at IS NULL`, digest).
		Scan(&p.KeyID, &p.Name, &p.Admin)
	if errors.Is(err, sql.ErrNoRows) {
		return apikey.Principal{}, apikey.ErrNotFound
	}
	if err != nil {
		return apikey.Principal{}, fmt.Errorf("principal: %w", err)
	}
	return p, nil
}

type scanner interface{ Scan(dest ...any) error }

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

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// translate maps driver errors onto the store's sentinel errors.
func translate(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return fmt.Errorf("%w: %v", store.ErrConflict, err)
		}
	}
	return err
}
