package provider

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// FlightNumber keeps the digits of a provider's flight number ("UA0123",
// 123, "0123") without leading zeros: the API's flight_number ("123").
func FlightNumber(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	n := strings.TrimLeft(b.String(), "0")
	if n == "" && b.Len() > 0 {
		return "0"
	}
	return n
}

// ParseRetryAfter reads a Retry-After value: delay-seconds, an HTTP date, or
// (as some rate-limit headers send) a Unix time. ok is false when v is
// absent or unreadable.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		switch {
		case secs < 0:
			return 0, false
		case secs > 1_000_000_000: // an epoch, not a delay
			return max(0, time.Unix(secs, 0).Sub(now)), true
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now).Round(time.Second)), true
	}
	return 0, false
}
