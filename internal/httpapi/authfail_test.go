package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/config"
)

// TestAuthFailuresLimitedPerAddress: bad keys are limited per client
// address (they have no key to be limited by): past the burst, the address
// gets 429 rate_limited with Retry-After, before its key is looked up,
// while a key the replica already knows good still works.
func TestAuthFailuresLimitedPerAddress(t *testing.T) {
	t.Parallel()
	a := newAPI(t, engines["sqlite"], func(c *config.Config) {
		c.APIKeyCacheTTL, c.AuthFailureLimit, c.AuthFailureBurst = time.Minute, 0.01, 3
	})
	good := a.key("alice", false)
	if r := a.do(http.MethodGet, "/bookings", good, nil); r.status != 200 {
		t.Fatalf("good key = %d", r.status)
	}
	fresh := a.key("bob", false) // good, but not yet known to the replica
	for range 3 {
		bad, _ := apikey.Generate()
		wantError(t, a.do(http.MethodGet, "/bookings", bad, nil), 401, "unauthorized")
	}
	for range 2 {
		bad, _ := apikey.Generate()
		r := a.do(http.MethodGet, "/bookings", bad, nil)
		wantError(t, r, 429, "rate_limited")
		if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n < 1 {
			t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
		}
	}
	// Refused before its lookup, so a good key the replica has not seen
	// waits with the rest of the address; one it knows goes through.
	wantError(t, a.do(http.MethodGet, "/bookings", fresh, nil), 429, "rate_limited")
	if r := a.do(http.MethodGet, "/bookings", good, nil); r.status != 200 {
		t.Errorf("a known good key from the limited address = %d %s", r.status, r.body)
	}
	// A request without any key costs no lookup and is not limited.
	wantError(t, a.do(http.MethodGet, "/bookings", "", nil), 401, "unauthorized")
}
