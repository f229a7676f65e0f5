package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// TestRedisUnreachableAtStart: a REDIS_URL nobody answers at does not stop
// the service, is said once, loudly, at start, and go-redis's own messages
// come out as structured lines, none after "stopped".
func TestRedisUnreachableAtStart(t *testing.T) {
	t.Parallel()
	in := start(t, map[string]string{"DATA_DIR": t.TempDir(), "SEED_DEMO": "false", "REDIS_URL": "redis://" + freeAddr(t) + "/0", "LOG_LEVEL": "debug"})
	// Through the read cache (Redis, down) to the database, which answers.
	if code, m := in.get(t, "/flights/1"); code != 404 {
		t.Errorf("GET /flights/1 with Redis down = %d %v, want 404 from the empty database", code, m)
	}
	in.shutdown(t)
	out := in.stderr.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var warned int
	for _, line := range lines {
		if !strings.HasPrefix(line, "time=") || !strings.Contains(line, " level=") {
			t.Errorf("unstructured line on stderr: %q", line)
		}
		if strings.Contains(line, "REDIS_URL cannot be reached") {
			warned++
			// The cause: connection refused, or the deadline when go-redis
			// was still retrying its dials on a loaded machine.
			if !strings.Contains(line, "level=WARN") || !regexp.MustCompile(` error="[^"]+"`).MatchString(line) {
				t.Errorf("the start-up line about Redis = %q, want a WARN with the cause", line)
			}
		}
	}
	if warned != 1 {
		t.Errorf("%d lines say REDIS_URL cannot be reached, want exactly 1:\n%s", warned, out)
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, `msg=stopped`) {
		t.Errorf("last line on stderr = %q, want stopped", last)
	}
}

// TestMigratePrintsApplied: migrate says which migrations it applied, and
// that none were pending the second time.
func TestMigratePrintsApplied(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	getenv := func(k string) string { return map[string]string{"DATA_DIR": dir}[k] }
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"migrate"}, getenv, &stdout, &stderr); err != nil {
		t.Fatalf("migrate: %v\n%s", err, stderr.String())
	}
	first := stdout.String()
	if !strings.HasPrefix(first, "applied 0001_init.sql\napplied 0002_") || !strings.Contains(first, "applied 0004_api_key_last_used.sql\n") {
		t.Errorf("first migrate printed %q, want every migration applied, in order", first)
	}
	stdout.Reset()
	if err := run(t.Context(), []string{"migrate"}, getenv, &stdout, &stderr); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if got, want := stdout.String(), "no migrations pending: the sqlite database is up to date\n"; got != want {
		t.Errorf("second migrate printed %q, want %q", got, want)
	}
}
