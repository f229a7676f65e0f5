package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/postgres"
	"github.com/reservd/reservd/internal/store/sqlite"
	"github.com/reservd/reservd/internal/store/storetest"
	"github.com/reservd/reservd/internal/testdb"
)

// client talks to one or more reservd instances, picking one at random per request.
type client struct {
	t    testing.TB
	http *http.Client

	mu   sync.Mutex
	urls []string
	// killed is the base URL of an instance a test kills mid-storm: a
	// transport error from it (and only from it) is an indeterminate outcome,
	// a *cutOffError, instead of a failure.
	killed string
}

// cutOffError is a transport error from the killed instance: the request
// may or may not have taken effect.
type cutOffError struct{ err error }

func (e *cutOffError) Error() string { return "cut off by the kill: " + e.err.Error() }
func (e *cutOffError) Unwrap() error { return e.err }

func (c *client) pick() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.urls[rand.IntN(len(c.urls))]
}

// setURLs replaces the instances the client spreads requests over, as a
// load balancer does when one dies or comes back.
func (c *client) setURLs(urls ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.urls = urls
}

type reply struct {
	status int
	body   map[string]any
	raw    []byte
}

func (c *client) do(method, path, key, idem, body string) (reply, error) {
	base := c.pick()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return reply{}, c.cutOff(base, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return reply{}, c.cutOff(base, err)
	}
	r := reply{status: res.StatusCode, raw: raw}
	json.Unmarshal(raw, &r.body)
	return r, nil
}

// cutOff marks a transport error from the killed instance as such.
func (c *client) cutOff(base string, err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.killed != "" && base == c.killed {
		return &cutOffError{err}
	}
	return err
}

func (r reply) data() map[string]any { d, _ := r.body["data"].(map[string]any); return d }

