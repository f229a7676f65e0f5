package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/reservd/reservd/internal/events"
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

// TripSave implements store.Trips. A save that settles the trip writes its
// event in the same transaction; the update's condition (still pending,
// still this claim) lets only one of racing workers settle it.
func (s *Store) TripSave(ctx context.Context, t trips.Trip, lease time.Duration) error {
	state, err := t.MarshalState()
	if err != nil {
		return err
	}
	const save = `
		UPDATE trips SET status = $2, state = $3, lease_until = now() + $4::interval, updated_at = now()
		WHERE id = $1 AND status = 'pending' AND claims = $5`
	args := []any{t.ID, string(t.Status), state, lease, t.Claim}
	if _, settles := events.OfTripStatus(t.Status); settles {
		err = s.inTx(ctx, func(tx pgx.Tx) error {
			_, err := tripChange(ctx, tx, t.Status, save+` RETURNING `+tripColumns, args...)
			return err
		})
	} else {
		var tag pgconn.CommandTag
		if tag, err = s.pool.Exec(ctx, save, args...); err == nil && tag.RowsAffected() == 0 {
			err = pgx.ErrNoRows
		}
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("save trip %s: %w", t.ID, store.ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("save trip: %w", err)
	}
	return nil
}

// tripChange runs q, an UPDATE of one trip RETURNING tripColumns, in tx and
// writes the event of the trip reaching status, if it has one. It returns
// pgx.ErrNoRows when q changed nothing.
func tripChange(ctx context.Context, tx pgx.Tx, status trips.Status, q string, args ...any) (trips.Trip, error) {
	out, err := scanTrip(tx.QueryRow(ctx, q, args...))
	if err != nil {
		return trips.Trip{}, err
	}
	if typ, ok := events.OfTripStatus(status); ok {
		if err := writeEvents(ctx, tx, events.OfTrip(typ, out)); err != nil {
			return trips.Trip{}, err
		}
	}
	return out, nil
}

// TripUpdate implements store.Trips. A change of status writes its event in
// the same transaction; the claim bump lets only one of racing updates make it.
func (s *Store) TripUpdate(ctx context.Context, t trips.Trip, from trips.Status) (trips.Trip, error) {
	state, err := t.MarshalState()
	if err != nil {
		return trips.Trip{}, err
	}
	const update = `
		UPDATE trips SET status = $2, state = $3, claims = claims + 1, updated_at = now()
		WHERE id = $1 AND status = $4 AND claims = $5
		RETURNING ` + tripColumns
	args := []any{t.ID, string(t.Status), state, string(from), t.Claim}
	var out trips.Trip
	if t.Status != from {
		err = s.inTx(ctx, func(tx pgx.Tx) error {
			out, err = tripChange(ctx, tx, t.Status, update, args...)
			return err
		})
	} else {
		out, err = scanTrip(s.pool.QueryRow(ctx, update, args...))
	}
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
