package reserve

import (
	"fmt"
	"testing"
	"time"
)

func TestNearCache(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	c := newNearCache(time.Second, func() time.Time { return now })
	c.set("a", []byte("1"))
	if v, ok := c.get("a"); !ok || string(v) != "1" {
		t.Fatalf("get = %q, %v", v, ok)
	}
	now = now.Add(999 * time.Millisecond)
	if _, ok := c.get("a"); !ok {
		t.Error("expired before its TTL")
	}
	now = now.Add(time.Millisecond)
	if _, ok := c.get("a"); ok {
		t.Error("served past its TTL")
	}
	c.set("b", []byte("2"))
	c.delete("b")
	if _, ok := c.get("b"); ok {
		t.Error("served after delete")
	}
	for i := range maxNear + 10 {
		c.set(fmt.Sprint(i), nil)
	}
	if len(c.m) > maxNear {
		t.Errorf("%d entries, bound %d", len(c.m), maxNear)
	}
}
