package postgres_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/postgres"
	"github.com/reservd/reservd/internal/store/storetest"
	"github.com/reservd/reservd/internal/testdb"
)

// TestConformance runs the engine conformance suite, each test against a
// database of its own.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t testing.TB) store.Store {
		t.Helper()
		return open(t, testdb.PostgresURL(t))
	})
}

// TestMigrateTwice checks that a second Migrate applies nothing.
func TestMigrateTwice(t *testing.T) {
	t.Parallel()
	s := open(t, testdb.PostgresURL(t))
	before := versions(t, s)
	if before < 2 { // goose's own row for version 0, then one per migration
		t.Fatalf("goose_db_version has %d rows after the first Migrate, want at least 2", before)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if after := versions(t, s); after != before {
		t.Fatalf("goose_db_version rows: %d before the second Migrate, %d after; want no change", before, after)
	}
}

// TestMigrateConcurrently starts several replicas on one empty database at
// once: the advisory lock lets exactly one of them apply the migrations.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	url := testdb.PostgresURL(t)
	const replicas = 4
	stores := make([]*postgres.Store, replicas)
	for i := range stores {
		s, err := postgres.Open(t.Context(), url)
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i, s := range stores {
		wg.Go(func() { errs[i] = s.Migrate(t.Context()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: Migrate: %v", i, err)
		}
	}
	var applied, distinct int
	err := stores[0].Pool().QueryRow(t.Context(),
		`SELECT count(*), count(DISTINCT version_id) FROM goose_db_version`).Scan(&applied, &distinct)
	if err != nil {
		t.Fatalf("count goose versions: %v", err)
	}
	if applied != distinct {
		t.Errorf("goose_db_version has %d rows for %d versions: a migration was applied twice", applied, distinct)
	}
}

func open(t testing.TB, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

func versions(t testing.TB, s *postgres.Store) int {
	t.Helper()
	var n int
	if err := s.Pool().QueryRow(context.Background(), `SELECT count(*) FROM goose_db_version`).Scan(&n); err != nil {
		t.Fatalf("count goose versions: %v", err)
	}
	return n
}

// TestSequenceWakesWaitingFlights: a transaction open elsewhere on the
// server holds back the position of an event committed after it began, but
// the sequencer's pass still names that event's flight (Sequenced.Flights),
// so that seat maps are woken without waiting for the position.
func TestSequenceWakesWaitingFlights(t *testing.T) {
	t.Parallel()
	s := open(t, testdb.PostgresURL(t))
	ctx := t.Context()
	// An older transaction, with an xid, anywhere on the server.
	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `BEGIN; SELECT pg_current_xact_id()`); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `ROLLBACK`) //nolint:errcheck // the test's own transaction
	ev := storetest.NewEvent(1, events.HoldCreated)
	ev.FlightID = 4242
	storetest.WriteEvents(t, s, ev)
	sq, err := s.EventSequence(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if sq.N != 0 || !sq.Pending || !slices.Equal(sq.Flights, []int64{4242}) {
		t.Fatalf("pass behind an open transaction = %+v; want no position given, pending, flight 4242 named", sq)
	}
}
