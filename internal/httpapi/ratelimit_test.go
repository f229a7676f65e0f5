package httpapi_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/app"
)

func TestRateLimitPerAPIKey(t *testing.T) {
	t.Parallel()
	st := engines["sqlite"](t)
	cfg := testConfig(t)
	cfg.RateLimit, cfg.RateBurst = 0.5, 3 // in process: no REDIS_URL
	a := start(t, cfg, app.Overrides{Store: st, Providers: noProviders}, nil)
	a.admin, a.client = a.key("ops", true), a.key("alice", false)
	bob := a.key("bob", false)
	fl := a.flight(t) // one of the admin's tokens
	for i := range 3 {
		if r := a.do("GET", "/bookings", a.client, nil); r.status != 200 {
			t.Fatalf("request %d within the burst = %d", i+1, r.status)
		}
	}
	r := a.post("/holds", a.client, "limited-key", `{"flight_id": `+strconv.FormatInt(fl, 10)+`, "seats": ["10A"]}`)
	wantError(t, r, 429, "rate_limited")
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	if r := a.do("GET", "/bookings", bob, nil); r.status != 200 {
		t.Errorf("another key was limited: %d", r.status)
	}
	if r := a.get("/flights/" + strconv.FormatInt(fl, 10)); r.status != 200 {
		t.Errorf("public route limited: %d", r.status)
	}
	// A 429 is not stored: once a token is back, the same key runs the request.
	time.Sleep(2100 * time.Millisecond)
	if r := a.post("/holds", a.client, "limited-key", `{"flight_id": `+strconv.FormatInt(fl, 10)+`, "seats": ["10A"]}`); r.status != 201 || r.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("retry after the limit = %d %q %s", r.status, r.header.Get("Idempotent-Replayed"), r.body)
	}
}
