package storetest

import (
	"path/filepath"
	"testing"

	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/postgres"
	"github.com/reservd/reservd/internal/store/sqlite"
	"github.com/reservd/reservd/internal/testdb"
)

// Engines builds a fresh, migrated store of each engine: a SQLite file in a
// temporary directory, and a new database on the test PostgreSQL (which must
// be reachable: see testdb). Tests above the store run against both.
var Engines = map[string]NewStore{
	"sqlite": func(t testing.TB) store.Store {
		t.Helper()
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "reservd.db"))
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close sqlite: %v", err)
			}
		})
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("migrate sqlite: %v", err)
		}
		return s
	},
	"postgres": func(t testing.TB) store.Store {
		t.Helper()
		s, err := postgres.Open(t.Context(), testdb.PostgresURL(t))
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close postgres: %v", err)
			}
		})
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("migrate postgres: %v", err)
		}
		return s
	},
}
