package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/reservd/reservd/internal/idempotency"
)

// complete stores the response of an idempotent request in the effect's
// transaction: it marks a claimed key done, or with done.Claim inserts the
// key done, failing with idempotency.ErrKeyTaken if the key exists.
func complete[T any](ctx context.Context, tx pgx.Tx, done *idempotency.Completion[T], result T) error {
	if done == nil {
		return nil
	}
	idem, args, err := completionCTE(done, result, 0)
	if err != nil {
		return err
	}
	var stored int
	if err := tx.QueryRow(ctx, `WITH `+idem+` SELECT `+idemCount(idem), args...).Scan(&stored); err != nil {
		return err
	}
	if stored == 0 && done.Claim {
		return idempotency.ErrKeyTaken
	}
	return nil
}

// completionCTE renders done's response for result and returns a WITH
// element, "idem AS (…)", that stores it and returns a row if it did, with
// its arguments numbered from argBase+1. It returns "" when done is nil.
func completionCTE[T any](done *idempotency.Completion[T], result T, argBase int) (string, []any, error) {
	if done == nil {
		return "", nil, nil
	}
	body, err := done.Render(result)
	if err != nil {
		return "", nil, fmt.Errorf("render idempotent response: %w", err)
	}
	n := func(i int) string { return fmt.Sprintf("$%d", argBase+i) }
	head := "idem AS ("
	if done.Claim {
		return head + `
			INSERT INTO idempotency_keys (api_key_id, key, fingerprint, state, lease_until, status, body)
			VALUES (` + n(1) + `, ` + n(2) + `, ` + n(3) + `, 'done', now(), ` + n(4) + `, ` + n(5) + `)
			ON CONFLICT (api_key_id, key) DO NOTHING
			RETURNING 1)
		`, []any{done.KeyID, done.Key, done.Fingerprint, done.Status, body}, nil
	}
	return head + `
		UPDATE idempotency_keys SET state = 'done', status = ` + n(3) + `, body = ` + n(4) + `
		WHERE api_key_id = ` + n(1) + ` AND key = ` + n(2) + ` AND state = 'running'
		RETURNING 1)
	`, []any{done.KeyID, done.Key, done.Status, body}, nil
}

// idemCount is the select-list item counting the rows completionCTE's idem
// wrote (1 when there is none).
func idemCount(idem string) string {
	if idem == "" {
		return "1"
	}
	return "(SELECT count(*) FROM idem)::int"
}

// IdempotencyKeyClaim implements idempotency.Store.
func (s *Store) IdempotencyKeyClaim(ctx context.Context, p idempotency.ClaimParams) (idempotency.Claim, error) {
	keyID, key, fingerprint, lease := p.KeyID, p.Key, p.Fingerprint, p.Lease
	// The usual case, a new key, is one statement in its own transaction.
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO idempotency_keys (api_key_id, key, fingerprint, state, lease_until)
		VALUES ($1, $2, $3, 'running', now() + $4::interval)
		ON CONFLICT (api_key_id, key) DO NOTHING`, keyID, key, fingerprint, lease)
	if err != nil {
		return idempotency.Claim{}, fmt.Errorf("claim idempotency key: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return idempotency.Claim{Outcome: idempotency.Proceed}, nil
	}
	var out idempotency.Claim
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var (
			fp, state string
			live      bool
			status    *int
			body      []byte
		)
		err := tx.QueryRow(ctx, `
			SELECT fingerprint, state, lease_until > now(), status, body
			FROM idempotency_keys WHERE api_key_id = $1 AND key = $2 FOR UPDATE`, keyID, key).
			Scan(&fp, &state, &live, &status, &body)
		if errors.Is(err, pgx.ErrNoRows) {
			return errRaced // released between our insert and select: try again
		}
		if err != nil {
			return err
		}
		switch {
		case fp != fingerprint:
			out = idempotency.Claim{Outcome: idempotency.Mismatch}
		case state == "done":
			out = idempotency.Claim{Outcome: idempotency.Replay, Status: *status, Body: body}
		case live:
			out = idempotency.Claim{Outcome: idempotency.InFlight}
		default:
			// Its request died holding the key: take it over.
			_, err = tx.Exec(ctx, `UPDATE idempotency_keys SET lease_until = now() + $3::interval WHERE api_key_id = $1 AND key = $2`, keyID, key, lease)
			out = idempotency.Claim{Outcome: idempotency.Proceed}
		}
		return err
	})
	if errors.Is(err, errRaced) {
		return s.IdempotencyKeyClaim(ctx, idempotency.ClaimParams{KeyID: keyID, Key: key, Fingerprint: fingerprint, Lease: lease})
	}
	if err != nil {
		return idempotency.Claim{}, fmt.Errorf("claim idempotency key: %w", err)
	}
	return out, nil
}

var errRaced = errors.New("idempotency key vanished while claiming")

// IdempotencyKeyGet implements idempotency.Store.
func (s *Store) IdempotencyKeyGet(ctx context.Context, p idempotency.GetParams) (idempotency.Claim, error) {
	keyID, key, fingerprint := p.KeyID, p.Key, p.Fingerprint
	var (
		fp, state string
		live      bool
		status    *int
		body      []byte
	)
	err := s.pool.QueryRow(ctx, `
		SELECT fingerprint, state, lease_until > now(), status, body
		FROM idempotency_keys WHERE api_key_id = $1 AND key = $2`, keyID, key).
		Scan(&fp, &state, &live, &status, &body)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return idempotency.Claim{Outcome: idempotency.Proceed}, nil
	case err != nil:
		return idempotency.Claim{}, fmt.Errorf("look up idempotency key: %w", err)
	case fp != fingerprint:
		return idempotency.Claim{Outcome: idempotency.Mismatch}, nil
	case state == "done":
		return idempotency.Claim{Outcome: idempotency.Replay, Status: *status, Body: body}, nil
	case live:
		return idempotency.Claim{Outcome: idempotency.InFlight}, nil
	}
	return idempotency.Claim{Outcome: idempotency.Proceed}, nil
}

// IdempotencyKeyComplete implements idempotency.Store.
func (s *Store) IdempotencyKeyComplete(ctx context.Context, p idempotency.CompleteParams) error {
	keyID, key, status, body := p.KeyID, p.Key, p.Status, p.Body
	if _, err := s.pool.Exec(ctx, `
		UPDATE idempotency_keys SET state = 'done', status = $3, body = $4
		WHERE api_key_id = $1 AND key = $2 AND state = 'running'`, keyID, key, status, body); err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	return nil
}

// IdempotencyKeyRelease implements idempotency.Store.
func (s *Store) IdempotencyKeyRelease(ctx context.Context, keyID int64, key string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE api_key_id = $1 AND key = $2 AND state = 'running'`, keyID, key); err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

// IdempotencyKeyDeleteOlderThan implements idempotency.Store.
func (s *Store) IdempotencyKeyDeleteOlderThan(ctx context.Context, age time.Duration) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at <= now() - $1::interval`, age)
	if err != nil {
		return 0, fmt.Errorf("delete idempotency keys: %w", err)
	}
	return tag.RowsAffected(), nil
}
