package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that every instance the tests start stops everything it
// started (jobs, pools, span exporters) when its run returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
