package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisLogger puts go-redis's own messages (pool dial failures and the
// like) through slog, so that they are structured lines like every other
// rather than "redis: pool.go:…" text on stderr. go-redis has one logger
// per process (redis.SetLogger); reservd serves once per process.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	msg := strings.TrimPrefix(strings.TrimSpace(fmt.Sprintf(format, v...)), "redis: ")
	level := slog.LevelWarn
	if strings.Contains(msg, "failed to dial") {
		// One per connection attempt while Redis is down, many a second: the
		// start-up check and the dependency monitor already say it is down,
		// once per change.
		level = slog.LevelDebug
	}
	l.log.Log(ctx, level, msg, "component", "go-redis")
}

// redisStartTimeout bounds the check that Redis answers at start: long
// enough for go-redis's dial retries to give up on a refused connection
// (about a second), short enough not to hold the start up for long.
const redisStartTimeout = 3 * time.Second

// warnIfRedisDown pings Redis once at start. Redis is optional (a fast path
// before the database), so a URL that cannot be reached does not stop the
// service; but a mistyped one must not pass silently either: one loud line.
// On a cluster (REDIS_CLUSTER) the ping goes to whichever node the client
// picks once it has the slot map; a cluster with no seed that answers fails.
func warnIfRedisDown(ctx context.Context, rdb redis.UniversalClient, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, redisStartTimeout)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		log.Warn("REDIS_URL cannot be reached: starting without Redis until it answers (seat locks and caches fall back to the database, rate limits let requests through); check REDIS_URL",
			"redis_addr", redisAddrs(rdb), "error", err.Error())
	}
}

// redisAddrs is the address, or a cluster's seed addresses, rdb dials.
func redisAddrs(rdb redis.UniversalClient) string {
	switch c := rdb.(type) {
	case *redis.Client:
		return c.Options().Addr
	case *redis.ClusterClient:
		return strings.Join(c.Options().Addrs, ",")
	}
	return ""
}

// redisCheck is the readiness and dependency check of rdb. A cluster is
// checked on every master: a plain PING would go to a random node, so that
// with one master down the check, and /readyz, would flap from call to
// call; this way the dependency reads down, steadily, while any master is,
// as a single Redis down does (the fast path of that master's slots falls
// back to the database meanwhile).
func redisCheck(rdb redis.UniversalClient) func(context.Context) error {
	c, ok := rdb.(*redis.ClusterClient)
	if !ok {
		return func(ctx context.Context) error { return rdb.Ping(ctx).Err() }
	}
	return func(ctx context.Context) error {
		return c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			if err := n.Ping(ctx).Err(); err != nil {
				return fmt.Errorf("cluster master %s: %w", n.Options().Addr, err)
			}
			return nil
		})
	}
}
