package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestAddrDefaultIsLoopbackForTheDemo: with ADDR and DATABASE_URL unset,
// serve means to listen on 127.0.0.1:8080 (its start-up line says so). The
// test stops it as soon as it has said so: whether 8080 is free on this
// machine is not its business.
func TestAddrDefaultIsLoopbackForTheDemo(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATA_DIR": t.TempDir(), "SEED_DEMO": "false"}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, stdout, stderr) }()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(stderr.String(), `msg="starting reservd"`) {
		select {
		case err := <-done:
			t.Fatalf("serve returned %v before its start-up line\n%s", err, stderr)
		case <-deadline:
			t.Fatalf("no start-up line in 30 s:\n%s", stderr)
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not return after its context ended")
	}
	line, _, _ := strings.Cut(stderr.String()[strings.Index(stderr.String(), `msg="starting reservd"`):], "\n")
	if !strings.Contains(line, " config.addr=127.0.0.1:8080 ") {
		t.Errorf("start-up line = %q, want config.addr=127.0.0.1:8080 for the embedded demo", line)
	}
}
