package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/reservd/reservd/internal/config"
	"github.com/reservd/reservd/internal/jobs"
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

// sequenceEventsEvery is the sequencer's period.
//
// MERGE NOTE (streams12): the smallest seam streams need until the outbox
// branch (outbox12) lands with its own sequencer job and
// EVENT_SEQUENCE_INTERVAL: keep that job, and call a.onSequenced from it
// after each pass that gave positions (its OnSequenced hook); then delete
// this job and constant.
const sequenceEventsEvery = 100 * time.Millisecond

// sequenceEventsJob gives positions to committed events and wakes the
// streams for them.
func (a *App) sequenceEventsJob() jobs.Job {
	return jobs.Job{Name: "sequence_events", Every: sequenceEventsEvery, Run: func(ctx context.Context) (int, error) {
		s, err := a.Store.EventSequence(ctx, 1000)
		if err != nil || s.N == 0 {
			return 0, err
		}
		a.onSequenced(ctx, s)
		return s.N, nil
	}}
}
