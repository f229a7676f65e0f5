// Package redisclient holds what every Redis user in reservd (seat locks,
// caches) checks of the client it is handed.
package redisclient

import "github.com/redis/go-redis/v9"

// ContextTimeoutEnabled reports whether c honours context deadlines on
// socket I/O (known is false for a client type it cannot inspect). Without
// it go-redis ignores a call's timeout while reading, and a slow Redis
// stalls the requests that a fast path or cache is meant to spare.
func ContextTimeoutEnabled(c redis.UniversalClient) (enabled, known bool) {
	switch c := c.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled, true
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled, true
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled, true
	}
	return false, false
}
