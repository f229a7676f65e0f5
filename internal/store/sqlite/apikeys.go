package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/reservd/reservd/internal/apikey"
)

// CreateAPIKey implements store.Store.
func (s *Store) CreateAPIKey(ctx context.Context, name string, digest []byte, admin bool) (int64, error) {
	var id int64
	err := s.writer.QueryRowContext(ctx, `INSERT INTO api_keys (name, digest, admin) VALUES (?, ?, ?) RETURNING id`,
		name, digest, admin).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create api key: %w", translate(err))
	}
	return id, nil
}

// Principal implements store.Store.
func (s *Store) Principal(ctx context.Context, digest []byte) (apikey.Principal, error) {
	var p apikey.Principal
	err := s.reader.QueryRowContext(ctx, `SELECT id, name, admin FROM api_keys WHERE digest = ? AND revoked_at IS NULL`, digest).
		Scan(&p.KeyID, &p.Name, &p.Admin)
	if errors.Is(err, sql.ErrNoRows) {
		return apikey.Principal{}, apikey.ErrNotFound
	}
	if err != nil {
		return apikey.Principal{}, fmt.Errorf("principal: %w", err)
	}
	return p, nil
}
