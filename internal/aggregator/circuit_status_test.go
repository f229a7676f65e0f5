package aggregator_test

import (
	"testing"
	"time"

	"github.com/reservd/reservd/internal/aggregator"
	"github.com/reservd/reservd/internal/provider/simkit"
)

// TestCircuitOpenOnlyForAProviderNotCalled: a search that called a failing
// provider, whose breaker opened during that search, reports the failure
// (error), not circuit_open: circuit_open means the provider was not called
// in that search. The next search, which does not call it, is circuit_open.
func TestCircuitOpenOnlyForAProviderNotCalled(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(c *aggregator.Config) { c.Retries, c.BreakerFailures, c.BreakerOpenFor = 2, 2, time.Minute }, nil)
	w.kits["duffel"].Update(func(k *simkit.Knobs) { k.ErrorBurst = 100 })
	res, err := w.agg.Search(t.Context(), search(day))
	if err != nil {
		t.Fatal(err)
	}
	if n := w.kits["duffel"].Stats().Requests; n != 2 {
		t.Fatalf("duffel called %d times, want 2 (then its breaker opened)", n)
	}
	if got := status(res)["duffel"]; got != "error" {
		t.Errorf("duffel, called twice and failing, reported %q; want error", got)
	}
	before := w.kits["duffel"].Stats().Requests
	res, err = w.agg.Search(t.Context(), search(day))
	if err != nil {
		t.Fatal(err)
	}
	if got := status(res)["duffel"]; got != "circuit_open" || w.kits["duffel"].Stats().Requests != before {
		t.Errorf("next search: duffel %q after %d → %d requests; want circuit_open, not called", got, before, w.kits["duffel"].Stats().Requests)
	}
}
