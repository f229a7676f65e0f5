package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/idempotency"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/trips"
)

const tripColumns = `id, api_key_id, status, state, claims, created_at, updated_at`

func scanTrip(r scanner) (trips.Trip, error) {
	var t trips.Trip
	var status, state, created, updated string
	if err := r.Scan(&t.ID, &t.KeyID, &status, &state, &t.Claim, &created, &updated); err != nil {
		return trips.Trip{}, err
	}
	t.Status = trips.Status(status)
	var err error
	if t.CreatedAt, err = parseTime(created); err != nil {
		return trips.Trip{}, err
	}
	if t.UpdatedAt, err = parseTime(updated); err != nil {
		return trips.Trip{}, err
	}
	return t, t.UnmarshalState([]byte(state))
}

// TripCreate implements store.Trips.
func (s *Store) TripCreate(ctx context.Context, t trips.Trip, done *idempotency.Completion[trips.Trip]) (trips.Trip, error) {
	state, err := t.MarshalState()
	if err != nil {
		return trips.Trip{}, err
	}
	var out trips.Trip
	err = s.write(ctx, func(tx *sql.Tx) error {
		now, _, _, err := readClock(ctx, tx, 0, 0)
		if err != nil {
			return err
		}
		out, err = scanTrip(tx.QueryRowContext(ctx, `
			INSERT INTO trips (id, api_key_id, status, state, lease_until, created_at, updated_at)
			VALUES (?1, ?2, 'pending', ?3, ?4, ?4, ?4) RETURNING `+tripColumns, t.ID, t.KeyID, string(state), now))
		if err != nil {
			return translate(err)
		}
		return complete(ctx, tx, done, out)
	})
	if err != nil {
		return trips.Trip{}, fmt.Errorf("create trip: %w", err)
	}
	return out, nil
}

// TripGet implements store.Trips.
func (s *Store) TripGet(ctx context.Context, keyID int64, id string) (trips.Trip, error) {
	t, err := scanTrip(s.reader.QueryRowContext(ctx, `SELECT `+tripColumns+` FROM trips WHERE id = ?1 AND api_key_id = ?2`, id, keyID))
	if errors.Is(err, sql.ErrNoRows) {
		return trips.Trip{}, trips.ErrNotFound
	}
	if err != nil {
		return trips.Trip{}, fmt.Errorf("trip %s: %w", id, err)
	}
	return t, nil
}

// TripClaim implements store.Trips.
func (s *Store) TripClaim(ctx context.Context, lease time.Duration, limit int) ([]trips.Trip, error) {
	var out []trips.Trip
	err := s.write(ctx, func(tx *sql.Tx) error {
		out = nil
		now, until, _, err := readClock(ctx, tx, lease, 0)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `
			UPDATE trips SET lease_until = ?1, claims = claims + 1
			WHERE id IN (SELECT id FROM trips WHERE status = 'pending' AND lease_until <= ?2 ORDER BY lease_until LIMIT ?3)
			RETURNING `+tripColumns, until, now, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanTrip(rows)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim trips: %w", err)
	}
	return out, nil
}

// TripSave implements store.Trips.
func (s *Store) TripSave(ctx context.Context, t trips.Trip, lease time.Duration) error {
	state, err := t.MarshalState()
	if err != nil {
		return err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		now, until, _, err := readClock(ctx, tx, lease, 0)
		if err != nil {
			return err
		}
		// Only a pending trip of this claim is saved, so of racing workers
		// one settles it and writes its event.
		out, err := scanTrip(tx.QueryRowContext(ctx, `
			UPDATE trips SET status = ?2, state = ?3, lease_until = ?4, updated_at = ?5
			WHERE id = ?1 AND status = 'pending' AND claims = ?6
			RETURNING `+tripColumns, t.ID, string(t.Status), string(state), until, now, t.Claim))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("trip %s: %w", t.ID, store.ErrLeaseLost)
		}
		if err != nil {
			return err
		}
		return tripEvent(ctx, tx, now, out)
	})
	if err != nil {
		return fmt.Errorf("save trip: %w", err)
	}
	return nil
}

// TripUpdate implements store.Trips.
func (s *Store) TripUpdate(ctx context.Context, t trips.Trip, from trips.Status) (trips.Trip, error) {
	state, err := t.MarshalState()
	if err != nil {
		return trips.Trip{}, err
	}
	var out trips.Trip
	err = s.write(ctx, func(tx *sql.Tx) error {
		now, _, _, err := readClock(ctx, tx, 0, 0)
		if err != nil {
			return err
		}
		out, err = scanTrip(tx.QueryRowContext(ctx, `
			UPDATE trips SET status = ?2, state = ?3, claims = claims + 1, updated_at = ?4
			WHERE id = ?1 AND status = ?5 AND claims = ?6
			RETURNING `+tripColumns, t.ID, string(t.Status), string(state), now, string(from), t.Claim))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("trip %s: %w", t.ID, store.ErrLeaseLost)
		}
		if err != nil || t.Status == from {
			return err
		}
		return tripEvent(ctx, tx, now, out)
	})
	if err != nil {
		return trips.Trip{}, fmt.Errorf("update trip: %w", err)
	}
	return out, nil
}

// tripEvent writes, in tx, the event of t reaching its status, if that
// status has one.
func tripEvent(ctx context.Context, tx *sql.Tx, now string, t trips.Trip) error {
	typ, ok := events.OfTripStatus(t.Status)
	if !ok {
		return nil
	}
	return writeEvents(ctx, tx, now, events.OfTrip(typ, t))
}

// TripCancelsWritten implements store.Trips.
func (s *Store) TripCancelsWritten(ctx context.Context, limit int) ([]trips.Trip, error) {
	rows, err := s.reader.QueryContext(ctx, `
		SELECT `+tripColumns+` FROM trips
		WHERE status = 'confirmed' AND json_extract(state, '$.cancel') IS NOT NULL
		ORDER BY updated_at LIMIT ?1`, limit)
	if err != nil {
		return nil, fmt.Errorf("written cancellations: %w", err)
	}
	defer rows.Close()
	var out []trips.Trip
	for rows.Next() {
		t, err := scanTrip(rows)
		if err != nil {
			return nil, fmt.Errorf("written cancellations: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("written cancellations: %w", err)
	}
	return out, nil
}
