package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/reservd/reservd/internal/config"
	"github.com/reservd/reservd/internal/store"
)

// migrate applies the pending migrations and prints their names.
func migrate(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	st, _, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	m, ok := st.(store.MigratorUp)
	if !ok {
		return fmt.Errorf("the %s store cannot report its migrations", st.Engine())
	}
	applied, err := m.MigrateUp(ctx)
	if err != nil {
		return err
	}
	for _, name := range applied {
		fmt.Fprintf(stdout, "applied %s\n", name)
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "no migrations pending: the %s database is up to date\n", st.Engine())
	}
	log.Info("migrations applied", "engine", st.Engine(), "applied", len(applied))
	return nil
}
