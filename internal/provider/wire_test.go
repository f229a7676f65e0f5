package provider

import (
	"net/http"
	"testing"
	"time"
)

func TestFlightNumber(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"123": "123", "UA0123": "123", "0007": "7", "000": "0", "": "", "BA 2490": "2490"} {
		if got := FlightNumber(in); got != want {
			t.Errorf("FlightNumber(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"7", 7 * time.Second, true},
		{" 0 ", 0, true},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"1795737630", time.Unix(1795737630, 0).Sub(now), true},
		{"", 0, false},
		{"-3", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
