package deploy

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/idempotency"
	"github.com/reservd/reservd/internal/store/postgres"
	"github.com/reservd/reservd/internal/store/storetest"
	"github.com/reservd/reservd/internal/testdb"
)

// scaleSize is how hard the rolling-restart test pushes: the bounded
// version runs in plain `go test`; `make scale` sets RESERVD_SCALE_FULL=1.
type scaleSize struct {
	clients int           // concurrent clients
	think   time.Duration // pause between a client's requests
	rows    int           // seat rows (6 seats each) on the flight
	// lease is the replicas' IDEMPOTENCY_LEASE: how long a key whose
	// request died with its replica (kill -9) stays in use before a repeat
	// takes it over. The full run keeps the production default.
	lease time.Duration
}

func sizeFromEnv() scaleSize {
	if os.Getenv("RESERVD_SCALE_FULL") == "1" {
		return scaleSize{clients: 200, think: 20 * time.Millisecond, rows: 60, lease: idempotency.DefaultLease}
	}
	return scaleSize{clients: 16, think: 10 * time.Millisecond, rows: 20, lease: 6 * time.Second}
}

// replica is one reservd process behind HAProxy, restartable on its address.
type replica struct {
	name, addr string
	env        []string
	bin        string
	cmd        *exec.Cmd
	logs       *syncBuffer
	done       chan error
}

func (r *replica) start(t *testing.T) {
	t.Helper()
	r.logs = &syncBuffer{}
	r.cmd = exec.Command(r.bin, "serve")
	r.cmd.Env = append(slices.Clone(r.env), "ADDR="+r.addr)
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", r.name, err)
	}
	r.done = make(chan error, 1)
	go func(cmd *exec.Cmd, done chan error) { done <- cmd.Wait() }(r.cmd, r.done)
	waitHealthy(t, "http://"+r.addr, r.done, r.logs)
}

func (r *replica) alive() bool {
	select {
	case err := <-r.done:
		r.done <- err
		return false
	default:
		return true
	}
}

// lb is HAProxy running deploy/haproxy/haproxy.cfg.
type lb struct {
	url, stats string
	logs       *syncBuffer
}

// retriedWrites returns HAProxy's log lines of non-GET requests that it
// sent to a replica more than once (the last of the connection counters
// actconn/feconn/beconn/srv_conn/retries, '+' when redispatched).
func (l *lb) retriedWrites() []string {
	var out []string
	re := regexp.MustCompile(`\d+/\d+/\d+/\d+/\+?(\d+) \d+/\d+ "(\S+) `)
	for _, line := range strings.Split(l.logs.String(), "\n") {
		if m := re.FindStringSubmatch(line); m != nil && m[1] != "0" && m[2] != "GET" {
			out = append(out, line)
		}
	}
	return out
}

// serverStatus reads HAProxy's CSV stats: server name → status (UP, DOWN, …).
func (l *lb) serverStatus() (map[string]string, error) {
	res, err := http.Get(l.stats + "/stats;csv")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(raw), "# "))).ReadAll()
	if err != nil || len(rows) == 0 {
		return nil, fmt.Errorf("stats csv: %v", err)
	}
	col := slices.Index(rows[0], "status")
	out := map[string]string{}
	for _, row := range rows[1:] {
		if row[0] == "reservd" && row[1] != "BACKEND" && col >= 0 {
			out[row[1]] = row[col]
		}
	}
	return out, nil
}

func (l *lb) waitStatus(t *testing.T, server, prefix string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st, err := l.serverStatus()
		if err == nil && strings.HasPrefix(st[server], prefix) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("HAProxy: %s not %s within %s (stats %v, %v)", server, prefix, within, st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func startHAProxy(t *testing.T, replicas []*replica) *lb {
	t.Helper()
	bind, stats := freeAddr(t), freeAddr(t)
	cmd := exec.Command(haproxyPath(t), "-db", "-f", "haproxy/haproxy.cfg")
	cmd.Env = []string{"RESERVD_LB_BIND=" + bind, "HAPROXY_STATS_BIND=" + stats}
	for i, r := range replicas {
		cmd.Env = append(cmd.Env, fmt.Sprintf("RESERVD_%d=%s", i+1, r.addr))
	}
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start haproxy: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("haproxy log (tail):\n%s", tail(logs.String(), 40))
		}
	})
	l := &lb{url: "http://" + bind, stats: "http://" + stats, logs: logs}
	for _, r := range replicas {
		l.waitStatus(t, r.name, "UP", 15*time.Second)
	}
	return l
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// attempt is one HTTP attempt a client made.
type attempt struct {
	began  time.Time
	ended  time.Time
	status int // 0: transport error
	err    string
	op     string
}

