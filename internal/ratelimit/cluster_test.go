package ratelimit_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/reservd/reservd/internal/ratelimit"
	"github.com/reservd/reservd/internal/testdb"
)

// TestRedisCluster: on a three-master Redis Cluster every key is limited
// on the master of its slot (a GCRA script touches one key); once a master
// is killed, its keys' requests are let through with the error reported,
// while the other masters' keys stay limited.
func TestRedisCluster(t *testing.T) {
	t.Parallel()
	cl := testdb.StartRedisCluster(t)
	opt, err := redis.ParseClusterURL(cl.URL)
	if err != nil {
		t.Fatal(err)
	}
	opt.ContextTimeoutEnabled = true
	rdb := redis.NewClusterClient(opt)
	t.Cleanup(func() { rdb.Close() })
	prefix := testdb.UniquePrefix(t)
	// One token a minute: requests to the dead master wait out dial
	// retries, and a faster refill would let a live key's token come back
	// before it is checked.
	lim := ratelimit.NewRedis(rdb, 1.0/60, 3, ratelimit.WithPrefix(prefix))
	ctx := t.Context()

	run := rand.Int64()
	masterOf := map[string]string{}
	var keys []string
	for i := range 20 {
		key := fmt.Sprintf("k-%d-%d", run, i)
		keys = append(keys, key)
		for j := range 3 {
			if ok, _, err := lim.Allow(ctx, key); !ok || err != nil {
				t.Fatalf("%s: request %d of a burst of 3 refused: %v", key, j+1, err)
			}
		}
		if ok, _, err := lim.Allow(ctx, key); ok || err != nil {
			t.Errorf("%s: fourth request = %v, %v; want refused", key, ok, err)
		}
		// redis_rate's key for it: "rate:" + prefix + ":rate:" + key.
		n, err := rdb.MasterForKey(ctx, "rate:"+prefix+":rate:"+key)
		if err != nil {
			t.Fatal(err)
		}
		masterOf[key] = n.Options().Addr
	}
	if err := cl.Kill(0); err != nil {
		t.Fatal(err)
	}
	var onDead, onLive int
	for _, key := range keys {
		ok, _, err := lim.Allow(ctx, key)
		if masterOf[key] == cl.Addrs[0] {
			onDead++
			if !ok || err == nil {
				t.Errorf("%s on the dead master = %v, %v; want let through with an error", key, ok, err)
			}
		} else {
			onLive++
			if ok || err != nil {
				t.Errorf("%s on a live master = %v, %v; want still refused", key, ok, err)
			}
		}
	}
	if onDead == 0 || onLive == 0 {
		t.Errorf("%d keys on the dead master, %d on live ones: want both", onDead, onLive)
	}
}
