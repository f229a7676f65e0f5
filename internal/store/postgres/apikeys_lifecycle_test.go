package postgres_test

import (
	"testing"

	"github.com/reservd/reservd/internal/store/storetest"
)

// TestAPIKeyLifecycleConformance runs the API key lifecycle cases of the
// conformance suite (kept apart from storetest.Run while the suite is split
// by noun).
func TestAPIKeyLifecycleConformance(t *testing.T) {
	t.Parallel()
	storetest.RunAPIKeyLifecycle(t, storetest.Engines["postgres"])
}
