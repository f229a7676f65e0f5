package storetest

import (
	"errors"
	"testing"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/store"
)

func testAPIKeys(t *testing.T, newStore NewStore) {
	s := newStore(t)
	ctx := t.Context()
	key, digest := apikey.Generate()
	id, err := s.APIKeyCreate(ctx, store.APIKeyCreateParams{Name: "alice", Digest: digest, Admin: false})
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	adminKey, adminDigest := apikey.Generate()
	adminID, err := s.APIKeyCreate(ctx, store.APIKeyCreateParams{Name: "ops", Digest: adminDigest, Admin: true})
	if err != nil {
		t.Fatalf("CreateAPIKey admin: %v", err)
	}
	if id == adminID {
		t.Fatalf("two keys share id %d", id)
	}
	for _, tt := range []struct {
		key  string
		want apikey.Principal
	}{
		{key, apikey.Principal{KeyID: id, Name: "alice"}},
		{adminKey, apikey.Principal{KeyID: adminID, Name: "ops", Admin: true}},
	} {
		got, err := s.APIKeyPrincipal(ctx, apikey.Digest(tt.key))
		if err != nil || got != tt.want {
			t.Errorf("Principal(%s) = %+v, %v; want %+v", tt.want.Name, got, err, tt.want)
		}
	}
	other, _ := apikey.Generate()
	if _, err := s.APIKeyPrincipal(ctx, apikey.Digest(other)); !errors.Is(err, apikey.ErrNotFound) {
		t.Errorf("Principal(unknown) error = %v, want apikey.ErrNotFound", err)
	}
	if _, err := s.APIKeyCreate(ctx, store.APIKeyCreateParams{Name: "again", Digest: digest, Admin: false}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateAPIKey with a stored digest: error = %v, want store.ErrConflict", err)
	}
}
