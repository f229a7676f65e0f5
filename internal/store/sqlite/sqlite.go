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
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/XSAM/otelsql"
	"github.com/prometheus/client_golang/prometheus"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

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
		writer.Close() // #nosec G104 -- already returning the open error; a failed close adds nothing to it
		return nil, fmt.Errorf("open sqlite reader: %w", err)
	}
	reader.SetMaxOpenConns(8)
	reader.SetMaxIdleConns(8)
	reader.SetConnMaxIdleTime(0)
	s := &Store{path: path, writer: writer, reader: reader}
	if err := s.Ping(ctx); err != nil {
		s.Close() // #nosec G104 -- already returning the ping's error; a failed close adds nothing to it
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
	if err := os.Chmod(dir, 0o700); err != nil { // #nosec G302 -- a directory needs x; 0700 is owner only
		return fmt.Errorf("restrict data dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600) // #nosec G304 -- path is DATA_DIR from the operator
	if err != nil {
		return fmt.Errorf("create database file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("create database file: %w", err)
	}
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
	_, err := s.MigrateUp(ctx)
	return err
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

type scanner interface{ Scan(dest ...any) error }

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

// How the reservation methods work on SQLite:
//
//   - Every write is one transaction on the writer pool. The writer has one
//     connection and its transactions begin IMMEDIATE, so writes run one at
//     a time and each sees the seats exactly as the previous one left them.
//   - A write transaction reads the database clock once, right after taking
//     the write lock (readClock), and judges and stamps everything with that
//     instant, as PostgreSQL's now() does within a transaction. Times are the
//     fixed-width UTC text of timeFormat, so comparing them as text compares
//     them as instants.
//   - A seat is free iff booking_id IS NULL AND (hold_id IS NULL OR
//     held_until <= now): an expired hold frees its seats without any
//     background work. held_until is the hold's expires_at, pushed later
//     while a payment is pending (the pin).

// modifier is the strftime modifier that moves a time by d, to the millisecond.
func modifier(d time.Duration) string { return fmt.Sprintf("%+.3f seconds", d.Seconds()) }

const clockSQL = `SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
	strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1), strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?2)`

// readClock reads the database clock once for a transaction: now, now+d1
// and now+d2, all from the same instant.
func readClock(ctx context.Context, tx *sql.Tx, d1, d2 time.Duration) (now, at1, at2 string, err error) {
	err = tx.QueryRowContext(ctx, clockSQL, modifier(d1), modifier(d2)).Scan(&now, &at1, &at2)
	if err != nil {
		return "", "", "", fmt.Errorf("read clock: %w", err)
	}
	return now, at1, at2, nil
}

// write runs fn in one writer transaction and commits it if fn succeeds.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
