package cache_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/cache"
)

// Near serves a value for exactly its TTL, forgets it on Delete, and stays
// within MaxNear entries.
func TestNear(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := newFakeClock()
	c := cache.NewNear(clock.Now)
	c.Set(ctx, "a", []byte("1"), time.Second)
	if v, ok, _ := c.Get(ctx, "a"); !ok || string(v) != "1" {
		t.Fatalf("get = %q, %v", v, ok)
	}
	clock.Advance(999 * time.Millisecond)
	if _, ok, _ := c.Get(ctx, "a"); !ok {
		t.Error("expired before its TTL")
	}
	clock.Advance(time.Millisecond)
	if _, ok, _ := c.Get(ctx, "a"); ok {
		t.Error("served past its TTL")
	}
	c.Set(ctx, "b", []byte("2"), time.Second)
	c.Delete(ctx, "b")
	if _, ok, _ := c.Get(ctx, "b"); ok {
		t.Error("served after delete")
	}
	for i := range cache.MaxNear + 10 {
		c.Set(ctx, fmt.Sprint(i), nil, time.Second)
	}
	if n := c.Len(); n > cache.MaxNear {
		t.Errorf("%d entries, bound %d", n, cache.MaxNear)
	}
}
