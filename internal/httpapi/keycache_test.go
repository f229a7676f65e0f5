package httpapi

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/apikey"
)

func TestKeyCacheRemembersKnownKeysForItsTTL(t *testing.T) {
	lookups := 0
	known := true
	c := newKeyCache(5*time.Second, func(_ context.Context, digest []byte) (apikey.Principal, error) {
		lookups++
		if !known {
			return apikey.Principal{}, apikey.ErrNotFound
		}
		return apikey.Principal{KeyID: int64(len(digest))}, nil
	})
	now := time.Unix(1_700_000_000, 0)
	c.now = func() time.Time { return now }
	ctx := context.Background()

	for range 3 {
		p, err := c.principal(ctx, []byte("abc"))
		if err != nil || p.KeyID != 3 {
			t.Fatalf("principal = %+v, %v; want key 3", p, err)
		}
	}
	if lookups != 1 {
		t.Fatalf("lookups = %d within the TTL, want 1", lookups)
	}

	// Revoked meanwhile: still trusted until the TTL runs out, then refused.
	known = false
	now = now.Add(4 * time.Second)
	if _, err := c.principal(ctx, []byte("abc")); err != nil {
		t.Fatalf("within the TTL: %v", err)
	}
	now = now.Add(2 * time.Second)
	if _, err := c.principal(ctx, []byte("abc")); !errors.Is(err, apikey.ErrNotFound) {
		t.Fatalf("after the TTL: err = %v, want apikey.ErrNotFound", err)
	}
	// Unknown keys are never remembered.
	if _, err := c.principal(ctx, []byte("abc")); !errors.Is(err, apikey.ErrNotFound) {
		t.Fatalf("unknown key: err = %v", err)
	}
	if lookups != 3 {
		t.Fatalf("lookups = %d, want 3 (an unknown key is looked up every time)", lookups)
	}
}

func TestKeyCacheOffLooksUpEveryRequest(t *testing.T) {
	lookups := 0
	c := newKeyCache(0, func(context.Context, []byte) (apikey.Principal, error) {
		lookups++
		return apikey.Principal{KeyID: 1}, nil
	})
	for range 3 {
		if _, err := c.principal(context.Background(), []byte("k")); err != nil {
			t.Fatal(err)
		}
	}
	if lookups != 3 {
		t.Fatalf("lookups = %d with the cache off, want 3", lookups)
	}
}
