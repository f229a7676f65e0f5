package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/reservd/reservd/internal/idempotency"
)

const insertIdempotencyKey = `
	INSERT INTO idempotency_keys (api_key_id, key, fingerprint, state, lease_until, created_at)
	VALUES (?1, ?2, ?3, 'running', ?4, ?5)
	ON CONFLICT (api_key_id, key) DO NOTHING`

const selectIdempotencyKey = `
	SELECT fingerprint, state, lease_until, coalesce(status, 0), coalesce(body, x'')
	FROM idempotency_keys WHERE api_key_id = ?1 AND key = ?2`

// IdempotencyKeyClaim implements idempotency.Store. A running key whose
// lease has run out (its request died) is taken over.
func (s *Store) IdempotencyKeyClaim(ctx context.Context, p idempotency.ClaimParams) (idempotency.Claim, error) {
	keyID, key, fingerprint, lease := p.KeyID, p.Key, p.Fingerprint, p.Lease
	var out idempotency.Claim
	err := s.write(ctx, func(tx *sql.Tx) error {
		now, leaseUntil, _, err := readClock(ctx, tx, lease, 0)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, insertIdempotencyKey, keyID, key, fingerprint, leaseUntil, now)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			out.Outcome = idempotency.Proceed
			return err
		}
		var storedFingerprint, state, storedLease string
		if err := tx.QueryRowContext(ctx, selectIdempotencyKey, keyID, key).
			Scan(&storedFingerprint, &state, &storedLease, &out.Status, &out.Body); err != nil {
			return err
		}
		switch {
		case storedFingerprint != fingerprint:
			out = idempotency.Claim{Outcome: idempotency.Mismatch}
		case state == "done":
			out.Outcome = idempotency.Replay
		case storedLease > now:
			out = idempotency.Claim{Outcome: idempotency.InFlight}
		default:
			out = idempotency.Claim{Outcome: idempotency.Proceed}
			_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET lease_until = ?1 WHERE api_key_id = ?2 AND key = ?3`,
				leaseUntil, keyID, key)
			return err
		}
		return nil
	})
	if err != nil {
		return idempotency.Claim{}, fmt.Errorf("claim idempotency key: %w", err)
	}
	return out, nil
}

// IdempotencyKeyGet implements idempotency.Store.
func (s *Store) IdempotencyKeyGet(ctx context.Context, p idempotency.GetParams) (idempotency.Claim, error) {
	keyID, key, fingerprint := p.KeyID, p.Key, p.Fingerprint
	var out idempotency.Claim
	var storedFingerprint, state, storedLease, now string
	err := s.reader.QueryRowContext(ctx, `SELECT `+nowSQL).Scan(&now)
	if err == nil {
		err = s.reader.QueryRowContext(ctx, selectIdempotencyKey, keyID, key).
			Scan(&storedFingerprint, &state, &storedLease, &out.Status, &out.Body)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return idempotency.Claim{Outcome: idempotency.Proceed}, nil
	case err != nil:
		return idempotency.Claim{}, fmt.Errorf("look up idempotency key: %w", err)
	case storedFingerprint != fingerprint:
		return idempotency.Claim{Outcome: idempotency.Mismatch}, nil
	case state == "done":
		out.Outcome = idempotency.Replay
		return out, nil
	case storedLease > now:
		return idempotency.Claim{Outcome: idempotency.InFlight}, nil
	}
	return idempotency.Claim{Outcome: idempotency.Proceed}, nil
}

// IdempotencyKeyComplete implements idempotency.Store.
func (s *Store) IdempotencyKeyComplete(ctx context.Context, p idempotency.CompleteParams) error {
	keyID, key, status, body := p.KeyID, p.Key, p.Status, p.Body
	if _, err := s.writer.ExecContext(ctx, completeKeySQL, status, body, keyID, key); err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	return nil
}

// IdempotencyKeyRelease implements idempotency.Store.
func (s *Store) IdempotencyKeyRelease(ctx context.Context, keyID int64, key string) error {
	if _, err := s.writer.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE api_key_id = ?1 AND key = ?2 AND state = 'running'`,
		keyID, key); err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

// IdempotencyKeyDeleteOlderThan implements idempotency.Store.
func (s *Store) IdempotencyKeyDeleteOlderThan(ctx context.Context, age time.Duration) (int64, error) {
	res, err := s.writer.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)`,
		modifier(-age))
	if err != nil {
		return 0, fmt.Errorf("delete idempotency keys: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete idempotency keys: %w", err)
	}
	return n, nil
}

const completeKeySQL = `
	UPDATE idempotency_keys SET state = 'done', status = ?1, body = ?2
	WHERE api_key_id = ?3 AND key = ?4 AND state = 'running'`

const claimKeySQL = `
	INSERT INTO idempotency_keys (api_key_id, key, fingerprint, state, lease_until, created_at, status, body)
	VALUES (?1, ?2, ?3, 'done', ` + nowSQL + `, ` + nowSQL + `, ?4, ?5)
	ON CONFLICT (api_key_id, key) DO NOTHING`

// complete stores the response of done's idempotency key in tx, the
// transaction of the effect that produced result: it marks a claimed key
// done, or with done.Claim inserts the key done, failing with
// idempotency.ErrKeyTaken if the key exists.
func complete[T any](ctx context.Context, tx *sql.Tx, done *idempotency.Completion[T], result T) error {
	if done == nil {
		return nil
	}
	body, err := done.Render(result)
	if err != nil {
		return fmt.Errorf("render response: %w", err)
	}
	if !done.Claim {
		if _, err := tx.ExecContext(ctx, completeKeySQL, done.Status, body, done.KeyID, done.Key); err != nil {
			return fmt.Errorf("complete idempotency key: %w", err)
		}
		return nil
	}
	res, err := tx.ExecContext(ctx, claimKeySQL, done.KeyID, done.Key, done.Fingerprint, done.Status, body)
	if err != nil {
		return fmt.Errorf("claim idempotency key: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return cmp.Or(err, idempotency.ErrKeyTaken)
	}
	return nil
}
