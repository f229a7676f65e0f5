package lincheck_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/reservd/reservd/internal/aggregator"
	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/app"
	"github.com/reservd/reservd/internal/config"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/lincheck"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/postgres"
	"github.com/reservd/reservd/internal/store/storetest"
	"github.com/reservd/reservd/internal/testdb"
)

func TestMain(m *testing.M) {
	// go-redis redials a server that is down (the Redis-down run) in a
	// background loop that sleeps a second between tries and returns at its
	// next wake-up once its client is closed: it may still be asleep when
	// goleak looks.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}

// full reports whether the long histories of `make chaos` are asked for.
func full() bool { return os.Getenv("CHAOS_FULL") == "1" }

// workload is the clients' shape: a bounded history by default, a long one
// with CHAOS_FULL=1.
func workload(urls, keys []string, flight func(context.Context, int) (int64, error), hc *http.Client) lincheck.Workload {
	w := lincheck.Workload{
		URLs: urls, Keys: keys, Flight: flight, Client: hc,
		Groups: groups, EpochOps: 25, Ops: 50,
		GiveUp: 0.03, GiveUpAfter: 5 * time.Millisecond,
		Seed: uint64(time.Now().UnixNano()),
	}
	if full() {
		w.Ops, w.Duration, w.EpochOps, w.GiveUp = 0, time.Minute, 40, 0.05
	}
	return w
}

// clients race for the seats of groups rows per flight.
const clients, groups = 10, 4

// holdTTL is far longer than any history: no hold expires mid-history.
const holdTTL = time.Hour

// instanceConfig is production's default configuration with holds that
// outlive the history, no rate limit, API keys looked up on every request,
// and seat locks in Redis at redisURL under prefix ("": in process).
func instanceConfig(t *testing.T, redisURL, prefix string) config.Config {
	t.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatalf("default configuration: %v", err)
	}
	cfg.HoldTTL, cfg.HoldMaxLifetime = holdTTL, 2*holdTTL
	cfg.RateLimit, cfg.APIKeyCacheTTL = 0, 0
	cfg.RedisURL, cfg.RedisPrefix = redisURL, prefix
	return cfg
}

// TestThreeInstances races clients through three instances, each with its
// own reserve.Service, PostgreSQL pool and Redis client, sharing one
// PostgreSQL database and one Redis.
func TestThreeInstances(t *testing.T) {
	t.Parallel()
	redisURL := testdb.RedisURL(t)
	prefix := testdb.UniquePrefix(t)
	regs := threeInstances(t, "three-instances", instanceConfig(t, redisURL, prefix))
	if fastPath(t, regs)["hit"] == 0 {
		t.Errorf("Redis never refused a seat: the run did not exercise the fast path")
	}
}

// TestThreeInstancesRedisDown is TestThreeInstances with Redis unreachable
// (nothing listens at its address), so that every conflict reaches
// PostgreSQL: with Redis up it refuses most conflicts first, and a database
// bug (FOR UPDATE removed from the hold transaction, say) goes unseen.
func TestThreeInstancesRedisDown(t *testing.T) {
	t.Parallel()
	regs := threeInstances(t, "three-instances-redis-down", instanceConfig(t, "redis://127.0.0.1:1/0?max_retries=-1", testdb.UniquePrefix(t)))
	if fast := fastPath(t, regs); fast["hit"] != 0 || fast["error"] == 0 {
		t.Errorf("seat fast path %v: want every call failing (Redis down) and no refusal from it", fast)
	}
}

// threeInstances serves three instances configured by cfg on one
// PostgreSQL database, each with its own pool (and Redis client, when cfg
// names one), records a history through them and checks it; it returns the
// instances' registries.
func threeInstances(t *testing.T, name string, cfg config.Config) []*prometheus.Registry {
	t.Helper()
	// A small pool per instance keeps the test's footprint on a shared
	// server small; ten clients over three instances need few connections.
	u, err := url.Parse(testdb.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "4")
	u.RawQuery = q.Encode()
	dbURL := u.String()
	logs := &logCounter{}
	var urls []string
	var regs []*prometheus.Registry
	var first store.Store
	for i := range 3 {
		st, err := postgres.Open(t.Context(), dbURL)
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		if i == 0 {
			if err := st.Migrate(t.Context()); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			first = st
		}
		instance, reg := serve(t, st, cfg, logs)
		urls, regs = append(urls, instance), append(regs, reg)
	}
	h := record(t, first, urls, regs)
	check(t, name, h)
	report(t, logs, regs)
	return regs
}

