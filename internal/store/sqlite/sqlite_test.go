package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/sqlite"
	"github.com/reservd/reservd/internal/store/storetest"
)

// TestConformance runs the engine conformance suite against a SQLite file on disk.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t testing.TB) store.Store {
		t.Helper()
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "reservd.db"))
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		return s
	})
}
