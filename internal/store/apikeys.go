package store

import (
	"context"

	"github.com/reservd/reservd/internal/apikey"
)

// APIKeys keeps the digests of API keys.
type APIKeys interface {
	// APIKeyCreate stores the digest of a new key and returns its id.
	APIKeyCreate(ctx context.Context, p APIKeyCreateParams) (int64, error)
	// APIKeyPrincipal returns who a key digest belongs to, or apikey.ErrNotFound.
	APIKeyPrincipal(ctx context.Context, digest []byte) (apikey.Principal, error)
}

// APIKeyCreateParams is a new API key, of which only the digest is kept.
type APIKeyCreateParams struct {
	Name   string
	Digest []byte
	Admin  bool
}
