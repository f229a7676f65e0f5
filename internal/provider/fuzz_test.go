package provider

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseRetryAfter: the Retry-After (and rate-limit reset) header of every
// provider's answers.
func FuzzParseRetryAfter(f *testing.F) {
	f.Fuzz(func(t *testing.T, v string, nowUnix int64) {
		now := time.Unix(nowUnix%(1<<40), 0).UTC()
		d, ok := ParseRetryAfter(v, now)
		if !ok {
			if d != 0 {
				t.Fatalf("%q: not ok yet %s", v, d)
			}
			if secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && secs >= 0 {
				t.Fatalf("%q: delay-seconds refused", v)
			}
			return
		}
		if d < 0 {
			t.Fatalf("%q at %s: negative wait %s", v, now, d)
		}
		if secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && secs <= 1_000_000_000 && d != time.Duration(secs)*time.Second {
			t.Fatalf("%q: %s, want %d seconds", v, d, secs)
		}
	})
}

// FuzzFlightNumber: flight numbers as providers send them ("UA0123", 123).
func FuzzFlightNumber(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		got := FlightNumber(s)
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, s)
		want := strings.TrimLeft(digits, "0")
		if want == "" && digits != "" {
			want = "0"
		}
		if got != want {
			t.Fatalf("FlightNumber(%q) = %q, want %q", s, got, want)
		}
		if FlightNumber(got) != got {
			t.Fatalf("FlightNumber(%q) is not a fixed point", got)
		}
	})
}
