package store

import "context"

// MigratorUp applies the pending migrations and says which, for `reservd
// migrate`; part of Store (whose Migrate is the same, silent).
type MigratorUp interface {
	// MigrateUp applies the pending migrations and returns their file
	// names in the order applied; none when the database was up to date.
	MigrateUp(ctx context.Context) ([]string, error)
}
