package seatlock_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reservd/reservd/internal/seatlock"
	"github.com/reservd/reservd/internal/testdb"
)

// TestCluster runs the conformance suite and the batched calls on a local
// three-master Redis Cluster: every script's keys share their flight's hash
// slot (else Redis answers CROSSSLOT), and a pipeline of scripts for
// flights in different slots is split by the client across masters.
func TestCluster(t *testing.T) {
	t.Parallel()
	cl := testdb.StartRedisCluster(t)
	c, err := seatlock.NewRedisClusterClient(cl.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	newStore := func(t *testing.T) *seatlock.Redis {
		r, err := seatlock.NewRedis(c, seatlock.WithPrefix(uniquePrefix(t)), seatlock.WithTimeout(3*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	t.Run("SlotsPerFlight", func(t *testing.T) {
		// The keys of one flight hash to one slot; the flights of a batch
		// spread over several masters, so the batch below crosses them.
		r := newStore(t)
		masters := map[string]bool{}
		for fl := int64(1); fl <= 30; fl++ {
			s1 := keySlot(t, c, r.SeatKey(fl, "1A"))
			if s2 := keySlot(t, c, r.SeatKey(fl, "33F")); s1 != s2 {
				t.Fatalf("flight %d: seat keys in slots %d and %d", fl, s1, s2)
			}
			masters[masterOf(t, c, r.SeatKey(fl, "1A"))] = true
		}
		if len(masters) < 2 {
			t.Errorf("30 flights' keys all on %v: the cluster test would not cross masters", masters)
		}
	})
	for _, tc := range conformanceTests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, redisHarness(newStore(t), c))
		})
	}
	t.Run("Batch", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		// Every master forgot its scripts: the pipeline sends them again.
		if err := c.ScriptFlush(t.Context()).Err(); err != nil {
			t.Fatalf("SCRIPT FLUSH: %v", err)
		}
		checkBatchCalls(t, s)
		// A batch whose flights live on every master, in one pipeline.
		var ops []seatlock.SeatOp
		for fl := int64(1); fl <= 30; fl++ {
			ops = append(ops, seatlock.SeatOp{FlightID: randomFlight(), Seats: []string{"1A", "1B", "2C"}, Owner: "o", TTL: time.Minute})
		}
		taken, err := seatlock.AcquireMany(t.Context(), s, ops)
		if err != nil {
			t.Fatalf("AcquireMany across masters: %v", err)
		}
		for i, tk := range taken {
			if tk != nil {
				t.Errorf("op %d: %v taken, want none", i, tk)
			}
		}
		for i := range ops {
			ops[i].Owner = "other"
		}
		if taken, err = seatlock.AcquireMany(t.Context(), s, ops); err != nil {
			t.Fatalf("second AcquireMany: %v", err)
		}
		for i, tk := range taken {
			if len(tk) != 3 {
				t.Errorf("op %d: another owner got %v taken, want all three", i, tk)
			}
		}
	})
}

func keySlot(t *testing.T, c *redis.ClusterClient, key string) int64 {
	t.Helper()
	n, err := c.ClusterKeySlot(t.Context(), key).Result()
	if err != nil {
		t.Fatalf("CLUSTER KEYSLOT %s: %v", key, err)
	}
	return n
}

func masterOf(t *testing.T, c *redis.ClusterClient, key string) string {
	t.Helper()
	n, err := c.MasterForKey(t.Context(), key)
	if err != nil {
		t.Fatalf("master for %s: %v", key, err)
	}
	return n.Options().Addr
}

// NewUniversalRedisClient picks the client REDIS_CLUSTER asks for, both
// configured for the fast path (context deadlines, short socket timeouts),
// and a cluster URL's addr parameters become seed nodes.
func TestNewUniversalRedisClient(t *testing.T) {
	t.Parallel()
	single, err := seatlock.NewUniversalRedisClient("redis://127.0.0.1:1/0", false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = single.Close() })
	if c, ok := single.(*redis.Client); !ok || !c.Options().ContextTimeoutEnabled || c.Options().ReadTimeout != time.Second {
		t.Errorf("REDIS_CLUSTER=false: got %T, want a *redis.Client with context deadlines and a 1s read timeout", single)
	}
	cluster, err := seatlock.NewUniversalRedisClient("redis://:pw@127.0.0.1:1?addr=127.0.0.1:2&addr=127.0.0.1:3&read_timeout=5s", true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Close() })
	c, ok := cluster.(*redis.ClusterClient)
	if !ok {
		t.Fatalf("REDIS_CLUSTER=true: got %T, want a *redis.ClusterClient", cluster)
	}
	o := c.Options()
	if len(o.Addrs) != 3 || o.Addrs[2] != "127.0.0.1:3" || o.Password != "pw" || !o.ContextTimeoutEnabled || o.ReadTimeout != time.Second {
		t.Errorf("cluster options: addrs %v, password set %v, context deadlines %v, read timeout %v; want 3 seeds, pw, true, 1s (capped)",
			o.Addrs, o.Password == "pw", o.ContextTimeoutEnabled, o.ReadTimeout)
	}
	if _, err := seatlock.NewRedis(c); err != nil {
		t.Errorf("NewRedis refused the cluster client: %v", err)
	}
	if _, err := seatlock.NewRedisClusterClient("http://nope"); err == nil {
		t.Error("NewRedisClusterClient accepted a non-redis URL")
	}
}
