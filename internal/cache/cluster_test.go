package cache_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/cache"
	"github.com/reservd/reservd/internal/seatlock"
	"github.com/reservd/reservd/internal/testdb"
)

// TestCluster runs the conformance suite on a local three-master Redis
// Cluster, and deletes at once keys that live on different masters (a
// multi-key DEL would be refused there with CROSSSLOT).
func TestCluster(t *testing.T) {
	t.Parallel()
	cl := testdb.StartRedisCluster(t)
	c, err := seatlock.NewRedisClusterClient(cl.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	newCache := func(t *testing.T) *cache.Redis {
		r, err := cache.NewRedis(c, cache.WithPrefix(testdb.UniquePrefix(t)), cache.WithTimeout(3*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, tc := range conformanceTests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, redisHarness(newCache(t)))
		})
	}
	t.Run("DeleteAcrossMasters", func(t *testing.T) {
		t.Parallel()
		ctx, r := t.Context(), newCache(t)
		var keys []string
		masters := map[string]bool{}
		for i := range 30 {
			k := "flight:" + strconv.Itoa(i)
			keys = append(keys, k)
			if err := r.Set(ctx, k, []byte("v"), time.Minute); err != nil {
				t.Fatalf("Set %s: %v", k, err)
			}
			n, err := c.MasterForKey(ctx, r.Key(k))
			if err != nil {
				t.Fatal(err)
			}
			masters[n.Options().Addr] = true
		}
		if len(masters) < 2 {
			t.Fatalf("30 keys all on %v: the test would not cross masters", masters)
		}
		if err := r.Delete(ctx, keys...); err != nil {
			t.Fatalf("Delete across masters: %v", err)
		}
		for _, k := range keys {
			if _, ok, err := r.Get(ctx, k); err != nil || ok {
				t.Errorf("Get %s after Delete = %v, %v; want a miss", k, ok, err)
			}
		}
	})
}
