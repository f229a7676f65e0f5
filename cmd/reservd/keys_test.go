package main

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

// newKey runs `reservd keys create` and returns the key's id and the key.
func newKey(t *testing.T, getenv func(string) string, args ...string) (id, key string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), append([]string{"keys", "create"}, args...), getenv, &stdout, &stderr); err != nil {
		t.Fatalf("keys create %q: %v\n%s", args, err, stderr.String())
	}
	m := regexp.MustCompile(`(?s)^created \w+ key (\d+) for .*\n(rsv_[a-z2-7]{52})\n$`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("keys create printed %q, want its id and the key alone on the last line", stdout.String())
	}
	return m[1], m[2]
}

// TestKeysListRevoke: a revoked key answers 401 once the replica's key
// cache has forgotten it (API_KEY_CACHE_TTL), other keys keep working, and
// keys list shows who used which key when, and never a key.
func TestKeysListRevoke(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second
	env := map[string]string{"DATA_DIR": t.TempDir(), "SEED_DEMO": "false", "API_KEY_CACHE_TTL": ttl.String()}
	getenv := func(k string) string { return env[k] }
	aliceID, alice := newKey(t, getenv, "--name", "alice")
	opsID, ops := newKey(t, getenv, "--name", "ops", "--admin")
	in := start(t, env)
	for _, key := range []string{alice, ops} {
		if code, m := in.get(t, "/bookings", "Authorization", "Bearer "+key); code != 200 {
			t.Fatalf("GET /bookings with a new key = %d %v", code, m)
		}
	}
	cachedUntil := time.Now().Add(ttl) // the cache trusts alice's key at least until then

	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"keys", "revoke", aliceID}, getenv, &stdout, &stderr); err != nil {
		t.Fatalf("keys revoke %s: %v\n%s", aliceID, err, stderr.String())
	}
	revoked := time.Now()
	if want := "revoked customer key " + aliceID + ` ("alice")`; !strings.HasPrefix(stdout.String(), want) {
		t.Errorf("keys revoke printed %q, want it to start with %q", stdout.String(), want)
	}
	code, _ := in.get(t, "/bookings", "Authorization", "Bearer "+alice)
	if time.Now().Before(cachedUntil) && code != 200 {
		// Proves the cache answers within its TTL, so the 401 below is the
		// cache expiring, not every request reading the database.
		t.Errorf("GET /bookings with a key revoked a moment ago = %d, want 200 from the key cache", code)
	}
	for code != 401 {
		if time.Since(revoked) > ttl+3*time.Second {
			t.Fatalf("a revoked key still answers %d %s after revoking, with API_KEY_CACHE_TTL=%s", code, time.Since(revoked), ttl)
		}
		time.Sleep(50 * time.Millisecond)
		code, _ = in.get(t, "/bookings", "Authorization", "Bearer "+alice)
	}
	if code, m := in.get(t, "/bookings", "Authorization", "Bearer "+ops); code != 200 {
		t.Errorf("GET /bookings with the other key after revoking alice = %d %v", code, m)
	}

	// Last uses are flushed at least at shutdown.
	in.shutdown(t)
	stdout.Reset()
	if err := run(t.Context(), []string{"keys", "list"}, getenv, &stdout, &stderr); err != nil {
		t.Fatalf("keys list: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	stampRE := `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`
	wants := []string{
		`^ID +NAME +ROLE +CREATED +LAST USED +REVOKED$`,
		`^` + aliceID + ` +alice +customer +` + stampRE + ` +` + stampRE + ` +` + stampRE + `$`,
		`^` + opsID + ` +ops +admin +` + stampRE + ` +` + stampRE + ` +-$`,
	}
	if len(lines) != len(wants) {
		t.Fatalf("keys list printed %d lines, want %d:\n%s", len(lines), len(wants), out)
	}
	for i, want := range wants {
		if !regexp.MustCompile(want).MatchString(lines[i]) {
			t.Errorf("keys list line %d = %q, want %s", i+1, lines[i], want)
		}
	}
	if strings.Contains(out, "rsv_") {
		t.Errorf("keys list shows a key:\n%s", out)
	}

	for _, tt := range []struct {
		args  []string
		want  string
		usage bool
	}{
		{[]string{"keys", "revoke", "999"}, "no API key has id 999", false},
		{[]string{"keys", "revoke", "alice"}, `"alice" is not a key id`, true},
		{[]string{"keys", "revoke"}, "usage: reservd keys revoke ID", true},
		{[]string{"keys", "list", "all"}, "keys list takes no arguments", true},
	} {
		err := run(t.Context(), tt.args, getenv, &stdout, &stderr)
		var ue *usageError
		if err == nil || !strings.Contains(err.Error(), tt.want) || errors.As(err, &ue) != tt.usage {
			t.Errorf("run %q = %v, want an error containing %q (usage error: %v)", tt.args, err, tt.want, tt.usage)
		}
	}
}
