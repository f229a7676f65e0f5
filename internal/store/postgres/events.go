package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/store"
)

// insertEvents is the outbox write, in the transaction of the change it
// reports. The database stamps created_at, the transaction (tx) and the
// write order (seq); pos stays NULL until the sequencer gives it.
var insertEvents = insertEventsFrom(1)

// insertEventsFrom is insertEvents with its five array parameters numbered
// from $first, for statements that write events in a CTE of their own
// (eventArgs gives the arguments): the transactions that send their writes
// as one statement with COMMIT (a hold, a batch of holds) add their events
// to it, at no extra round trip.
func insertEventsFrom(first int) string {
	return fmt.Sprintf(`
	INSERT INTO events (id, api_key_id, type, flight_id, data)
	SELECT id, key, type, nullif(flight, 0), data::json
	FROM unnest($%d::text[], $%d::bigint[], $%d::text[], $%d::bigint[], $%d::text[]) AS e(id, key, type, flight, data)`,
		first, first+1, first+2, first+3, first+4)
}

// eventArgs are insertEvents' arguments for evs.
func eventArgs(evs []events.Event) []any {
	ids, types, data := make([]string, len(evs)), make([]string, len(evs)), make([]string, len(evs))
	keys, flights := make([]int64, len(evs)), make([]int64, len(evs))
	for i, e := range evs {
		ids[i], keys[i], types[i], flights[i], data[i] = e.ID, e.KeyID, string(e.Type), e.FlightID, string(e.Data)
	}
	return []any{ids, keys, types, flights, data}
}

// writeEvents writes evs in tx.
func writeEvents(ctx context.Context, tx pgx.Tx, evs ...events.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, insertEvents, eventArgs(evs)...); err != nil {
		return fmt.Errorf("write events: %w", err)
	}
	return nil
}

const eventColumns = `id, api_key_id, type, coalesce(flight_id, 0), data::text, created_at, coalesce(pos, 0)`

func scanEvent(row pgx.Row) (events.Event, error) {
	var (
		e    events.Event
		data string
	)
	err := row.Scan(&e.ID, &e.KeyID, &e.Type, &e.FlightID, &data, &e.CreatedAt, &e.Pos)
	e.Data, e.CreatedAt = []byte(data), e.CreatedAt.UTC()
	return e, err
}

// EventList implements store.Events.
func (s *Store) EventList(ctx context.Context, p store.EventListParams) ([]events.Event, error) {
	var types []string
	for _, t := range p.Types {
		types = append(types, string(t))
	}
	// Two statements rather than "$1 = 0 OR …", so that each plans onto its index.
	q := `SELECT ` + eventColumns + ` FROM events
		WHERE api_key_id = $1 AND pos > $2 AND ($3::text[] IS NULL OR type = ANY($3))
		ORDER BY pos LIMIT $4`
	args := []any{p.KeyID, p.AfterPos, types, p.Limit}
	if p.KeyID == 0 {
		q = `SELECT ` + eventColumns + ` FROM events
			WHERE pos > $1 AND ($2::text[] IS NULL OR type = ANY($2))
			ORDER BY pos LIMIT $3`
		args = args[1:]
	}
	// Planned for its arguments (pgx.QueryExecModeExec): the generic plan
	// PostgreSQL settles on after five runs, made while the table was
	// small, reads every event past the position and sorts them (a bitmap
	// scan), which costs more the further behind the reader is; with the
	// position known, the plan walks the index in order and stops at the
	// limit.
	rows, err := s.pool.Query(ctx, q, append([]any{pgx.QueryExecModeExec}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var out []events.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// EventGet implements store.Events.
func (s *Store) EventGet(ctx context.Context, keyID int64, id string) (events.Event, error) {
	e, err := scanEvent(s.pool.QueryRow(ctx, `SELECT `+eventColumns+` FROM events WHERE id = $1 AND api_key_id = $2`, id, keyID))
	if errors.Is(err, pgx.ErrNoRows) {
		return events.Event{}, events.ErrNotFound
	}
	if err != nil {
		return events.Event{}, fmt.Errorf("event %s: %w", id, err)
	}
	return e, nil
}

// sequencerLock is the advisory lock that lets one replica sequence at a
// time ("reservd.events" folded into a bigint).
const sequencerLock = 0x72736576_656e7473

// EventSequence implements store.Events. An event's transaction is
// certainly over once it is older than the oldest transaction still running
// (the snapshot's xmin): every event the pass can see with tx below xmin is
// committed, and every event still to commit belongs to a transaction at or
// above it, so it will get a later position than any given now. Passes are
// serialized by a transaction-scoped advisory lock (it works through
// PgBouncer's transaction pooling), so positions given by one pass are all
// committed before the next pass gives higher ones.
func (s *Store) EventSequence(ctx context.Context, limit int) (store.Sequenced, error) {
	var out store.Sequenced
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		out = store.Sequenced{}
		var locked bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, int64(sequencerLock)).Scan(&locked); err != nil || !locked {
			out.Pending = !locked
			return err
		}
		rows, err := tx.Query(ctx, `
			UPDATE events e SET pos = nextval('events_pos_seq')
			FROM (SELECT seq FROM events
				WHERE pos IS NULL AND tx < pg_snapshot_xmin(pg_current_snapshot())
				ORDER BY seq LIMIT $1) u
			WHERE e.seq = u.seq
			RETURNING e.pos, coalesce(e.flight_id, 0)`, pgx.QueryExecModeExec, limit) // planned for the table as it is now (see WebhookRecordMany)
		if err != nil {
			return err
		}
		var pos, flight int64
		_, err = pgx.ForEachRow(rows, []any{&pos, &flight}, func() error {
			out.N++
			out.LastPos = max(out.LastPos, pos)
			if flight != 0 && !slices.Contains(out.Flights, flight) {
				out.Flights = append(out.Flights, flight)
			}
			return nil
		})
		if err != nil {
			return err
		}
		// What is left is committed (this snapshot sees it) but waits for
		// an older transaction anywhere on the server: its flights are
		// woken now, so that a seat map does not wait for the position.
		var waiting []int64
		if err := tx.QueryRow(ctx, `
			SELECT count(*) > 0, coalesce(array_agg(DISTINCT flight_id) FILTER (WHERE flight_id IS NOT NULL), '{}')
			FROM (SELECT flight_id FROM events WHERE pos IS NULL LIMIT 1000) w`).Scan(&out.Pending, &waiting); err != nil {
			return err
		}
		for _, f := range waiting {
			if !slices.Contains(out.Flights, f) {
				out.Flights = append(out.Flights, f)
			}
		}
		return nil
	})
	if err != nil {
		return store.Sequenced{}, fmt.Errorf("sequence events: %w", err)
	}
	return out, nil
}

// EventPrune implements store.Events.
func (s *Store) EventPrune(ctx context.Context, age time.Duration, limit int) (int, error) {
	tag, err := s.pool.Exec(ctx, `
		DELETE FROM events WHERE seq IN (
			SELECT seq FROM events
			WHERE created_at < now() - make_interval(secs => $1) AND pos IS NOT NULL
			ORDER BY seq LIMIT $2)`, age.Seconds(), limit)
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// EventHead implements store.Events (an index-only read of pos's unique
// index).
func (s *Store) EventHead(ctx context.Context) (int64, error) {
	var pos int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(pos), 0) FROM events`).Scan(&pos); err != nil {
		return 0, fmt.Errorf("event head: %w", err)
	}
	return pos, nil
}
