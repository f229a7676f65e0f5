package main

import (
	"testing"
	"time"
)

// TestSIGTERMDrainsReadinessFirst: after SIGTERM (run's context cancelled)
// /readyz answers 503 "draining" for DRAIN_DELAY while other requests are
// still served; then run returns cleanly.
func TestSIGTERMDrainsReadinessFirst(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATA_DIR": t.TempDir(), "LOG_LEVEL": "warn", "DRAIN_DELAY": "1500ms"}
	in := start(t, env)
	if code, _ := in.get(t, "/readyz"); code != 200 {
		t.Fatalf("readyz before SIGTERM = %d", code)
	}
	stop := in.stop
	in.stop = nil // this test checks the exit itself
	began := time.Now()
	stop()
	deadline := time.Now().Add(time.Second)
	for {
		code, body := in.get(t, "/readyz")
		if code == 503 {
			if d, _ := body["details"].(map[string]any); d["draining"] == nil {
				t.Errorf("readyz while draining: %v, want it to name draining", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz still %d a second after SIGTERM", code)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, _ := in.get(t, "/flights/1"); code != 200 {
		t.Errorf("GET /flights/1 while draining = %d, want it still served", code)
	}
	select {
	case err := <-in.done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
		if d := time.Since(began); d < 1500*time.Millisecond {
			t.Errorf("run returned %s after SIGTERM, before DRAIN_DELAY", d)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after the drain")
	}
}
