package storetest

import (
	"regexp"
	"slices"
	"testing"

	"github.com/reservd/reservd/internal/store"
)

// MigrateUpReports checks store.MigratorUp on a store whose database has
// never been migrated: the first call applies and names every migration in
// order, the next finds none pending, and Migrate agrees.
func MigrateUpReports(t *testing.T, st store.Store) {
	t.Helper()
	m, ok := st.(store.MigratorUp)
	if !ok {
		t.Fatalf("%T does not implement store.MigratorUp", st)
	}
	applied, err := m.MigrateUp(t.Context())
	if err != nil {
		t.Fatalf("MigrateUp on a fresh database: %v", err)
	}
	name := regexp.MustCompile(`^\d{4}_[a-z0-9_]+\.sql$`)
	for i, a := range applied {
		if !name.MatchString(a) {
			t.Errorf("MigrateUp applied %q, want a migration file name", a)
		}
		if i > 0 && a <= applied[i-1] {
			t.Errorf("MigrateUp applied %q after %q, want ascending order", a, applied[i-1])
		}
	}
	if len(applied) < 4 || applied[0] != "0001_init.sql" || !slices.Contains(applied, "0004_api_key_last_used.sql") {
		t.Errorf("MigrateUp on a fresh database applied %q, want every migration from 0001_init.sql", applied)
	}
	if again, err := m.MigrateUp(t.Context()); err != nil || len(again) != 0 {
		t.Errorf("MigrateUp a second time = %q, %v; want nothing pending", again, err)
	}
	if err := st.Migrate(t.Context()); err != nil {
		t.Errorf("Migrate after MigrateUp: %v", err)
	}
	if _, err := st.FlightExists(t.Context()); err != nil {
		t.Errorf("the migrated schema does not answer HasFlights: %v", err)
	}
}