// load is what the clients did and were told.
type load struct {
	mu       sync.Mutex
	failed   []attempt           // attempts answered 5xx or not at all
	holds    map[string]bool     // acknowledged holds
	booked   map[string][]string // acknowledged bookings → seats
	canceled map[string]bool
	// orphaned: holds whose booking request found its key owned by a
	// request that died, and after the key's lease got another answer
	// than the booking (hold id → that answer).
	orphaned map[string]string
	gaveUp   []string // requests that never got an answer despite retries
	// patience is how long a client repeats a request: past the replicas'
	// IDEMPOTENCY_LEASE, after which a dead request's key is taken over.
	patience time.Duration
	ops      atomic.Int64
	searches atomic.Int64
	inUse    atomic.Int64 // 409 idempotency_key_in_use answers (repeated)
}

type answer struct {
	inUse  bool // some attempt was answered idempotency_key_in_use
	status int
	data   map[string]any
	raw    []byte
}

// call sends one request and repeats it (same Idempotency-Key) until it is
// answered by reservd: a transport error, a 5xx from HAProxy or reservd, or
// 409 idempotency_key_in_use is retried. Every failed attempt is logged.
func (l *load) call(hc *http.Client, base, method, path, key, idem, body, op string) (answer, bool) {
	// Longer than the idempotency key's lease: a booking whose replica
	// died holds its key that long, then the repeat settles it.
	deadline := time.Now().Add(l.patience)
	inUse := false
	for {
		began := time.Now()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		if idem != "" {
			req.Header.Set("Idempotency-Key", idem)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := hc.Do(req)
		var a answer
		if err == nil {
			a.raw, err = io.ReadAll(res.Body)
			res.Body.Close()
			a.status = res.StatusCode
			var env struct {
				Data map[string]any `json:"data"`
			}
			json.Unmarshal(a.raw, &env)
			a.data = env.Data
		}
		switch {
		case err != nil || a.status >= 500:
			msg := ""
			if err != nil {
				msg = err.Error()
			} else {
				msg = string(a.raw)
			}
			l.mu.Lock()
			l.failed = append(l.failed, attempt{began: began, ended: time.Now(), status: a.status, err: msg, op: op})
			l.mu.Unlock()
		case a.status == 409 && strings.Contains(string(a.raw), "idempotency_key_in_use"):
			l.inUse.Add(1)
			inUse = true
		default:
			a.inUse = inUse
			return a, true
		}
		if time.Now().After(deadline) {
			l.mu.Lock()
			l.gaveUp = append(l.gaveUp, op+" "+idem)
			l.mu.Unlock()
			return a, false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// drive runs clients through the load balancer until stop closes:
// searches, holds, bookings (some declined) and cancellations.
func (l *load) drive(base string, keys []string, flight int64, size scaleSize, stop chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := range size.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{Timeout: 40 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			defer hc.CloseIdleConnections()
			rnd := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			key := keys[w%len(keys)]
			var holds, bookingIDs []string
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(size.think):
				}
				idem := fmt.Sprintf("scale-%d-%d-%d", w, i, rnd.Int64())
				l.ops.Add(1)
				switch op := rnd.IntN(10); {
				case op < 3:
					a, ok := l.call(hc, base, "GET", "/flights?origin=SFO&destination=JFK", key, "", "", "search")
					if ok && a.status == 200 {
						l.searches.Add(1)
					}
				case op < 6 || len(holds) == 0:
					body := fmt.Sprintf(`{"flight_id":%d,"seats":["%d%c"]}`, flight, 1+rnd.IntN(size.rows), "ABCDEF"[rnd.IntN(6)])
					if op == 5 {
						body = fmt.Sprintf(`{"flight_id":%d,"cabin":"economy","quantity":%d}`, flight, 1+rnd.IntN(2))
					}
					if a, ok := l.call(hc, base, "POST", "/holds", key, idem, body, "hold"); ok && a.status == 201 {
						id, _ := a.data["id"].(string)
						holds = append(holds, id)
						l.mu.Lock()
						l.holds[id] = true
						l.mu.Unlock()
					}
				case op < 9:
					h := holds[rnd.IntN(len(holds))]
					token := "tok_visa"
					if rnd.IntN(8) == 0 {
						token = "tok_chargeDeclined"
					}
					body := fmt.Sprintf(`{"hold_id":%q,"payment":{"token":%q}}`, h, token)
					a, ok := l.call(hc, base, "POST", "/bookings", key, idem, body, "book")
					if ok && a.status != 201 && a.inUse {
						l.mu.Lock()
						l.orphaned[h] = fmt.Sprintf("%d %s", a.status, a.raw)
						l.mu.Unlock()
					}
					if ok && a.status == 201 {
						id, _ := a.data["id"].(string)
						var seats []string
						for _, s := range a.data["seats"].([]any) {
							seats = append(seats, s.(string))
						}
						bookingIDs = append(bookingIDs, id)
						l.mu.Lock()
						l.booked[id] = seats
						l.mu.Unlock()
					}
				default:
					if len(bookingIDs) == 0 {
						continue
					}
					b := bookingIDs[rnd.IntN(len(bookingIDs))]
					if a, ok := l.call(hc, base, "POST", "/bookings/"+b+"/cancel", key, idem, "", "cancel"); ok && a.status == 200 {
						l.mu.Lock()
						l.canceled[b] = true
						l.mu.Unlock()
					}
				}
			}
		}()
	}
	return &wg
}

func (l *load) failures(from, to time.Time) []attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []attempt
	for _, a := range l.failed {
		if !a.began.Before(from) && a.began.Before(to) {
			out = append(out, a)
		}
	}
	return out
}

