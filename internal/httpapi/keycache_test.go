package httpapi

import (
	"context"
	"errors"
	"fmt"
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
	// Unknown keys are remembered only briefly (negativeTTL), and looked
	// up again after that.
	if _, err := c.principal(ctx, []byte("abc")); !errors.Is(err, apikey.ErrNotFound) {
		t.Fatalf("unknown key: err = %v", err)
	}
	if lookups != 2 {
		t.Fatalf("lookups = %d, want 2 (an unknown key is remembered for a moment)", lookups)
	}
	now = now.Add(negativeTTL)
	if _, err := c.principal(ctx, []byte("abc")); !errors.Is(err, apikey.ErrNotFound) {
		t.Fatalf("unknown key: err = %v", err)
	}
	if lookups != 3 {
		t.Fatalf("lookups = %d, want 3 (an unknown key is looked up again after negativeTTL)", lookups)
	}
	// It became known (no real key can, being random; this shows the miss
	// is forgotten): found at once once negativeTTL has passed.
	known = true
	now = now.Add(negativeTTL)
	if _, err := c.principal(ctx, []byte("abc")); err != nil || lookups != 4 {
		t.Fatalf("after negativeTTL: %v, lookups = %d", err, lookups)
	}
}

// TestKeyCacheBadKeysCostOneLookup: a flood repeating bad keys costs one
// lookup per key per negativeTTL, and does not push good keys out.
func TestKeyCacheBadKeysCostOneLookup(t *testing.T) {
	lookups := map[string]int{}
	c := newKeyCache(5*time.Second, func(_ context.Context, digest []byte) (apikey.Principal, error) {
		lookups[string(digest)]++
		if string(digest) == "good" {
			return apikey.Principal{KeyID: 1}, nil
		}
		return apikey.Principal{}, apikey.ErrNotFound
	})
	ctx := context.Background()
	if _, err := c.principal(ctx, []byte("good")); err != nil {
		t.Fatal(err)
	}
	for i := range keyCacheSize + 10 {
		for range 3 {
			c.principal(ctx, fmt.Appendf(nil, "bad-%d", i))
		}
	}
	if lookups["bad-7"] != 1 {
		t.Errorf("a bad key repeated 3 times was looked up %d times, want 1", lookups["bad-7"])
	}
	if _, err := c.principal(ctx, []byte("good")); err != nil || lookups["good"] != 1 {
		t.Errorf("the good key after a flood of bad ones: %v, lookups = %d, want 1", err, lookups["good"])
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