// TestEmbedded races clients through one instance of the embedded engine:
// SQLite and in-process seat locks.
func TestEmbedded(t *testing.T) {
	t.Parallel()
	st := storetest.Engines["sqlite"](t)
	logs := &logCounter{}
	u, reg := serve(t, st, instanceConfig(t, "", ""), logs)
	h := record(t, st, []string{u}, []*prometheus.Registry{reg})
	check(t, "embedded", h)
	report(t, logs, []*prometheus.Registry{reg})
}

// serve starts one instance on st, built by app.New as production builds
// it but for its flight and seat-map reads, which skip the read cache
// (bounded-stale by design: see the package documentation).
func serve(t *testing.T, st store.Store, cfg config.Config, logs *logCounter) (string, *prometheus.Registry) {
	t.Helper()
	a, err := app.New(t.Context(), cfg, app.Env{Log: slog.New(logs)}, app.Overrides{Store: st, UncachedReads: true,
		Providers: func(*http.Client) []aggregator.Source { return nil }})
	if err != nil {
		t.Fatalf("build an instance: %v", err)
	}
	t.Cleanup(a.Close)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return srv.URL, a.Registry
}

// record creates the clients' keys, runs the workload, and once no
// instance is serving a request any more, probes the seats left free.
func record(t *testing.T, st store.Store, urls []string, regs []*prometheus.Registry) *lincheck.History {
	t.Helper()
	var keys []string
	for i := range clients + 1 {
		key, digest := apikey.Generate()
		if _, err := st.APIKeyCreate(t.Context(), store.APIKeyCreateParams{Name: fmt.Sprintf("lincheck-%d", i), Digest: digest, Admin: false}); err != nil {
			t.Fatalf("create key: %v", err)
		}
		keys = append(keys, key)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	fs := &flightSet{st: st, groups: groups}
	w := workload(urls, keys[:clients], fs.flight, hc)
	t.Logf("workload: %d clients, %d instances, seed %d", len(w.Keys), len(urls), w.Seed)
	h, err := w.Run(t.Context())
	if err != nil {
		t.Fatalf("workload: %v", err)
	}
	settle(t, regs)
	refused, probed, err := lincheck.Probe(t.Context(), hc, urls, keys[clients], fs.ids())
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	t.Logf("probe: %d holds of seats left available, %d refused", probed, len(refused))
	for _, r := range refused {
		t.Errorf("a seat that reads available is refused with nothing in flight: %s", r)
	}
	return h
}

// settle waits until no instance is serving a request: requests the clients
// gave up on may still be running.
func settle(t *testing.T, regs []*prometheus.Registry) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := 0.0
		for _, reg := range regs {
			n += gauge(t, reg, "reservd_http_requests_in_flight")
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v requests still in flight", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			sum := 0.0
			for _, m := range mf.GetMetric() {
				sum += m.GetGauge().GetValue()
			}
			return sum
		}
	}
	return 0
}

// flightSet makes Workload.Flight's flights: epoch n's flight, created on
// first use with rows 1…groups of seats A, B, C.
type flightSet struct {
	st     store.Store
	groups int
	mu     sync.Mutex
	made   map[int]int64
}

