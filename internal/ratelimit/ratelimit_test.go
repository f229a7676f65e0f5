package ratelimit_test

import (
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
