package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/store"
)

var _ store.APIKeyLifecycle = (*Store)(nil)

const apiKeyColumns = `id, name, admin, created_at, last_used_at, revoked_at` // #nosec G101 -- column names of api_keys, no key (only digests are stored)

func scanAPIKey(r scanner) (store.APIKey, error) {
	var (
		k             store.APIKey
		created       string
		used, revoked sql.NullString
	)
	if err := r.Scan(&k.ID, &k.Name, &k.Admin, &created, &used, &revoked); err != nil {
		return store.APIKey{}, err
	}
	var err error
	if k.CreatedAt, err = parseTime(created); err != nil {
		return store.APIKey{}, err
	}
	if used.Valid {
		if k.LastUsedAt, err = parseTime(used.String); err != nil {
			return store.APIKey{}, err
		}
	}
	if revoked.Valid {
		if k.RevokedAt, err = parseTime(revoked.String); err != nil {
			return store.APIKey{}, err
		}
	}
	return k, nil
}

// APIKeyList implements store.APIKeyLifecycle.
func (s *Store) APIKeyList(ctx context.Context) ([]store.APIKey, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys ORDER BY id`)
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
	k, err := scanAPIKey(s.writer.QueryRowContext(ctx, `
		UPDATE api_keys SET revoked_at = coalesce(revoked_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
		WHERE id = ? RETURNING `+apiKeyColumns, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.APIKey{}, apikey.ErrNotFound
	}
	if err != nil {
		return store.APIKey{}, fmt.Errorf("revoke api key: %w", err)
	}
	return k, nil
}

// APIKeyTouch implements store.APIKeyLifecycle. Times are fixed-width UTC
// text, so the later of two is the greater string.
func (s *Store) APIKeyTouch(ctx context.Context, used map[int64]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		for id, at := range used {
			_, err := tx.ExecContext(ctx, `
				UPDATE api_keys SET last_used_at = ?2
				WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)`, id, at.UTC().Format(timeFormat))
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("touch api keys: %w", err)
	}
	return nil
}