// key creates an API key through `reservd keys create`, as an operator would.
func createKey(t testing.TB, env map[string]string, name string, admin bool) string {
	t.Helper()
	args := []string{"keys", "create", "--name", name}
	if admin {
		args = append(args, "--admin")
	}
	var out, errOut bytes.Buffer
	if err := run(t.Context(), args, func(k string) string { return env[k] }, &out, &errOut); err != nil {
		t.Fatalf("keys create: %v\n%s", err, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return lines[len(lines)-1]
}

// stormFlight creates a flight of rows seat rows (A–F) through the API.
func stormFlight(t testing.TB, c *client, admin string, rows int) int64 {
	t.Helper()
	var seats []string
	for r := 1; r <= rows; r++ {
		cabin := "economy"
		if r <= 2 {
			cabin = "business"
		}
		for _, l := range "ABCDEF" {
			seats = append(seats, fmt.Sprintf(`{"seat":"%d%c","cabin":%q,"price":{"amount":%d,"currency":"USD"}}`, r, l, cabin, 10000+r))
		}
	}
	body := `{"number":"RV900","origin":"SFO","destination":"JFK","departs_at":"2036-12-24T08:00:00Z","arrives_at":"2036-12-24T13:30:00Z","seats":[` + strings.Join(seats, ",") + `]}`
	r, err := c.do("POST", "/flights", admin, "", body)
	if err != nil || r.status != 201 {
		t.Fatalf("POST /flights = %d %s %v", r.status, r.raw, err)
	}
	return int64(r.data()["id"].(float64))
}

// stormLog is what the clients were told, to audit the data against.
type stormLog struct {
	mu       sync.Mutex
	booked   map[string][]string // acknowledged booking id → seats
	canceled map[string]bool     // acknowledged cancellations
	// cancelCut: bookings whose cancel request a kill cut off, so a
	// cancellation may have happened unacknowledged.
	cancelCut map[string]bool
	held      map[string]*toldHold // acknowledged hold id → what its owner was told
	errors    atomic.Int64         // 5xx answers and transport errors
	unknown   atomic.Int64         // requests cut off by a kill: outcome unknown
	ops       atomic.Int64
	statuses  sync.Map // status → *atomic.Int64
}

// toldHold is what a hold's owner was told about it.
type toldHold struct {
	key   string   // the owner's API key
	seats []string // the seats the 201 named
	// status is what the last acknowledged change made it: active when
	// created, booked by a 201 booking, released by a 200 release.
	status holds.Status
	// unsure: a request on it was cut off, so booked or released may have
	// happened unacknowledged.
	unsure bool
}

func (l *stormLog) hold(id string, f func(h *toldHold)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h := l.held[id]; h != nil {
		f(h)
	}
}

func (l *stormLog) count(status int) {
	v, _ := l.statuses.LoadOrStore(status, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (l *stormLog) summary() string {
	var parts []string
	l.statuses.Range(func(k, v any) bool {
		parts = append(parts, fmt.Sprintf("%v:%d", k, v.(*atomic.Int64).Load()))
		return true
	})
	return strings.Join(parts, " ")
}

// storm runs workers customers against the flight for ops requests each:
// holds (seats and quantities), bookings (some declined), releases and
// cancellations. between, if set, runs once half-way through.
func storm(t testing.TB, c *client, keys []string, flight int64, rows, workers, ops int, between func()) *stormLog {
	t.Helper()
	log := &stormLog{booked: map[string][]string{}, canceled: map[string]bool{}, cancelCut: map[string]bool{}, held: map[string]*toldHold{}}
	var wg sync.WaitGroup
	var half sync.Once
	var done atomic.Int64
	total := int64(workers * ops)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			key := keys[w%len(keys)]
			var myHolds, myBookings []string
			for i := range ops {
				if between != nil && done.Add(1) == total/2 {
					half.Do(between)
				}
				idem := fmt.Sprintf("storm-%d-%d-%d", w, i, rnd.Int64())
				var r reply
				onBooking := "" // the booking a cancel is for
				var err error
				var onHold string // the hold this request changes, if any
				switch op := rnd.IntN(10); {
				case op < 4 || len(myHolds) == 0:
					n := 1 + rnd.IntN(3)
					var seats []string
					for range n {
						seats = append(seats, fmt.Sprintf(`"%d%c"`, 1+rnd.IntN(rows), "ABCDEF"[rnd.IntN(6)]))
					}
					body := fmt.Sprintf(`{"flight_id":%d,"seats":[%s]}`, flight, strings.Join(seats, ","))
					if op == 3 {
						body = fmt.Sprintf(`{"flight_id":%d,"cabin":"economy","quantity":%d}`, flight, n)
					}
					r, err = c.do("POST", "/holds", key, idem, body)
					if err == nil && r.status == 201 {
						d := r.data()
						id := d["id"].(string)
						var seats []string
						for _, s := range d["seats"].([]any) {
							seats = append(seats, s.(string))
						}
						log.mu.Lock()
						log.held[id] = &toldHold{key: key, seats: seats, status: holds.Active}
						log.mu.Unlock()
						myHolds = append(myHolds, id)
					}
				case op < 7:
					h := myHolds[rnd.IntN(len(myHolds))]
					onHold = h
					token := "tok_visa"
					if rnd.IntN(8) == 0 {
						token = "tok_chargeDeclined"
					}
					r, err = c.do("POST", "/bookings", key, idem, fmt.Sprintf(`{"hold_id":%q,"payment":{"token":%q}}`, h, token))
					if err == nil && r.status == 201 {
						d := r.data()
						var seats []string
						for _, s := range d["seats"].([]any) {
							seats = append(seats, s.(string))
						}
						log.mu.Lock()
						log.booked[d["id"].(string)] = seats
						log.mu.Unlock()
						log.hold(h, func(th *toldHold) { th.status = holds.Booked })
						myBookings = append(myBookings, d["id"].(string))
					}
				case op < 9:
					onHold = myHolds[rnd.IntN(len(myHolds))]
					r, err = c.do("DELETE", "/holds/"+onHold, key, idem, "")
					if err == nil && r.status == 200 {
						log.hold(onHold, func(th *toldHold) { th.status = holds.Released })
					}
				default:
					if len(myBookings) == 0 {
						continue
					}
					b := myBookings[rnd.IntN(len(myBookings))]
					onBooking = b
					r, err = c.do("POST", "/bookings/"+b+"/cancel", key, idem, "")
					if err == nil && r.status == 200 {
						log.mu.Lock()
						log.canceled[b] = true
						log.mu.Unlock()
					}
				}
				log.ops.Add(1)
				if cut := (*cutOffError)(nil); errors.As(err, &cut) {
					log.unknown.Add(1)
					log.hold(onHold, func(th *toldHold) { th.unsure = true })
					if onBooking != "" {
						log.mu.Lock()
						log.cancelCut[onBooking] = true
						log.mu.Unlock()
					}
					continue
				}
				if err != nil || r.status >= 500 {
					log.errors.Add(1)
					t.Errorf("storm request failed: %v %d %s", err, r.status, r.raw)
					continue
				}
				log.count(r.status)
			}
		}()
	}
	wg.Wait()
	return log
}

// audit checks the database against the storm: no seat in two live
// bookings, booked seats are exactly the confirmed bookings' seats, and every
// acknowledged booking and cancellation is there (a booking canceled without
// an answer is allowed only where a kill cut its cancel request off).
func audit(t testing.TB, st store.Store, flight int64, log *stormLog) {
	t.Helper()
	byID, booked, _ := storetest.AuditSeats(t, t.Context(), st, flight)
	for id, seats := range log.booked {
		b, ok := byID[id]
		if !ok {
			t.Errorf("acknowledged booking %s is missing", id)
			continue
		}
		if strings.Join(b.Seats, ",") != strings.Join(seats, ",") {
			t.Errorf("booking %s has seats %v, the client was told %v", id, b.Seats, seats)
		}
		canceled := b.Status == bookings.Canceled
		if log.canceled[id] != canceled && !(canceled && log.cancelCut[id]) {
			t.Errorf("booking %s is %s; client was told canceled=%v", id, b.Status, log.canceled[id])
		}
	}
	// Requests whose answer was lost may have booked; nothing else may have.
	if extra := len(byID) - len(log.booked); extra < 0 || int64(extra) > log.unknown.Load() {
		t.Errorf("%d bookings in the database, %d acknowledged, %d outcomes unknown", len(byID), len(log.booked), log.unknown.Load())
	}
	t.Logf("storm: %d requests (%s), %d unknown, %d bookings (%d live seats), %d errors", log.ops.Load(), log.summary(), log.unknown.Load(), len(byID), booked, log.errors.Load())
	if log.errors.Load() != 0 {
		t.Errorf("%d requests failed with 5xx or transport errors", log.errors.Load())
	}
	if len(log.booked) == 0 {
		t.Errorf("the storm booked nothing")
	}
}

// auditHolds checks every acknowledged hold against the database: it is
// there with the seats its owner was told, in the status the last
// acknowledged change left it (active, booked or released; any of those if
// a request on it was cut off), and an active hold's seats read held. Holds
// must outlive the storm (HOLD_TTL well above its length).
func auditHolds(t testing.TB, st store.Store, flight int64, log *stormLog) {
	t.Helper()
	ctx := t.Context()
	seats, err := st.SeatList(ctx, flight)
	if err != nil {
		t.Fatal(err)
	}
	seatStatus := map[string]flights.SeatStatus{}
	for _, s := range seats {
		seatStatus[s.Label] = s.Status
	}
	keyIDs := map[string]int64{}
	active := 0
	for id, told := range log.held {
		keyID, ok := keyIDs[told.key]
		if !ok {
			p, err := st.APIKeyPrincipal(ctx, apikey.Digest(told.key))
			if err != nil {
				t.Fatalf("Principal: %v", err)
			}
			keyID, keyIDs[told.key] = p.KeyID, p.KeyID
		}
		h, err := st.HoldGet(ctx, keyID, id)
		if err != nil {
			t.Errorf("acknowledged hold %s: %v", id, err)
			continue
		}
		if !slices.Equal(h.Seats, told.seats) {
			t.Errorf("hold %s has seats %v, its owner was told %v", id, h.Seats, told.seats)
		}
		switch {
		case told.unsure && told.status == holds.Active:
			if h.Status != holds.Active && h.Status != holds.Booked && h.Status != holds.Released {
				t.Errorf("hold %s is %s after a cut-off request; want active, booked or released", id, h.Status)
			}
		case h.Status != told.status:
			t.Errorf("hold %s is %s; its owner was told %s", id, h.Status, told.status)
		}
		if h.Status == holds.Active {
			active++
			for _, s := range h.Seats {
				if seatStatus[s] != flights.Held {
					t.Errorf("seat %s of active hold %s reads %s, want held", s, id, seatStatus[s])
				}
			}
		}
	}
	t.Logf("storm: %d acknowledged holds, %d still active", len(log.held), active)
	if active == 0 {
		t.Errorf("no acknowledged hold is still active: the hold check checked nothing")
	}
}

func newClient(t testing.TB, instances ...*instance) *client {
	c := &client{t: t, http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	for _, in := range instances {
		c.urls = append(c.urls, "http://"+in.addr)
	}
	t.Cleanup(c.http.CloseIdleConnections)
	return c
}

func customerKeys(t testing.TB, env map[string]string, n int) []string {
	var keys []string
	for i := range n {
		keys = append(keys, createKey(t, env, fmt.Sprintf("customer-%d", i), false))
	}
	return keys
}

func TestStormEmbedded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": dir, "SEED_DEMO": "false", "LOG_LEVEL": "warn", "RATE_LIMIT": "0"}
	in := start(t, env)
	c := newClient(t, in)
	flight := stormFlight(t, c, createKey(t, env, "ops", true), 8)
	log := storm(t, c, customerKeys(t, env, 4), flight, 8, 16, 40, nil)
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "reservd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	audit(t, st, flight, log)
	auditHolds(t, st, flight, log)
}

// TestStormThreeInstances races customers through three instances sharing
// one PostgreSQL database and one Redis.
func TestStormThreeInstances(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": testdb.PostgresURL(t), "REDIS_URL": testdb.RedisURL(t), "REDIS_PREFIX": testdb.UniquePrefix(t), "LOG_LEVEL": "warn", "RATE_LIMIT": "0"}
	a, b, c3 := start(t, clone(env)), start(t, clone(env)), start(t, clone(env))
	c := newClient(t, a, b, c3)
	flight := stormFlight(t, c, createKey(t, env, "ops", true), 8)
	log := storm(t, c, customerKeys(t, env, 4), flight, 8, 24, 40, nil)
	st := openPostgres(t, env["DATABASE_URL"])
	audit(t, st, flight, log)
	auditHolds(t, st, flight, log)
}

// TestStormRedisFlushedThenStopped runs the storm against a Redis of its own,
// flushes it a third of the way in and stops it half-way: the service must
// go on, on the database alone, with no errors and no oversell.
func TestStormRedisFlushedThenStopped(t *testing.T) {
	t.Parallel()
	redisAddr, stopRedis, flushRedis := privateRedis(t)
	env := map[string]string{"DATABASE_URL": testdb.PostgresURL(t), "REDIS_URL": "redis://" + redisAddr + "/0", "LOG_LEVEL": "error", "RATE_LIMIT": "0"}
	a, b := start(t, clone(env)), start(t, clone(env))
	c := newClient(t, a, b)
	flight := stormFlight(t, c, createKey(t, env, "ops", true), 8)
	keys := customerKeys(t, env, 4)
	log := storm(t, c, keys, flight, 8, 16, 30, flushRedis)
	t.Log("Redis flushed half-way; stopping it now")
	stopRedis()
	log2 := storm(t, c, keys, flight, 8, 16, 30, nil)
	for id, seats := range log2.booked {
		log.booked[id] = seats
	}
	for id := range log2.canceled {
		log.canceled[id] = true
	}
	for id := range log2.cancelCut {
		log.cancelCut[id] = true
	}
	log.errors.Add(log2.errors.Load())
	log.ops.Add(log2.ops.Load())
	audit(t, openPostgres(t, env["DATABASE_URL"]), flight, log)
	if r, _ := c.do("GET", "/readyz", "", "", ""); r.status != 503 || !strings.Contains(string(r.raw), "redis") {
		t.Errorf("readyz with Redis stopped = %d %s", r.status, r.raw)
	}
	m, _ := c.do("GET", "/metrics", "", "", "")
	if !regexp.MustCompile(`reservd_seat_fastpath_total\{result="error"\} [1-9]`).Match(m.raw) {
		t.Errorf("fast-path fallbacks were not counted")
	}
}

// TestStormShortTTL lets every hold of a storm expire: afterwards only the
// booked seats are taken, whether or not the sweeper has run.
func TestStormShortTTL(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": testdb.PostgresURL(t), "REDIS_URL": testdb.RedisURL(t), "REDIS_PREFIX": testdb.UniquePrefix(t), "LOG_LEVEL": "warn", "RATE_LIMIT": "0",
		"HOLD_TTL": "400ms", "HOLD_MAX_LIFETIME": "1s", "SWEEP_INTERVAL": "1h"}
	in := start(t, env)
	c := newClient(t, in)
	flight := stormFlight(t, c, createKey(t, env, "ops", true), 6)
	log := storm(t, c, customerKeys(t, env, 3), flight, 6, 12, 30, nil)
	// A hold extended at the storm's end may live until its creation plus
	// HOLD_MAX_LIFETIME (1s): wait past that, with room for the clock of
	// its transaction, which started before its answer.
	time.Sleep(1500 * time.Millisecond)
	st := openPostgres(t, env["DATABASE_URL"])
	audit(t, st, flight, log)
	seats, _ := st.SeatList(t.Context(), flight)
	for _, s := range seats {
		if s.Status == flights.Held {
			t.Errorf("seat %s still reads held after every hold expired", s.Label)
		}
	}
}

func clone(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func openPostgres(t testing.TB, url string) store.Store {
	t.Helper()
	st, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// privateRedis starts a redis-server of this test's own on a free port.
func privateRedis(t testing.TB) (addr string, stop, flush func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is needed to stop Redis in the middle of a storm: install it (apt-get install redis-server): %v", err)
	}
	addr = freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	var once sync.Once
	stop = func() { once.Do(func() { cmd.Process.Kill(); cmd.Wait() }) }
	t.Cleanup(stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not start on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	flush = func() {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Errorf("flush redis: %v", err)
			return
		}
		defer conn.Close()
		fmt.Fprint(conn, "FLUSHALL\r\n")
		buf := make([]byte, 16)
		conn.Read(buf)
		t.Logf("Redis flushed mid-storm: %q", strings.TrimSpace(string(buf)))
	}
	return addr, stop, flush
}
