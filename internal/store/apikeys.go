package store

import (
	"context"

	"github.com/reservd/reservd/internal/apikey"
)

// APIKeys keeps the digests of API keys.
type APIKeys interface {
	// CreateAPIKey stores the digest of a new key and returns its id.
	CreateAPIKey(ctx context.Context, name string, digest []byte, admin bool) (int64, error)
	// Principal returns who a key digest belongs to, or apikey.ErrNotFound.
	Principal(ctx context.Context, digest []byte) (apikey.Principal, error)
}
