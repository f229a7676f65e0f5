package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/store/sqlite"
	"github.com/reservd/reservd/internal/testdb"
)

// syncBuffer is an io.Writer safe to read while the program writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// instance is reservd started through run, as main starts it.
type instance struct {
	addr           string
	stdout, stderr *syncBuffer
	stop           context.CancelFunc
	done           chan error
}

func start(t *testing.T, env map[string]string, args ...string) *instance {
	t.Helper()
	in := &instance{addr: freeAddr(t), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	env["ADDR"] = in.addr
	ctx, cancel := context.WithCancel(context.Background())
	in.stop = cancel
	go func() { in.done <- run(ctx, args, func(k string) string { return env[k] }, in.stdout, in.stderr) }()
	t.Cleanup(func() { in.shutdown(t) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get("http://" + in.addr + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return in
			}
		}
		select {
		case err := <-in.done:
			t.Fatalf("reservd exited while starting: %v\nstderr:\n%s", err, in.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("reservd did not become healthy at %s\nstderr:\n%s", in.addr, in.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// shutdown cancels run's context, as SIGTERM does, and requires a clean exit.
func (in *instance) shutdown(t testing.TB) {
	t.Helper()
	if in.stop == nil {
		return
	}
	in.stop()
	in.stop = nil
	select {
	case err := <-in.done:
		if err != nil {
			t.Errorf("run returned %v after shutdown, want nil\nstderr:\n%s", err, in.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("run did not return after shutdown")
	}
}

func (in *instance) get(t testing.TB, path string, header ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+in.addr+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("GET %s: not JSON: %s", path, b)
	}
	return res.StatusCode, m
}

func TestServeEmbeddedFromScratch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": dir, "LOG_FORMAT": "json"}
	in := start(t, env)

	if code, m := in.get(t, "/ping"); code != 200 || m["message"] != "pong" {
		t.Errorf("GET /ping = %d %v", code, m)
	}
	code, m := in.get(t, "/flights/1")
	if code != 200 {
		t.Fatalf("GET /flights/1 on the demo catalogue = %d %v", code, m)
	}
	if f := m["data"].(map[string]any); f["seats_total"] != 138.0 || f["lowest_price"] == nil {
		t.Errorf("demo flight 1 = %v", f)
	}
	if code, m := in.get(t, "/flights/abc"); code != 404 || m["message"] != "Unable to find the requested flight" {
		t.Errorf("GET /flights/abc = %d %v", code, m)
	}

	// The printed curl line works as pasted.
	out := in.stdout.String()
	line := regexp.MustCompile(`(?m)^\s*(curl .*)$`).FindStringSubmatch(out)
	if line == nil {
		t.Fatalf("no curl line printed on a fresh database; stdout:\n%s", out)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("curl is needed to check the printed curl line: %v", err)
	}
	cmdline := strings.Replace(line[1], "localhost:", "127.0.0.1:", 1)
	curl, err := exec.CommandContext(t.Context(), "bash", "-c", cmdline+" -w '\n%{http_code}'").Output()
	if err != nil {
		t.Fatalf("printed curl line %q failed: %v", line[1], err)
	}
	if !strings.HasSuffix(strings.TrimSpace(string(curl)), "201") {
		t.Errorf("printed curl line answered %s", curl)
	}
	key := regexp.MustCompile(`rsv_[a-z2-7]{52}`).FindString(out)
	if key == "" {
		t.Fatalf("no demo key printed; stdout:\n%s", out)
	}

	// One JSON access line per request with its id, route pattern, status and duration.
	in.get(t, "/flights/7", "X-Request-Id", "trace-me-42")
	var access map[string]any
	sc := bufio.NewScanner(strings.NewReader(in.stderr.String()))
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["request_id"] == "trace-me-42" {
			access = rec
		}
	}
	if access == nil || access["msg"] != "request" || access["route"] != "/flights/{id}" || access["method"] != "GET" ||
		access["status"] != 200.0 || access["duration_ms"] == nil {
		t.Errorf("access log line = %v", access)
	}
	if strings.Contains(in.stderr.String(), key) {
		t.Errorf("the API key appears in the log")
	}

	// A restart on the same data directory neither reseeds nor prints a new key.
	in.shutdown(t)
	again := start(t, env)
	if strings.Contains(again.stdout.String(), "rsv_") {
		t.Errorf("second start printed a key again:\n%s", again.stdout)
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "reservd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if p, err := st.APIKeyPrincipal(t.Context(), apikey.Digest(key)); err != nil || p.Admin || p.Name != "demo" {
		t.Errorf("demo key principal = %+v, %v; want the customer demo", p, err)
	}
	if code, m := again.get(t, "/flights?limit=200"); code != 200 || len(m["data"].([]any)) != 42 {
		t.Errorf("after restart: %d flights, want 42 (no reseed)", len(m["data"].([]any)))
	}
}

func TestSeedDemoFalse(t *testing.T) {
	t.Parallel()
	in := start(t, map[string]string{"DATA_DIR": t.TempDir(), "SEED_DEMO": "false"})
	if code, _ := in.get(t, "/flights/1"); code != 404 {
		t.Errorf("GET /flights/1 with SEED_DEMO=false = %d, want 404", code)
	}
	if out := in.stdout.String(); out != "" {
		t.Errorf("stdout = %q, want nothing", out)
	}
}

func TestPostgresMigrateKeysServe(t *testing.T) {
	t.Parallel()
	url := testdb.PostgresURL(t)
	env := map[string]string{"DATABASE_URL": url, "REDIS_URL": testdb.RedisURL(t), "REDIS_PREFIX": testdb.UniquePrefix(t)}
	getenv := func(k string) string { return env[k] }
	for i := range 2 {
		var stdout, stderr bytes.Buffer
		if err := run(t.Context(), []string{"migrate"}, getenv, &stdout, &stderr); err != nil {
			t.Fatalf("migrate #%d: %v\n%s", i+1, err, stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"keys", "create", "--name", "ops", "--admin"}, getenv, &stdout, &stderr); err != nil {
		t.Fatalf("keys create: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	key := lines[len(lines)-1]
	if !regexp.MustCompile(`^rsv_[a-z2-7]{52}$`).MatchString(key) {
		t.Fatalf("last line of keys create = %q, want the key alone", key)
	}

	in := start(t, env)
	if code, _ := in.get(t, "/flights/1"); code != 404 {
		t.Errorf("PostgreSQL mode is not seeded: GET /flights/1 = %d, want 404", code)
	}
	if code, m := in.get(t, "/readyz"); code != 200 {
		t.Errorf("GET /readyz = %d %v", code, m)
	}
	body := `{"number":"RV1","origin":"SFO","destination":"JFK","departs_at":"2036-12-24T08:00:00Z","arrives_at":"2036-12-24T13:30:00Z",
		"seats":[{"seat":"1A","cabin":"first","price":{"amount":150000,"currency":"USD"}}]}`
	req, _ := http.NewRequest("POST", "http://"+in.addr+"/flights", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("POST /flights with the new admin key = %d", res.StatusCode)
	}
	if code, m := in.get(t, "/flights/1"); code != 200 || m["data"].(map[string]any)["number"] != "RV1" {
		t.Errorf("GET /flights/1 = %d %v", code, m)
	}
}

func TestReadyzNamesRedisWhenDown(t *testing.T) {
	t.Parallel()
	in := start(t, map[string]string{"DATA_DIR": t.TempDir(), "SEED_DEMO": "false", "REDIS_URL": "redis://" + freeAddr(t) + "/0"})
	code, m := in.get(t, "/readyz")
	if code != 503 || fmt.Sprint(m["details"]) != "map[redis:unreachable]" {
		t.Errorf("GET /readyz with Redis down = %d %v", code, m)
	}
	if met := in.scrape(t); met.value("reservd_dependency_up", "dependency", "redis") != 0 || met.value("reservd_dependency_up", "dependency", "database") != 1 {
		t.Errorf("reservd_dependency_up after /readyz: redis %v, database %v; want 0 and 1",
			met.value("reservd_dependency_up", "dependency", "redis"), met.value("reservd_dependency_up", "dependency", "database"))
	}
}

func TestCommandErrors(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATA_DIR": t.TempDir()}
	getenv := func(k string) string { return env[k] }
	for _, args := range [][]string{{"frobnicate"}, {"keys"}, {"keys", "create"}, {"keys", "create", "--name", "x", "extra"}, {"serve", "now"}} {
		if err := run(t.Context(), args, getenv, io.Discard, io.Discard); err == nil {
			t.Errorf("run %q succeeded, want an error", args)
		}
	}
	bad := func(k string) string { return map[string]string{"HOLD_TTL": "soon"}[k] }
	if err := run(t.Context(), nil, bad, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "HOLD_TTL") {
		t.Errorf("run with HOLD_TTL=soon: %v, want a configuration error naming it", err)
	}
}
