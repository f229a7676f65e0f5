package sqlite

import (
	"context"
	"fmt"
	"io/fs"
	"path"

	"github.com/pressly/goose/v3"

	"github.com/reservd/reservd/internal/store"
)

var _ store.MigratorUp = (*Store)(nil)

// MigrateUp implements store.MigratorUp.
func (s *Store) MigrateUp(ctx context.Context) ([]string, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.writer, sub)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var names []string
	for _, r := range results {
		if r.Source != nil {
			names = append(names, path.Base(r.Source.Path))
		}
	}
	return names, nil
}
