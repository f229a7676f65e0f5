package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/store"
)

var _ store.APIKeyLifecycle = (*Store)(nil)

const apiKeyColumns = `id, name, admin, created_at, last_used_at, revoked_at` // #nosec G101 -- column names of api_keys, no key (only digests are stored)

func scanAPIKey(r pgx.Row) (store.APIKey, error) {
	var (
		k             store.APIKey
		used, revoked *time.Time
	)
	if err := r.Scan(&k.ID, &k.Name, &k.Admin, &k.CreatedAt, &used, &revoked); err != nil {
		return store.APIKey{}, err
	}
	k.CreatedAt = k.CreatedAt.UTC()
	if used != nil {
		k.LastUsedAt = used.UTC()
	}
	if revoked != nil {
		k.RevokedAt = revoked.UTC()
	}
	return k, nil
}

// APIKeyList implements store.APIKeyLifecycle.
func (s *Store) APIKeyList(ctx context.Context) ([]store.APIKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	defer rows.Close()
	var keys []store.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list api keys: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return keys, nil
}

// APIKeyRevoke implements store.APIKeyLifecycle.
func (s *Store) APIKeyRevoke(ctx context.Context, id int64) (store.APIKey, error) {
	k, err := scanAPIKey(s.pool.QueryRow(ctx, `
		UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
		WHERE id = $1 RETURNING `+apiKeyColumns, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.APIKey{}, apikey.ErrNotFound
	}
	if err != nil {
		return store.APIKey{}, fmt.Errorf("revoke api key: %w", err)
	}
	return k, nil
}

// APIKeyTouch implements store.APIKeyLifecycle. GREATEST ignores NULL, so
// a key's first use is stored as is.
func (s *Store) APIKeyTouch(ctx context.Context, used map[int64]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(used))
	ats := make([]time.Time, 0, len(used))
	for id, at := range used {
		ids, ats = append(ids, id), append(ats, at.UTC())
	}
	_, err := s.pool.Exec(ctx, `
		UPDATE api_keys k SET last_used_at = greatest(k.last_used_at, u.at)
		FROM unnest($1::bigint[], $2::timestamptz[]) AS u (id, at)
		WHERE k.id = u.id AND k.last_used_at IS DISTINCT FROM greatest(k.last_used_at, u.at)`, ids, ats)
	if err != nil {
		return fmt.Errorf("touch api keys: %w", err)
	}
	return nil
}
