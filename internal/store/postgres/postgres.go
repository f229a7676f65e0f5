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
	"runtime"
	"strings"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

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
		cfg.MaxConns = int32(min(4*runtime.GOMAXPROCS(0), maxConns)) // #nosec G115 -- at most maxConns (32) and GOMAXPROCS is at least 1
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
	_, err := s.MigrateUp(ctx)
	return err
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

// inTx runs fn in a transaction, again if PostgreSQL reports a deadlock or a
// serialization failure.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		var pgErr *pgconn.PgError
		if attempt < 5 && errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001") {
			continue
		}
		return err
	}
}

// querier is a transaction, or a connection with a transaction open on it.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}
