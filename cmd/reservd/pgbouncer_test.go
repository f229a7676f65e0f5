package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reservd/reservd/internal/stream"
	"github.com/reservd/reservd/internal/testdb"
)

// pgbouncerServerConns is PgBouncer's pool towards PostgreSQL for the test
// database: every replica's pool shares these few server connections.
const pgbouncerServerConns = 8

// startPgBouncer runs Debian's pgbouncer in transaction-pooling mode in
// front of the PostgreSQL of direct (a postgres:// URL) and returns the URL
// of the same database through it.
func startPgBouncer(t *testing.T, direct string) string {
	t.Helper()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/pgbouncer"); serr == nil {
			bin = "/usr/sbin/pgbouncer"
		} else {
			t.Fatalf("pgbouncer is not installed: run bin/install_tools.sh (make test runs it), which installs it with apt-get")
		}
	}
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "reservd-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%s
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %s
unix_socket_dir =
auth_type = trust
auth_file = %s/userlist.txt
pool_mode = transaction
max_client_conn = 2000
default_pool_size = %d
max_db_connections = %d
ignore_startup_parameters = extra_float_digits
logfile = %s/pgbouncer.log
`, u.Hostname(), u.Port(), port, dir, pgbouncerServerConns, pgbouncerServerConns, dir)
	user := u.User.Username()
	os.WriteFile(filepath.Join(dir, "userlist.txt"), []byte(fmt.Sprintf("%q \"\"\n", user)), 0o644)
	cfgPath := filepath.Join(dir, "pgbouncer.ini")
	os.WriteFile(cfgPath, []byte(ini), 0o644)
	args := []string{cfgPath}
	if os.Geteuid() == 0 {
		// PgBouncer refuses to run as root.
		os.Chmod(dir, 0o777)
		args = []string{"-u", "postgres", cfgPath}
	}
	cmd := exec.Command(bin, args...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pgbouncer: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			t.Fatalf("pgbouncer exited: %s\n%s", out, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pgbouncer did not listen on %s: %s", addr, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	u.Host = addr
	return u.String()
}

// TestStormThroughPgBouncer runs the storm through PgBouncer in
// transaction-pooling mode with six replicas whose pools together exceed
// PostgreSQL's max_connections: DATABASE_URL goes through PgBouncer with
// default_query_exec_mode=exec (no named prepared statements, which a
// transaction pooler cannot keep), migrations take their advisory lock over
// DATABASE_DIRECT_URL. PostgreSQL never sees more than PgBouncer's pool.
func TestStormThroughPgBouncer(t *testing.T) {
	t.Parallel()
	direct := testdb.PostgresURL(t)
	bounced := startPgBouncer(t, direct)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, direct)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var maxConnsText, dbName string
	if err := conn.QueryRow(ctx, "SELECT current_setting('max_connections'), current_database()").Scan(&maxConnsText, &dbName); err != nil {
		t.Fatal(err)
	}
	maxConns, _ := strconv.Atoi(maxConnsText)
	const replicas = 6
	perPool := maxConns/replicas + 4 // together past max_connections
	q := url.Values{"default_query_exec_mode": {"exec"}, "pool_max_conns": {strconv.Itoa(perPool)}, "pool_min_conns": {strconv.Itoa(perPool)}}
	sep := "?"
	if strings.Contains(bounced, "?") {
		sep = "&"
	}
	env := map[string]string{"DATABASE_URL": bounced + sep + q.Encode(), "DATABASE_DIRECT_URL": direct,
		"REDIS_URL": testdb.RedisURL(t), "REDIS_PREFIX": testdb.UniquePrefix(t), "LOG_LEVEL": "warn", "RATE_LIMIT": "0"}
	var ins []*instance
	for range replicas {
		ins = append(ins, start(t, clone(env)))
	}
	t.Logf("pgbouncer: %d replicas x pool %d = %d client connections; PostgreSQL max_connections = %d; PgBouncer's pool = %d",
		replicas, perPool, replicas*perPool, maxConns, pgbouncerServerConns)
	if replicas*perPool <= maxConns {
		t.Fatalf("the pools (%d) do not exceed max_connections (%d)", replicas*perPool, maxConns)
	}

	// The keys first: `reservd keys create` migrates over
	// DATABASE_DIRECT_URL, a connection of its own that is not PgBouncer's.
	admin, customers := createKey(t, env, "ops", true), customerKeys(t, env, 4)

	// Watch PostgreSQL's side while the storm runs.
	// Each replica's one LISTEN connection (application_name
	// reservd_listen) goes straight to PostgreSQL over DATABASE_DIRECT_URL,
	// as a transaction pooler cannot keep a LISTEN: counted apart. Only
	// client backends count (not an autovacuum worker on the database).
	var peak, listeners atomic.Int64
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			var n, l int64
			if err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE application_name <> $2), count(*) FILTER (WHERE application_name = $2)
				FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'`, dbName, stream.ListenAppName).Scan(&n, &l); err == nil {
				peak.Store(max(peak.Load(), n))
				listeners.Store(max(listeners.Load(), l))
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	c := newClient(t, ins...)
	flight := stormFlight(t, c, admin, 8)
	log := storm(t, c, customers, flight, 8, 24, 30, nil)
	close(stop)
	<-watched
	audit(t, openPostgres(t, direct), flight, log)
	t.Logf("pgbouncer: peak %d server connections to the test database", peak.Load())
	if peak.Load() == 0 || peak.Load() > pgbouncerServerConns {
		t.Errorf("PostgreSQL saw %d connections to the test database at most, want 1..%d (PgBouncer's pool)", peak.Load(), pgbouncerServerConns)
	}
	if listeners.Load() > replicas {
		t.Errorf("PostgreSQL saw %d LISTEN connections, want at most one per replica (%d)", listeners.Load(), replicas)
	}
}
