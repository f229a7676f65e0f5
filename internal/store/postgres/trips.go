package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reservd/reservd/internal/idempotency"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/trips"
)

const tripColumns = `id, api_key_id, status, state, claims, created_at, updated_at`

func scanTrip(row pgx.Row) (trips.Trip, error) {
	var t trips.Trip
	var status string
	var state []byte
	if err := row.Scan(&t.ID, &t.KeyID, &status, &state, &t.Claim, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return trips.Trip{}, err
	}
	t.Status = trips.Status(status)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, t.UnmarshalState(state)
}

// TripCreate implements store.Trips.
func (s *Store) TripCreate(ctx context.Context, t trips.Trip, done *idempotency.Completion[trips.Trip]) (trips.Trip, error) {
	state, err := t.MarshalState()
	if err != nil {
		return trips.Trip{}, err
	}
	var out trips.Trip
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = scanTrip(tx.QueryRow(ctx, `
			INSERT INTO trips (id, api_key_id, status, state, lease_until) VALUES ($1, $2, 'pending', $3, now())
			RETURNING `+tripColumns, t.ID, t.KeyID, state))
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
	t, err := scanTrip(s.pool.QueryRow(ctx, `SELECT `+tripColumns+` FROM trips WHERE id = $1 AND api_key_id = $2`, id, keyID))
	if errors.Is(err, pgx.ErrNoRows) {
		return trips.Trip{}, trips.ErrNotFound
	}
	if err != nil {
		return trips.Trip{}, fmt.Errorf("trip %s: %w", id, err)
	}
	return t, nil
}

// TripClaim implements store.Trips.
func (s *Store) TripClaim(ctx context.Context, lease time.Duration, limit int) ([]trips.Trip, error) {
	rows, err := s.pool.Query(ctx, `
		UPDATE trips SET lease_until = now() + $1::interval, claims = claims + 1
		WHERE id IN (
			SELECT id FROM trips WHERE status = 'pending' AND lease_until <= now()
			ORDER BY lease_until LIMIT $2 FOR UPDATE SKIP LOCKED)
		RETURNING `+tripColumns, lease, limit)
	if err != nil {
		return nil, fmt.Errorf("claim trips: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (trips.Trip, error) { return scanTrip(r) })
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
	tag, err := s.pool.Exec(ctx, `
		UPDATE trips SET status = $2, state = $3, lease_until = now() + $4::interval, updated_at = now()
		WHERE id = $1 AND status = 'pending' AND claims = $5`, t.ID, string(t.Status), state, lease, t.Claim)
	if err != nil {
		return fmt.Errorf("save trip: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("save trip %s: %w", t.ID, store.ErrLeaseLost)
	}
	return nil
}

// TripUpdate implements store.Trips.
func (s *Store) TripUpdate(ctx context.Context, t trips.Trip, from trips.Status) (trips.Trip, error) {
	state, err := t.MarshalState()
	if err != nil {
		return trips.Trip{}, err
	}
	out, err := scanTrip(s.pool.QueryRow(ctx, `
		UPDATE trips SET status = $2, state = $3, claims = claims + 1, updated_at = now()
		WHERE id = $1 AND status = $4 AND claims = $5
		RETURNING `+tripColumns, t.ID, string(t.Status), state, string(from), t.Claim))
	if errors.Is(err, pgx.ErrNoRows) {
		return trips.Trip{}, fmt.Errorf("update trip %s: %w", t.ID, store.ErrLeaseLost)
	}
	if err != nil {
		return trips.Trip{}, fmt.Errorf("update trip: %w", err)
	}
	return out, nil
}

// TripCancelsWritten implements store.Trips.
func (s *Store) TripCancelsWritten(ctx context.Context, limit int) ([]trips.Trip, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+tripColumns+` FROM trips
		WHERE status = 'confirmed' AND state ? 'cancel'
		ORDER BY updated_at LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("written cancellations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (trips.Trip, error) { return scanTrip(r) })
	if err != nil {
		return nil, fmt.Errorf("written cancellations: %w", err)
	}
	return out, nil
}
