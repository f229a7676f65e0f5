package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/store"
)

// RunAPIKeyLifecycle checks an engine's store.APIKeyLifecycle: listing,
// revoking and recording the use of API keys.
func RunAPIKeyLifecycle(t *testing.T, newStore NewStore) {
	t.Run("APIKeyLifecycle", func(t *testing.T) { t.Parallel(); testAPIKeyLifecycle(t, newStore) })
}

func testAPIKeyLifecycle(t *testing.T, newStore NewStore) {
	st := newStore(t)
	s, ok := st.(store.APIKeyLifecycle)
	if !ok {
		t.Fatalf("%T does not implement store.APIKeyLifecycle", st)
	}
	ctx := t.Context()
	if keys, err := s.APIKeyList(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("APIKeyList on an empty store = %v, %v; want none", keys, err)
	}
	before := time.Now().Add(-time.Minute)
	alice, aliceDigest := apikey.Generate()
	aliceID, err := st.APIKeyCreate(ctx, store.APIKeyCreateParams{Name: "alice", Digest: aliceDigest, Admin: false})
	if err != nil {
		t.Fatal(err)
	}
	ops, opsDigest := apikey.Generate()
	opsID, err := st.APIKeyCreate(ctx, store.APIKeyCreateParams{Name: "ops", Digest: opsDigest, Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	list := func() map[int64]store.APIKey {
		t.Helper()
		keys, err := s.APIKeyList(ctx)
		if err != nil {
			t.Fatalf("APIKeyList: %v", err)
		}
		byID := map[int64]store.APIKey{}
		for i, k := range keys {
			if i > 0 && k.ID <= keys[i-1].ID {
				t.Errorf("APIKeyList not ordered by id: %d after %d", k.ID, keys[i-1].ID)
			}
			byID[k.ID] = k
		}
		return byID
	}
	keys := list()
	if len(keys) != 2 {
		t.Fatalf("APIKeyList = %+v, want alice and ops", keys)
	}
	for _, want := range []store.APIKey{{ID: aliceID, Name: "alice"}, {ID: opsID, Name: "ops", Admin: true}} {
		got := keys[want.ID]
		if got.CreatedAt.Before(before) || got.CreatedAt.After(time.Now().Add(time.Minute)) || got.CreatedAt.Location() != time.UTC {
			t.Errorf("key %s CreatedAt = %v, want about now, in UTC", want.Name, got.CreatedAt)
		}
		got.CreatedAt = time.Time{}
		if got != want {
			t.Errorf("APIKeyList has %+v, want %+v (never used, live)", got, want)
		}
	}

	// Uses: the latest time wins, whatever order flushes arrive in.
	t1 := time.Date(2026, 12, 6, 10, 0, 0, 123_000_000, time.UTC)
	if err := s.APIKeyTouch(ctx, map[int64]time.Time{aliceID: t1, opsID + 1000: t1}); err != nil {
		t.Fatalf("APIKeyTouch: %v", err)
	}
	if err := s.APIKeyTouch(ctx, nil); err != nil {
		t.Fatalf("APIKeyTouch with nothing: %v", err)
	}
	if got := list(); !got[aliceID].LastUsedAt.Equal(t1) || !got[opsID].LastUsedAt.IsZero() {
		t.Errorf("after touching alice at %v: alice last used %v, ops %v (want never)", t1, got[aliceID].LastUsedAt, got[opsID].LastUsedAt)
	}
	if err := s.APIKeyTouch(ctx, map[int64]time.Time{aliceID: t1.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if got := list()[aliceID].LastUsedAt; !got.Equal(t1) {
		t.Errorf("an older use moved alice's last use to %v, want %v kept", got, t1)
	}
	t2 := t1.Add(90 * time.Second)
	if err := s.APIKeyTouch(ctx, map[int64]time.Time{aliceID: t2, opsID: t1}); err != nil {
		t.Fatal(err)
	}
	if got := list(); !got[aliceID].LastUsedAt.Equal(t2) || !got[opsID].LastUsedAt.Equal(t1) {
		t.Errorf("last uses = alice %v, ops %v; want %v, %v", got[aliceID].LastUsedAt, got[opsID].LastUsedAt, t2, t1)
	}

	// Revoking: the key is gone for Principal, listed as revoked, and a
	// second revoke keeps the first time.
	revoked, err := s.APIKeyRevoke(ctx, aliceID)
	if err != nil {
		t.Fatalf("APIKeyRevoke: %v", err)
	}
	if revoked.ID != aliceID || revoked.Name != "alice" || revoked.RevokedAt.Before(before) || !revoked.LastUsedAt.Equal(t2) {
		t.Errorf("APIKeyRevoke returned %+v, want alice, revoked about now", revoked)
	}
	if _, err := st.APIKeyPrincipal(ctx, apikey.Digest(alice)); !errors.Is(err, apikey.ErrNotFound) {
		t.Errorf("Principal of a revoked key: error = %v, want apikey.ErrNotFound", err)
	}
	if p, err := st.APIKeyPrincipal(ctx, apikey.Digest(ops)); err != nil || p.KeyID != opsID {
		t.Errorf("Principal(ops) after revoking alice = %+v, %v", p, err)
	}
	again, err := s.APIKeyRevoke(ctx, aliceID)
	if err != nil || !again.RevokedAt.Equal(revoked.RevokedAt) {
		t.Errorf("revoking twice = %+v, %v; want the first RevokedAt %v kept", again, err, revoked.RevokedAt)
	}
	if got := list(); !got[aliceID].RevokedAt.Equal(revoked.RevokedAt) || !got[opsID].RevokedAt.IsZero() {
		t.Errorf("APIKeyList after revoking alice: alice revoked %v, ops revoked %v", got[aliceID].RevokedAt, got[opsID].RevokedAt)
	}
	if _, err := s.APIKeyRevoke(ctx, opsID+1000); !errors.Is(err, apikey.ErrNotFound) {
		t.Errorf("APIKeyRevoke(unknown) error = %v, want apikey.ErrNotFound", err)
	}
}