// createKey runs `reservd keys create` as an operator would.
func createKey(t *testing.T, bin string, env []string, name string, admin bool) string {
	t.Helper()
	args := []string{"keys", "create", "--name", name}
	if admin {
		args = append(args, "--admin")
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reservd keys create: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

// TestRollingRestartBehindHAProxy starts three reservd processes on one
// PostgreSQL and Redis behind HAProxy (deploy/haproxy/haproxy.cfg as
// shipped), drives a mixed load through HAProxy and restarts every replica
// in turn with SIGTERM: /readyz turns 503 while the process still serves,
// HAProxy marks it down before it exits, the new process takes traffic —
// and no client sees a connection error or a 5xx. Then one replica is
// killed with -9: only requests already in flight may fail, and clients
// repeating them with their Idempotency-Key get exactly one effect. Finally
// the database is audited: every acknowledged hold and booking is there,
// nothing else, and no seat is in two live bookings.
func TestRollingRestartBehindHAProxy(t *testing.T) {
	testStart := time.Now()
	size := sizeFromEnv()
	bin := reservdBinary(t)
	dbURL := testdb.PostgresURL(t)
	// Small pools: PostgreSQL's max_connections is shared with every
	// other test running at the same time, and 16 clients need few.
	poolURL := dbURL + "&pool_max_conns=4"
	if !strings.Contains(dbURL, "?") {
		poolURL = dbURL + "?pool_max_conns=4"
	}
	env := []string{"DATABASE_URL=" + poolURL, "REDIS_URL=" + testdb.RedisURL(t), "REDIS_PREFIX=" + testdb.UniquePrefix(t),
		"LOG_LEVEL=warn", "RATE_LIMIT=0", "DRAIN_DELAY=2500ms", "SHUTDOWN_TIMEOUT=20s",
		// A booking interrupted by kill -9 is finished by recovery on
		// another replica after its lease: keep the clients' wait short.
		"PAYMENT_LEASE=2s", "SWEEP_INTERVAL=500ms",
		// A key whose booking died with its replica is taken over by the
		// client's repeat after this lease (docs/DESIGN.md).
		"IDEMPOTENCY_LEASE=" + size.lease.String()}
	admin := createKey(t, bin, env, "ops", true) // migrates the database first
	keys := make([]string, 4)
	var made sync.WaitGroup
	for i := range keys {
		made.Go(func() { keys[i] = createKey(t, bin, env, fmt.Sprintf("customer-%d", i), false) })
	}
	made.Wait()
	var replicas []*replica
	for i := range 3 {
		r := &replica{name: fmt.Sprintf("reservd-%d", i+1), addr: freeAddr(t), env: env, bin: bin}
		r.start(t)
		replicas = append(replicas, r)
	}
	t.Cleanup(func() {
		for _, r := range replicas {
			if r.alive() {
				r.cmd.Process.Kill()
			}
			<-r.done
			if t.Failed() {
				t.Logf("%s log (tail):\n%s", r.name, tail(r.logs.String(), 20))
			}
		}
	})
	balancer := startHAProxy(t, replicas)
	t.Logf("scale: %s: replicas and HAProxy up", time.Since(testStart).Round(time.Millisecond))

	flight := createFlight(t, balancer.url, admin, size.rows)
	l := &load{holds: map[string]bool{}, booked: map[string][]string{}, canceled: map[string]bool{}, orphaned: map[string]string{}, patience: size.lease + 15*time.Second}
	stop := make(chan struct{})
	began := time.Now()
	clients := l.drive(balancer.url, keys, flight, size, stop)
	stopped := false
	stopLoad := func() {
		if !stopped {
			stopped = true
			close(stop)
			clients.Wait()
		}
	}
	defer stopLoad()
	time.Sleep(time.Second)

	// Rolling restart, one replica at a time.
	for _, r := range replicas {
		r.cmd.Process.Signal(syscall.SIGTERM)
		sawNotReady := false
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			res, err := http.Get("http://" + r.addr + "/readyz")
			if err != nil {
				break
			}
			res.Body.Close()
			if res.StatusCode == 503 {
				sawNotReady = true
				break
			}
		}
		if !sawNotReady {
			t.Errorf("%s: /readyz did not answer 503 after SIGTERM while the process still listened", r.name)
		}
		balancer.waitStatus(t, r.name, "DOWN", 5*time.Second)
		if !r.alive() {
			t.Errorf("%s exited before HAProxy had taken it out of rotation", r.name)
		}
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("%s exited with %v after SIGTERM", r.name, err)
			}
			r.done <- err
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not exit after SIGTERM", r.name)
		}
		<-r.done
		r.start(t)
		balancer.waitStatus(t, r.name, "UP", 10*time.Second)
	}
	rolled := time.Now()
	t.Logf("scale: %s: rolling restart done", time.Since(testStart).Round(time.Millisecond))
	time.Sleep(time.Second)
	if f := l.failures(began, time.Now()); len(f) > 0 {
		t.Errorf("rolling restart: %d failed attempts, want none: %+v", len(f), f)
	}

	// kill -9: only requests in flight on that replica may fail.
	victim := replicas[1]
	// Kill it while it serves something besides this metrics request, so
	// that the in-flight case is exercised whenever the load allows.
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		if inFlightRequests("http://"+victim.addr) >= 2 {
			break
		}
	}
	killed := time.Now()
	victim.cmd.Process.Kill()
	<-victim.done
	balancer.waitStatus(t, victim.name, "DOWN", 5*time.Second)
	victim.start(t)
	balancer.waitStatus(t, victim.name, "UP", 10*time.Second)
	time.Sleep(time.Second)
	t.Logf("scale: %s: kill -9 phase done", time.Since(testStart).Round(time.Millisecond))
	stopLoad()
	t.Logf("scale: %s: load stopped", time.Since(testStart).Round(time.Millisecond))
	var inFlight, wrong []attempt
	for _, a := range l.failures(rolled, time.Now().Add(time.Hour)) {
		// In flight at the kill: began before it and failed after it.
		// The kill's time is read in this goroutine: allow for scheduling
		// between reading the clock and the signal landing.
		if a.began.Before(killed.Add(50*time.Millisecond)) && a.ended.After(killed) {
			inFlight = append(inFlight, a)
		} else {
			wrong = append(wrong, a)
		}
	}
	if len(wrong) > 0 {
		t.Errorf("kill -9: %d failed attempts were not in flight at the kill (kill at %s): %+v", len(wrong), killed.Format(time.StampMilli), wrong)
	}
	// HAProxy may repeat a write only when the replica never received it
	// (conn-failure); a repeated write's effect is still checked below.
	if r := balancer.retriedWrites(); len(r) > 0 {
		t.Logf("HAProxy sent %d writes to a second replica, e.g. %s", len(r), r[0])
	}
	if len(l.gaveUp) > 0 {
		t.Errorf("%d requests never got an answer despite retries: %v", len(l.gaveUp), l.gaveUp[:min(5, len(l.gaveUp))])
	}

	// Audit: exactly the acknowledged effects, no seat twice.
	st, err := postgres.Open(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	byID, live, _ := storetest.AuditSeats(t, t.Context(), st, flight)
	for id, seats := range l.booked {
		b, ok := byID[id]
		switch {
		case !ok:
			t.Errorf("acknowledged booking %s is missing", id)
		case strings.Join(b.Seats, ",") != strings.Join(seats, ","):
			t.Errorf("booking %s has seats %v, its client was told %v", id, b.Seats, seats)
		case l.canceled[id] != (b.Status == bookings.Canceled):
			t.Errorf("booking %s is %s; its client was told canceled=%v", id, b.Status, l.canceled[id])
		}
	}
	// A booking not acknowledged may exist only for a hold whose booking
	// request was cut by the kill: recovery finished it (one effect), but
	// the repeat, once the dead request's key lease ran out, was answered
	// otherwise. (One booking per hold is the schema's UNIQUE (hold_id).)
	for id, b := range byID {
		if _, ok := l.booked[id]; ok {
			continue
		}
		if answer, ok := l.orphaned[b.HoldID]; ok {
			t.Logf("kill -9: booking %s of hold %s was finished by recovery; its client's repeat was answered %s", id, b.HoldID, answer)
			continue
		}
		t.Errorf("booking %s (hold %s) is in the database but no client was told of it", id, b.HoldID)
	}
	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, _ := conn.Query(t.Context(), "SELECT id FROM holds WHERE flight_id = $1", flight)
	dbHolds, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range dbHolds {
		if !l.holds[id] {
			t.Errorf("hold %s is in the database but no client was told of it (a retry took effect twice?)", id)
		}
	}
	if len(dbHolds) != len(l.holds) {
		t.Errorf("%d holds in the database, %d acknowledged", len(dbHolds), len(l.holds))
	}
	t.Logf("scale: %d clients, %d requests (%d searches), %d holds, %d bookings (%d canceled, %d live seats); rolling restart %s; kill -9: %d in-flight attempts failed and were retried; %d answers idempotency_key_in_use, repeated",
		size.clients, l.ops.Load(), l.searches.Load(), len(l.holds), len(l.booked), len(l.canceled), live, rolled.Sub(began).Round(time.Millisecond), len(inFlight), l.inUse.Load())
	if len(l.booked) == 0 || l.searches.Load() == 0 {
		t.Errorf("the load booked or searched nothing")
	}
}

