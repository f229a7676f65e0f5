package app

import (
	"context"
	"log/slog"

	"github.com/reservd/reservd/internal/config"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/postgres"
	"github.com/reservd/reservd/internal/stream"
)

// startStreams builds the stream hub and runs it (and, on PostgreSQL, the
// LISTEN connection that wakes it for other replicas' changes) until
// Close.
func (a *App) startStreams(cfg config.Config, log *slog.Logger) *stream.Hub {
	hub := stream.New(a.Store, stream.Config{Poll: cfg.Streams.Poll}, log, a.Registry)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if pg, ok := a.Store.(*postgres.Store); ok {
			url := cfg.DatabaseDirectURL
			if url == "" {
				url = cfg.DatabaseURL
			}
			if url == "" { // a test's own store: its pool's configuration
				url = pg.Pool().Config().ConnString()
			}
			go stream.Listen(ctx, url, hub)
		}
		hub.Run(ctx)
	}()
	a.streams = hub
	a.OnSequenced(a.onSequenced)
	a.onClose(func() { hub.Close(); cancel(); <-done })
	return hub
}

// CloseStreams ends every open stream and refuses new ones: serve calls it
// as shutdown begins, so that streams, which never go idle, do not hold it
// up (clients reconnect to another replica).
func (a *App) CloseStreams() {
	if a.streams != nil {
		a.streams.Close()
	}
}

// onSequenced is called after each sequencer pass that gave positions: it
// wakes this replica's streams at once and, on PostgreSQL, every other
// replica's through NOTIFY.
func (a *App) onSequenced(ctx context.Context, s store.Sequenced) {
	w := stream.WakeupOf(s)
	a.streams.Wake(w)
	if pg, ok := a.Store.(*postgres.Store); ok {
		if err := stream.Notify(ctx, pg.Pool(), w); err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "stream: NOTIFY failed; other replicas' streams will poll", "error", err.Error())
		}
	}
}
