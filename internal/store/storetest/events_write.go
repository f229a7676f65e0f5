package storetest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/postgres"
	"github.com/reservd/reservd/internal/store/sqlite"
)

// WriteEvents commits evs to s's outbox as the store's own writes would
// (unsequenced: EventSequence gives them positions), for tests of what reads
// the feed. It writes the events table directly, through the engine's own
// database, without a change to go with them.
func WriteEvents(t testing.TB, s store.Store, evs ...events.Event) {
	t.Helper()
	if err := writeEvents(t.Context(), s, evs); err != nil {
		t.Fatalf("write events: %v", err)
	}
}

func writeEvents(ctx context.Context, s store.Store, evs []events.Event) error {
	switch s := s.(type) {
	case *postgres.Store:
		for _, e := range evs {
			if _, err := s.Pool().Exec(ctx, `INSERT INTO events (id, api_key_id, type, flight_id, data)
				VALUES ($1, $2, $3, nullif($4, 0), $5::json)`, e.ID, e.KeyID, string(e.Type), e.FlightID, string(e.Data)); err != nil {
				return err
			}
		}
		return nil
	case *sqlite.Store:
		db, err := sql.Open("sqlite", "file:"+s.Path()+"?_pragma=busy_timeout(10000)&_txlock=immediate")
		if err != nil {
			return err
		}
		defer db.Close()
		for _, e := range evs {
			if _, err := db.ExecContext(ctx, `INSERT INTO events (id, api_key_id, type, flight_id, data)
				VALUES (?, ?, ?, nullif(?, 0), ?)`, e.ID, e.KeyID, string(e.Type), e.FlightID, string(e.Data)); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("no test writer of events for %T", s)
}

// NewEvent is an event of type typ for keyID with a small made-up object.
func NewEvent(keyID int64, typ events.Type) events.Event {
	data, _ := json.Marshal(map[string]any{"object": string(typ), "test": true})
	return events.Event{ID: events.NewID(), KeyID: keyID, Type: typ, Data: data}
}

// Sequence sequences every event written so far, waiting for the
// transactions still running on the server to end (on PostgreSQL an event
// is sequenced only once every older transaction is over).
func Sequence(t testing.TB, s store.Store) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := s.EventSequence(t.Context(), 1000); err != nil {
			t.Fatalf("EventSequence: %v", err)
		}
		n, err := unsequenced(t.Context(), s)
		if err != nil {
			t.Fatalf("count unsequenced events: %v", err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events still unsequenced after 15s", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func unsequenced(ctx context.Context, s store.Store) (int, error) {
	const q = `SELECT count(*) FROM events WHERE pos IS NULL`
	var n int
	switch s := s.(type) {
	case *postgres.Store:
		return n, s.Pool().QueryRow(ctx, q).Scan(&n)
	case *sqlite.Store:
		db, err := sql.Open("sqlite", "file:"+s.Path())
		if err != nil {
			return 0, err
		}
		defer db.Close()
		return n, db.QueryRowContext(ctx, q).Scan(&n)
	}
	return 0, fmt.Errorf("no test reader of events for %T", s)
}