// inFlightRequests reads reservd_http_requests_in_flight from a replica
// (the metrics request itself included); -1 if it cannot.
func inFlightRequests(base string) int {
	res, err := http.Get(base + "/metrics")
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "reservd_http_requests_in_flight "); ok {
			var n float64
			fmt.Sscan(v, &n)
			return int(n)
		}
	}
	return -1
}

// createFlight adds a flight of rows × 6 seats through the load balancer.
func createFlight(t *testing.T, base, admin string, rows int) int64 {
	t.Helper()
	var seats []string
	for r := 1; r <= rows; r++ {
		for _, c := range "ABCDEF" {
			seats = append(seats, fmt.Sprintf(`{"seat":"%d%c","cabin":"economy","price":{"amount":12900,"currency":"USD"}}`, r, c))
		}
	}
	body := `{"number":"RV77","origin":"SFO","destination":"JFK","departs_at":"2036-01-10T16:00:00Z","arrives_at":"2036-01-10T21:30:00Z","seats":[` + strings.Join(seats, ",") + `]}`
	req, _ := http.NewRequest("POST", base+"/flights", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+admin)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Data struct {
			ID int64 `json:"id"`
		} `json:"data"`
	}
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != 201 || json.Unmarshal(raw, &out) != nil || out.Data.ID == 0 {
		t.Fatalf("POST /flights = %d %s", res.StatusCode, raw)
	}
	return out.Data.ID
}
