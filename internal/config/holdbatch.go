package config

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// HoldBatch configures the batching of concurrent holds into one
// transaction (HOLD_BATCH, HOLD_BATCH_SLOTS, HOLD_BATCH_WINDOW,
// HOLD_BATCH_MAX).
type HoldBatch struct {
	Enabled bool
	Slots   int           // batch transactions running at once
	Window  time.Duration // how long a batch's first hold waits for others
	Max     int           // the most holds in one batch
}

// maxHoldBatchWindow bounds HOLD_BATCH_WINDOW: the window is added to a lone
// request's latency, and is meant to be well under a transaction's.
const maxHoldBatchWindow = 10 * time.Millisecond

// loadHoldBatch reads the HOLD_BATCH settings through env (which applies
// defaults) and reports every bad value.
func loadHoldBatch(env func(name, def string) string) (HoldBatch, []error) {
	var b HoldBatch
	var errs []error
	switch v := strings.ToLower(env("HOLD_BATCH", "on")); v {
	case "on", "true", "1":
		b.Enabled = true
	case "off", "false", "0":
	default:
		errs = append(errs, fmt.Errorf("HOLD_BATCH=%q: want on or off", v))
	}
	slots, err := strconv.Atoi(env("HOLD_BATCH_SLOTS", "2"))
	if err != nil || slots < 1 || slots > 64 {
		errs = append(errs, fmt.Errorf("HOLD_BATCH_SLOTS=%q: want an integer from 1 to 64", env("HOLD_BATCH_SLOTS", "")))
	}
	b.Slots = slots
	w, err := time.ParseDuration(env("HOLD_BATCH_WINDOW", "0s"))
	if err != nil || w < 0 || w > maxHoldBatchWindow {
		errs = append(errs, fmt.Errorf("HOLD_BATCH_WINDOW=%q: want a duration from 0 to %s, such as 500us", env("HOLD_BATCH_WINDOW", ""), maxHoldBatchWindow))
	}
	b.Window = w
	n, err := strconv.Atoi(env("HOLD_BATCH_MAX", "64"))
	if err != nil || n < 1 || n > 1000 {
		errs = append(errs, fmt.Errorf("HOLD_BATCH_MAX=%q: want an integer from 1 to 1000", env("HOLD_BATCH_MAX", "")))
	}
	b.Max = n
	return b, errs
}

// LogValue describes the batching settings for the log.
func (b HoldBatch) LogValue() slog.Value {
	if !b.Enabled {
		return slog.StringValue("off")
	}
	return slog.GroupValue(slog.Int("slots", b.Slots), slog.Duration("window", b.Window), slog.Int("max", b.Max))
}
