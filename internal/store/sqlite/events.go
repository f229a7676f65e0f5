package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/store"
)

// writeEvents is the outbox write, in the transaction of the change it
// reports, stamped with that transaction's clock (now). pos stays NULL
// until the sequencer gives it.
func writeEvents(ctx context.Context, tx *sql.Tx, now string, evs ...events.Event) error {
	if len(evs) == 0 {
		return nil
	}
	var (
		q    strings.Builder
		args = make([]any, 0, 6*len(evs))
	)
	q.WriteString(`INSERT INTO events (id, api_key_id, type, flight_id, data, created_at) VALUES `)
	for i, e := range evs {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?)")
		var flight any
		if e.FlightID != 0 {
			flight = e.FlightID
		}
		args = append(args, e.ID, e.KeyID, string(e.Type), flight, string(e.Data), now)
	}
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("write events: %w", err)
	}
	return nil
}

const eventColumns = `id, api_key_id, type, coalesce(flight_id, 0), data, created_at, coalesce(pos, 0)`

func scanEvent(row scanner) (events.Event, error) {
	var (
		e             events.Event
		data, created string
	)
	if err := row.Scan(&e.ID, &e.KeyID, &e.Type, &e.FlightID, &data, &created, &e.Pos); err != nil {
		return events.Event{}, err
	}
	at, err := parseTime(created)
	e.Data, e.CreatedAt = []byte(data), at
	return e, err
}

// EventList implements store.Events.
func (s *Store) EventList(ctx context.Context, p store.EventListParams) ([]events.Event, error) {
	var (
		where = []string{"pos > ?"}
		args  = []any{p.AfterPos}
	)
	if p.KeyID != 0 {
		where, args = append(where, "api_key_id = ?"), append(args, p.KeyID)
	}
	if len(p.Types) > 0 {
		where = append(where, "type IN (?"+strings.Repeat(", ?", len(p.Types)-1)+")")
		for _, t := range p.Types {
			args = append(args, string(t))
		}
	}
	// #nosec G202 -- joins constant SQL fragments; every value is a ? parameter
	rows, err := s.reader.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE `+strings.Join(where, " AND ")+
		` ORDER BY pos LIMIT ?`, append(args, p.Limit)...)
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
	e, err := scanEvent(s.reader.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events WHERE id = ?1 AND api_key_id = ?2`, id, keyID))
	if errors.Is(err, sql.ErrNoRows) {
		return events.Event{}, events.ErrNotFound
	}
	if err != nil {
		return events.Event{}, fmt.Errorf("event %s: %w", id, err)
	}
	return e, nil
}

// EventSequence implements store.Events. Writes take turns on the one
// writer connection, so every event this transaction sees is committed and
// seq already follows commit order: an event's position is its seq.
func (s *Store) EventSequence(ctx context.Context, limit int) (store.Sequenced, error) {
	var out store.Sequenced
	// Most passes find nothing: ask a reader first, so that an idle
	// sequencer never takes the write lock from the holds.
	var waiting bool
	if err := s.reader.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE pos IS NULL)`).Scan(&waiting); err != nil || !waiting {
		return out, err
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		out = store.Sequenced{}
		rows, err := tx.QueryContext(ctx, `
			UPDATE events SET pos = seq
			WHERE seq IN (SELECT seq FROM events WHERE pos IS NULL ORDER BY seq LIMIT ?1)
			RETURNING pos, coalesce(flight_id, 0)`, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var pos, flight int64
			if err := rows.Scan(&pos, &flight); err != nil {
				return err
			}
			out.N++
			out.LastPos = max(out.LastPos, pos)
			if flight != 0 && !slices.Contains(out.Flights, flight) {
				out.Flights = append(out.Flights, flight)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return store.Sequenced{}, fmt.Errorf("sequence events: %w", err)
	}
	return out, nil
}

// EventPrune implements store.Events.
func (s *Store) EventPrune(ctx context.Context, age time.Duration, limit int) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			DELETE FROM events WHERE seq IN (
				SELECT seq FROM events
				WHERE created_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1) AND pos IS NOT NULL
				ORDER BY seq LIMIT ?2)`, modifier(-age), limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	return int(n), nil
}

// EventHead implements store.Events. Positions are given in seq order
// (pos = seq), so the newest sequenced row by seq holds the highest: a
// walk back along the primary key past the few rows not sequenced yet.
func (s *Store) EventHead(ctx context.Context) (int64, error) {
	var pos int64
	err := s.reader.QueryRowContext(ctx, `SELECT pos FROM events WHERE pos IS NOT NULL ORDER BY seq DESC LIMIT 1`).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("event head: %w", err)
	}
	return pos, nil
}
