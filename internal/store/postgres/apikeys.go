package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/store"
)

// APIKeyCreate implements store.Store.
func (s *Store) APIKeyCreate(ctx context.Context, p store.APIKeyCreateParams) (int64, error) {
	name, digest, admin := p.Name, p.Digest, p.Admin
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO api_keys (name, digest, admin) VALUES ($1, $2, $3) RETURNING id`,
		name, digest, admin).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create api key: %w", translate(err))
	}
	return id, nil
}

// APIKeyPrincipal implements store.Store.
func (s *Store) APIKeyPrincipal(ctx context.Context, digest []byte) (apikey.Principal, error) {
	var p apikey.Principal
	err := s.pool.QueryRow(ctx, `SELECT id, name, admin FROM api_keys WHERE digest = $1 AND revoked_at IS NULL`, digest).
		Scan(&p.KeyID, &p.Name, &p.Admin)
	if errors.Is(err, pgx.ErrNoRows) {
		return apikey.Principal{}, apikey.ErrNotFound
	}
	if err != nil {
		return apikey.Principal{}, fmt.Errorf("principal: %w", err)
	}
	return p, nil
}
