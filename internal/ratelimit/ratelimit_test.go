package ratelimit_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reservd/reservd/internal/ratelimit"
	"github.com/reservd/reservd/internal/testdb"
)

func TestLimiters(t *testing.T) {
	t.Parallel()
	opts, err := redis.ParseURL(testdb.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	for name, lim := range map[string]ratelimit.Limiter{
		"memory": ratelimit.NewMemory(1, 5),
		"redis":  ratelimit.NewRedis(rdb, 1, 5),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			key := fmt.Sprintf("test-%d", rand.Int64())
			for i := range 5 {
				if ok, _, err := lim.Allow(t.Context(), key); !ok || err != nil {
					t.Fatalf("request %d of a burst of 5 refused: %v", i+1, err)
				}
			}
			ok, retry, err := lim.Allow(t.Context(), key)
			if ok || err != nil || retry <= 0 || retry > 2*time.Second {
				t.Errorf("sixth request: ok=%v retry=%s err=%v; want refused with a retry within ~1s", ok, retry, err)
			}
			if ok, _, _ := lim.Allow(t.Context(), key+"-other"); !ok {
				t.Error("another key was limited too")
			}
		})
	}
}

func TestRedisDownLetsRequestsThrough(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond, MaxRetries: -1})
	defer rdb.Close()
	ok, _, err := ratelimit.NewRedis(rdb, 1, 1).Allow(t.Context(), "k")
	if !ok || err == nil {
		t.Errorf("Allow with Redis down = %v, %v; want allowed with the error reported", ok, err)
	}
}

// TestRedisPrefixIsolatesDeployments: two deployments sharing one Redis
// under different REDIS_PREFIX values, whose customers' key ids collide,
// never spend each other's tokens, and each one's keys carry its prefix.
func TestRedisPrefixIsolatesDeployments(t *testing.T) {
	t.Parallel()
	opts, err := redis.ParseURL(testdb.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	run := rand.Int64()
	pa, pb := fmt.Sprintf("test-a-%d", run), fmt.Sprintf("test-b-%d", run)
	a := ratelimit.NewRedis(rdb, 1, 2, ratelimit.WithPrefix(pa))
	b := ratelimit.NewRedis(rdb, 1, 2, ratelimit.WithPrefix(pb))
	const key = "key:1" // the same API key id in both deployments
	for i := range 2 {
		if ok, _, err := a.Allow(t.Context(), key); !ok || err != nil {
			t.Fatalf("deployment a, request %d of its burst: %v, %v", i+1, ok, err)
		}
	}
	if ok, _, _ := a.Allow(t.Context(), key); ok {
		t.Fatal("deployment a: a third request within its burst of 2 was allowed")
	}
	for i := range 2 {
		if ok, _, err := b.Allow(t.Context(), key); !ok || err != nil {
			t.Errorf("deployment b, request %d, refused after deployment a spent its own tokens: %v", i+1, err)
		}
	}
	for _, p := range []string{pa, pb} {
		keys, err := rdb.Keys(t.Context(), "*"+p+":*").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 || keys[0] != "rate:"+p+":rate:"+key {
			t.Errorf("keys under prefix %s = %q, want [rate:%s:rate:%s]", p, keys, p, key)
		}
		t.Cleanup(func() { rdb.Del(context.Background(), keys...) })
	}
}
