// Package providertest holds checks that every provider adapter's tests
// share.
package providertest

import (
	"errors"
	"net/http"
	"testing"

	"github.com/reservd/reservd/internal/provider"
)

// WantMappedError checks what an adapter made of a non-2xx answer: a 429 is
// a *provider.RateLimitedError with a wait of zero or more; anything else
// carries its status in a *provider.HTTPError, a 4xx other than 408 is
// either a rejection or an unavailable offer, never both, and a 5xx or 408
// is temporary.
func WantMappedError(t testing.TB, status int, err error) {
	t.Helper()
	if err == nil || err.Error() == "" {
		t.Fatalf("status %d mapped to %v", status, err)
	}
	if status == http.StatusTooManyRequests {
		var rl *provider.RateLimitedError
		if !errors.As(err, &rl) || rl.RetryAfter < 0 {
			t.Fatalf("429 mapped to %v", err)
		}
		return
	}
	var he *provider.HTTPError
	if !errors.As(err, &he) || he.Status != status {
		t.Fatalf("status %d mapped to %#v", status, err)
	}
	rejected, gone := errors.Is(err, provider.ErrRejected), errors.Is(err, provider.ErrUnavailable)
	if rejected && gone {
		t.Fatalf("status %d: %v is both rejected and unavailable", status, err)
	}
	if status < 500 && status != http.StatusRequestTimeout && !rejected && !gone {
		t.Fatalf("status %d: %v is neither rejected nor unavailable", status, err)
	}
	if (status >= 500 || status == http.StatusRequestTimeout) && !he.Temporary() {
		t.Fatalf("status %d: %v is not temporary", status, err)
	}
}
