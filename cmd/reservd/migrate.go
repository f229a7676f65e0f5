package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/reservd/reservd/internal/app"
	"github.com/reservd/reservd/internal/config"
)

// migrate applies the pending migrations and prints their names.
func migrate(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	st, _, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := app.Migrate(ctx, cfg, st)
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
