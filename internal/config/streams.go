package config

import (
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// Streams configures the server-sent event streams (STREAM_MAX_PER_KEY,
// STREAM_MAX_TOTAL, STREAM_HEARTBEAT, STREAM_POLL_INTERVAL).
type Streams struct {
	// MaxPerKey caps one API key's open event streams (past it 429
	// rate_limited); MaxTotal every open stream of the replica (past it
	// 503 overloaded). 0: no cap.
	MaxPerKey, MaxTotal int
	// Heartbeat is how often an idle stream gets a comment line.
	Heartbeat time.Duration
	// Poll is how often streams look for changes without a wake-up.
	Poll time.Duration
}

// maxHeartbeat is the contract's bound: a comment at least every 15 s.
const maxHeartbeat = 15 * time.Second

// loadStreams reads the STREAM_* settings through env (which applies
// defaults) and reports every bad value.
func loadStreams(env func(name, def string) string) (Streams, []error) {
	var s Streams
	var errs []error
	for _, c := range []struct {
		name, def string
		dst       *int
	}{{"STREAM_MAX_PER_KEY", "5", &s.MaxPerKey}, {"STREAM_MAX_TOTAL", "2000", &s.MaxTotal}} {
		n, err := strconv.Atoi(env(c.name, c.def))
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a whole number such as %s, 0 for no limit", c.name, env(c.name, ""), c.def))
		}
		*c.dst = n
	}
	hb, err := time.ParseDuration(env("STREAM_HEARTBEAT", "15s"))
	if err != nil || hb <= 0 || hb > maxHeartbeat {
		errs = append(errs, fmt.Errorf("STREAM_HEARTBEAT=%q: want a duration up to %s, such as 15s", env("STREAM_HEARTBEAT", ""), maxHeartbeat))
	}
	s.Heartbeat = hb
	poll, err := time.ParseDuration(env("STREAM_POLL_INTERVAL", "500ms"))
	if err != nil || poll < 10*time.Millisecond || poll > time.Second {
		errs = append(errs, fmt.Errorf("STREAM_POLL_INTERVAL=%q: want a duration from 10ms to 1s, such as 500ms", env("STREAM_POLL_INTERVAL", "")))
	}
	s.Poll = poll
	return s, errs
}

// LogValue describes the stream settings for the log.
func (s Streams) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("max_per_key", s.MaxPerKey), slog.Int("max_total", s.MaxTotal),
		slog.Duration("heartbeat", s.Heartbeat), slog.Duration("poll", s.Poll))
}
