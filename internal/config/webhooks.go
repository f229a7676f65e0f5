package config

import (
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// Webhooks configures webhook delivery (WEBHOOK_*).
type Webhooks struct {
	// AllowPrivate lets endpoints use http:// and loopback, private and
	// link-local addresses: development and tests only.
	AllowPrivate bool
	RetryBase    time.Duration // the first retry's backoff ceiling; doubled per attempt up to 1h
	RetryFor     time.Duration // how long a failing delivery is retried before its endpoint is disabled
	Concurrency  int           // deliveries sent at once per replica
	PerEndpoint  int           // deliveries sent at once to one endpoint per replica
	Interval     time.Duration // how often the stream and dispatch passes run
	// Deliver is false on a replica that writes events but leaves sending
	// them to others (WEBHOOK_DELIVER=false): API replicas beside delivery
	// workers.
	Deliver bool
}

// loadWebhooks reads the WEBHOOK_* settings through env (which applies
// defaults) and reports every bad value.
func loadWebhooks(env func(name, def string) string) (Webhooks, []error) {
	var (
		w    Webhooks
		errs []error
		err  error
	)
	if w.AllowPrivate, err = strconv.ParseBool(env("WEBHOOK_ALLOW_PRIVATE", "false")); err != nil {
		errs = append(errs, fmt.Errorf("WEBHOOK_ALLOW_PRIVATE=%q: want true or false", env("WEBHOOK_ALLOW_PRIVATE", "")))
	}
	if w.Deliver, err = strconv.ParseBool(env("WEBHOOK_DELIVER", "true")); err != nil {
		errs = append(errs, fmt.Errorf("WEBHOOK_DELIVER=%q: want true or false", env("WEBHOOK_DELIVER", "")))
	}
	duration := func(name, def string) time.Duration {
		d, err := time.ParseDuration(env(name, def))
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a positive duration such as %s", name, env(name, ""), def))
		}
		return d
	}
	positive := func(name, def string) int {
		n, err := strconv.Atoi(env(name, def))
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("%s=%q: want a positive integer such as %s", name, env(name, ""), def))
		}
		return n
	}
	w.RetryBase = duration("WEBHOOK_RETRY_BASE", "30s")
	w.RetryFor = duration("WEBHOOK_RETRY_FOR", "72h")
	w.Interval = duration("WEBHOOK_INTERVAL", "200ms")
	w.Concurrency = positive("WEBHOOK_CONCURRENCY", "16")
	w.PerEndpoint = positive("WEBHOOK_CONCURRENCY_PER_ENDPOINT", "2")
	return w, errs
}

// LogValue describes the webhook settings for the log.
func (w Webhooks) LogValue() slog.Value {
	return slog.GroupValue(slog.Bool("deliver", w.Deliver), slog.Bool("allow_private", w.AllowPrivate), slog.Duration("retry_base", w.RetryBase),
		slog.Duration("retry_for", w.RetryFor), slog.Duration("interval", w.Interval),
		slog.Int("concurrency", w.Concurrency), slog.Int("per_endpoint", w.PerEndpoint))
}
