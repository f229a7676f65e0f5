package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/reservd/reservd/internal/store/sqlite"
	"github.com/reservd/reservd/internal/store/storetest"
)

func TestMigrateUpReportsApplied(t *testing.T) {
	t.Parallel()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "reservd.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	storetest.MigrateUpReports(t, s)
}
