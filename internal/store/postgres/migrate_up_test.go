package postgres_test

import (
	"testing"

	"github.com/reservd/reservd/internal/store/postgres"
	"github.com/reservd/reservd/internal/store/storetest"
	"github.com/reservd/reservd/internal/testdb"
)

func TestMigrateUpReportsApplied(t *testing.T) {
	t.Parallel()
	s, err := postgres.Open(t.Context(), testdb.PostgresURL(t))
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	storetest.MigrateUpReports(t, s)
}
