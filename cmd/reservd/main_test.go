package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that every instance the tests start stops everything it
// started (jobs, pools, span exporters) when its run returns. With
// RESERVD_TEST_MAIN=1 the test binary is reservd itself, so that crash
// tests can run real processes and kill -9 them.
func TestMain(m *testing.M) {
	if os.Getenv("RESERVD_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}