func (fs *flightSet) flight(ctx context.Context, epoch int) (int64, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if id, ok := fs.made[epoch]; ok {
		return id, nil
	}
	f := flights.NewFlight{
		Number: fmt.Sprintf("LC%d", 100+epoch), Origin: "SFO", Destination: "JFK",
		DepartsAt: time.Date(2030, 1, 1, 8, 0, 0, 0, time.UTC), ArrivesAt: time.Date(2030, 1, 1, 13, 0, 0, 0, time.UTC),
	}
	for g := range fs.groups {
		for i := range lincheck.GroupSize {
			f.Seats = append(f.Seats, flights.NewSeat{Label: lincheck.Label(g, i), Cabin: flights.Economy, Price: money.Money{Amount: 10000, Currency: "USD"}})
		}
	}
	if err := f.Validate(); err != nil {
		return 0, err
	}
	created, err := fs.st.FlightCreate(ctx, f)
	if err != nil {
		return 0, err
	}
	if fs.made == nil {
		fs.made = map[int]int64{}
	}
	fs.made[epoch] = created.ID
	return created.ID, nil
}

func (fs *flightSet) ids() []int64 {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var out []int64
	for _, id := range fs.made {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// check checks a recorded history; on failure it writes the visualization
// to artifacts/lincheck-<name>.html at the module root.
func check(t *testing.T, name string, h *lincheck.History) {
	t.Helper()
	t.Logf("history: %s", h.Summary())
	for _, e := range h.ServerErrors {
		t.Errorf("server error (recorded as an unknown outcome): %s", e)
	}
	// No vacuous pass: the history has the operations that matter.
	for _, want := range []string{"hold 201", "hold 409", "book 201", "release 200", "read-hold 200", "read-seats 200"} {
		if h.Counts[want] == 0 {
			t.Errorf("the history has no %q: the check would prove little", want)
		}
	}
	if len(h.Ops) == 0 {
		t.Fatal("no operations recorded")
	}
	// The premise of a model without expiry, by the database's own clock.
	if !h.MinExpires.After(h.MaxCreated.Add(h.Wall)) {
		t.Errorf("a hold may have expired mid-history: earliest expires_at %v, latest created_at %v, history %v",
			h.MinExpires, h.MaxCreated, h.Wall)
	}
	path, err := lincheck.ArtifactPath("lincheck-" + name + ".html")
	if err != nil {
		t.Fatal(err)
	}
	timeout := 30 * time.Second
	if full() {
		timeout = 10 * time.Minute
	}
	start := time.Now()
	res, written, err := lincheck.Check(h.Ops, timeout, path)
	t.Logf("porcupine: %s in %v (%d operations)", res, time.Since(start).Round(time.Millisecond), len(h.Ops))
	if err != nil {
		t.Fatal(err)
	}
	switch res {
	case porcupine.Ok:
	case porcupine.Illegal:
		t.Log(lincheck.Explain(h.Ops, timeout))
		t.Fatalf("the history is not linearizable: see %s", written)
	default:
		t.Fatalf("the check did not finish within %v: see %s", timeout, written)
	}
}

// report logs what the instances logged at WARN and above, and how often the
// seat fast path fell back to the database.
func report(t *testing.T, logs *logCounter, regs []*prometheus.Registry) {
	t.Helper()
	t.Logf("seat fast path: %v; %s", fastPath(t, regs), logs.summary())
}

// fastPath sums reservd_seat_fastpath_total by result over the instances.
func fastPath(t *testing.T, regs []*prometheus.Registry) map[string]float64 {
	t.Helper()
	fast := map[string]float64{}
	for _, reg := range regs {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "reservd_seat_fastpath_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "result" {
						fast[l.GetValue()] += m.GetCounter().GetValue()
					}
				}
			}
		}
	}
	return fast
}

// logCounter is a slog handler that counts what the instances log at WARN
// and above and keeps the distinct messages.
type logCounter struct {
	mu   sync.Mutex
	n    int
	msgs map[string]int
}

func (l *logCounter) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelWarn }

func (l *logCounter) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "op" || a.Key == "error" {
			msg += " " + a.Key + "=" + a.Value.String()
		}
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.msgs == nil {
		l.msgs = map[string]int{}
	}
	l.n++
	l.msgs[msg]++
	return nil
}

func (l *logCounter) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCounter) WithGroup(string) slog.Handler      { return l }

func (l *logCounter) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%d WARN+ log lines: %v", l.n, l.msgs)
}
