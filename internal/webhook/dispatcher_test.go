package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/storetest"
	"github.com/reservd/reservd/internal/webhook"
)

// receiver is a webhook endpoint in a test: it checks every request's
// signature and body and counts deliveries by event id. answer decides
// each request's status (nil: 200); it may block.
type receiver struct {
	t      testing.TB
	srv    *httptest.Server
	secret string
	answer func(r *http.Request, n int) int

	mu       sync.Mutex
	got      map[string]int // 2xx answers by event id
	requests int
	inFlight int
	maxIn    int
}

func newReceiver(t testing.TB, answer func(r *http.Request, n int) int) *receiver {
	rc := &receiver{t: t, answer: answer, got: map[string]int{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.requests++
	n := rc.requests
	rc.inFlight++
	rc.maxIn = max(rc.maxIn, rc.inFlight)
	secret := rc.secret
	rc.mu.Unlock()
	defer func() { rc.mu.Lock(); rc.inFlight--; rc.mu.Unlock() }()
	if err := webhook.Verify(r.Header.Get(webhook.SignatureHeader), secret, body, webhook.Tolerance); err != nil {
		rc.t.Errorf("receiver: bad signature %q: %v", r.Header.Get(webhook.SignatureHeader), err)
	}
	var ev struct {
		ID        string          `json:"id"`
		Type      string          `json:"type"`
		CreatedAt time.Time       `json:"created_at"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" || ev.CreatedAt.IsZero() || len(ev.Data) == 0 ||
		r.Header.Get("Reservd-Event-Id") != ev.ID || r.Header.Get("Reservd-Event-Type") != ev.Type || r.Method != http.MethodPost {
		rc.t.Errorf("receiver: bad delivery %s %q %v (%v)", r.Method, body, r.Header, err)
	}
	status := http.StatusOK
	if rc.answer != nil {
		status = rc.answer(r, n)
	}
	if status >= 200 && status < 300 {
		rc.mu.Lock()
		rc.got[ev.ID]++
		rc.mu.Unlock()
	}
	w.WriteHeader(status)
}

func (rc *receiver) count(id string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.got[id]
}

// env is a store with one customer.
type env struct {
	s   store.Store
	key int64
}

func newEnv(t *testing.T, engine string) *env {
	s := storetest.Engines[engine](t)
	_, digest := apikey.Generate()
	key, err := s.APIKeyCreate(t.Context(), store.APIKeyCreateParams{Name: "customer", Digest: digest})
	if err != nil {
		t.Fatal(err)
	}
	return &env{s: s, key: key}
}

func (e *env) endpoint(t testing.TB, rc *receiver, url string) store.WebhookEndpoint {
	t.Helper()
	secret := webhook.NewSecret()
	if rc != nil {
		rc.secret = secret
		if url == "" {
			url = rc.srv.URL + "/hook"
		}
	}
	ep, err := e.s.WebhookEndpointCreate(t.Context(), store.WebhookEndpoint{ID: store.NewWebhookEndpointID(), KeyID: e.key,
		URL: url, Events: []string{events.All}, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func (e *env) events(t testing.TB, n int) []events.Event {
	t.Helper()
	var evs []events.Event
	for range n {
		evs = append(evs, storetest.NewEvent(e.key, events.HoldCreated))
	}
	storetest.WriteEvents(t, e.s, evs...)
	storetest.Sequence(t, e.s)
	return evs
}

// run runs d's stream and dispatch passes every few milliseconds until
// the returned stop is called (or the test ends): a replica's jobs.
func run(t testing.TB, d *webhook.Dispatcher) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if _, err := d.Stream(ctx); err != nil && ctx.Err() == nil {
				t.Errorf("stream: %v", err)
			}
			if _, err := d.Dispatch(ctx); err != nil && ctx.Err() == nil {
				t.Errorf("dispatch: %v", err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done; d.Stop() }) }
	t.Cleanup(stop)
	return stop
}

func testConfig() webhook.Config {
	c := webhook.DefaultConfig()
	c.AllowPrivate = true
	c.RetryBase = 20 * time.Millisecond
	c.Timeout = 5 * time.Second
	return c
}

func eventually(t testing.TB, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func deliveries(t testing.TB, e *env, endpoint string) []store.WebhookDelivery {
	t.Helper()
	ds, err := e.s.WebhookDeliveryList(t.Context(), store.WebhookDeliveryListParams{KeyID: e.key, EndpointID: endpoint, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

var engines = []string{"sqlite", "postgres"}

// TestEveryEventArrives: each sequenced event reaches the endpoint, signed,
// and the log shows it delivered; the metrics count it.
func TestEveryEventArrives(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, engine)
			rc := newReceiver(t, nil)
			ep := e.endpoint(t, rc, "")
			reg := prometheus.NewRegistry()
			d := webhook.New(e.s, testConfig(), nil, reg)
			run(t, d)
			evs := e.events(t, 40)
			evs = append(evs, e.events(t, 20)...)
			for _, ev := range evs {
				eventually(t, 10*time.Second, "event "+ev.ID+" delivered", func() bool { return rc.count(ev.ID) >= 1 })
			}
			eventually(t, 5*time.Second, "every delivery recorded", func() bool {
				ds := deliveries(t, e, ep.ID)
				for _, dl := range ds {
					if dl.Status != store.DeliveryDelivered || dl.ResponseStatus != 200 {
						return false
					}
				}
				return len(ds) >= len(evs)
			})
			if n := len(deliveries(t, e, ep.ID)); n != len(evs) {
				t.Errorf("%d deliveries logged for %d events", n, len(evs))
			}
			if got := value(t, reg, "reservd_webhook_deliveries_total", "delivered"); got != float64(len(evs)) {
				t.Errorf("delivered counter = %v, want %d", got, len(evs))
			}
			if _, err := d.Gauges(t.Context()); err != nil {
				t.Fatal(err)
			}
			if n := testutil.CollectAndCount(reg, "reservd_webhook_delivery_latency_seconds"); n != 1 {
				t.Errorf("latency histogram series = %d", n)
			}
		})
	}
}

// TestStreamClaimsAgainAtOnce: one Stream pass sends a backlog of several
// batches: each stream claims its endpoint again as soon as it has
// recorded, without waiting for another pass.
func TestStreamClaimsAgainAtOnce(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, engine)
			rc := newReceiver(t, func(*http.Request, int) int { return http.StatusOK })
			e.endpoint(t, rc, "")
			d := webhook.New(e.s, testConfig(), nil, prometheus.NewRegistry())
			t.Cleanup(d.Stop)
			evs := e.events(t, 3*testConfig().PerEndpoint*testConfig().Batch+5)
			if n, err := d.Stream(t.Context()); err != nil || n != 1 {
				t.Fatalf("Stream = %d, %v; want the endpoint's stream", n, err)
			}
			for _, ev := range evs {
				eventually(t, 10*time.Second, "event "+ev.ID+" delivered with no other Stream pass", func() bool { return rc.count(ev.ID) >= 1 })
			}
		})
	}
}

// TestRetryAfterFailure: a receiver that answers 500 first gets the event
// on a later attempt, and the log shows both attempts.
func TestRetryAfterFailure(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, engine)
			rc := newReceiver(t, func(_ *http.Request, n int) int {
				if n == 1 {
					return http.StatusInternalServerError
				}
				return http.StatusNoContent
			})
			ep := e.endpoint(t, rc, "")
			run(t, webhook.New(e.s, testConfig(), nil, prometheus.NewRegistry()))
			ev := e.events(t, 1)[0]
			eventually(t, 10*time.Second, "delivered after a retry", func() bool { return rc.count(ev.ID) == 1 })
			var ds []store.WebhookDelivery
			eventually(t, 5*time.Second, "the retry recorded", func() bool {
				ds = deliveries(t, e, ep.ID)
				return len(ds) == 2 && ds[0].Status == store.DeliveryDelivered
			})
			if ds[0].Attempt != 2 || ds[0].ResponseStatus != 204 || ds[1].Attempt != 1 || ds[1].Status != store.DeliveryFailed || ds[1].ResponseStatus != 500 {
				t.Fatalf("log = %+v; want attempt 2 delivered (204) over attempt 1 failed (500)", ds)
			}
		})
	}
}

// TestHangingReceiverDoesNotDelayOthers: one endpoint never answers; another
// endpoint's events arrive meanwhile, and the hanging one never has more
// than PerEndpoint requests open.
func TestHangingReceiverDoesNotDelayOthers(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, engine)
			release := make(chan struct{})
			hang := newReceiver(t, func(r *http.Request, _ int) int {
				select {
				case <-release:
				case <-r.Context().Done():
				}
				return http.StatusOK
			})
			t.Cleanup(func() { close(release) })
			fast := newReceiver(t, nil)
			// The hanging endpoint comes first, so its deliveries are due first.
			e.endpoint(t, hang, "")
			e.endpoint(t, fast, "")
			cfg := testConfig()
			// A dispatcher that waited for the hanging sends would deliver
			// nothing else for Timeout; the other endpoint must be served
			// well within it.
			cfg.Concurrency, cfg.PerEndpoint, cfg.Timeout = 4, 2, 30*time.Second
			run(t, webhook.New(e.s, cfg, nil, prometheus.NewRegistry()))
			start := time.Now()
			evs := e.events(t, 30)
			for _, ev := range evs {
				eventually(t, 10*time.Second, "the other endpoint's delivery of "+ev.ID, func() bool { return fast.count(ev.ID) == 1 })
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("the other endpoint's 30 events took %s beside a hanging one", took)
			}
			hang.mu.Lock()
			defer hang.mu.Unlock()
			if hang.maxIn > cfg.PerEndpoint || hang.maxIn == 0 {
				t.Errorf("the hanging endpoint had %d requests open at once, want 1..%d", hang.maxIn, cfg.PerEndpoint)
			}
		})
	}
}

// TestDisabledAfterRetryWindow: a receiver that always fails is retried
// until the window passes, then its endpoint is disabled and counted.
func TestDisabledAfterRetryWindow(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, engine)
			rc := newReceiver(t, func(*http.Request, int) int { return http.StatusServiceUnavailable })
			ep := e.endpoint(t, rc, "")
			cfg := testConfig()
			cfg.RetryFor = 400 * time.Millisecond
			reg := prometheus.NewRegistry()
			d := webhook.New(e.s, cfg, nil, reg)
			run(t, d)
			e.events(t, 1)
			eventually(t, 10*time.Second, "endpoint disabled", func() bool {
				got, err := e.s.WebhookEndpointGet(t.Context(), e.key, ep.ID)
				return err == nil && got.Status == store.WebhookDisabled
			})
			ds := deliveries(t, e, ep.ID)
			if len(ds) < 2 {
				t.Errorf("%d attempts before disabling, want retries", len(ds))
			}
			for _, dl := range ds {
				if dl.Status != store.DeliveryFailed || dl.ResponseStatus != 503 || !dl.FirstAttemptAt.Equal(ds[0].FirstAttemptAt) {
					t.Errorf("attempt = %+v", dl)
				}
			}
			if _, err := d.Gauges(t.Context()); err != nil {
				t.Fatal(err)
			}
			if v := value(t, reg, "reservd_webhook_endpoints_disabled", ""); v != 1 {
				t.Errorf("disabled endpoints gauge = %v", v)
			}
		})
	}
}

// TestRefusedAtDeliveryTime: with private addresses not allowed, an
// endpoint whose name resolves to loopback (stored before the rule, or
// rebound since) and an http:// endpoint are never reached; their
// deliveries fail without an answer.
func TestRefusedAtDeliveryTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	tlsHits := atomic.Int32{}
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { tlsHits.Add(1) }))
	t.Cleanup(tlsSrv.Close)
	_, port, _ := net.SplitHostPort(tlsSrv.Listener.Addr().String())
	plain := newReceiver(t, nil)
	byName := e.endpoint(t, nil, "https://localhost:"+port+"/hook")
	byHTTP := e.endpoint(t, nil, plain.srv.URL+"/hook")
	cfg := testConfig()
	cfg.AllowPrivate = false
	cfg.RetryFor = time.Hour
	run(t, webhook.New(e.s, cfg, nil, prometheus.NewRegistry()))
	e.events(t, 1)
	for _, ep := range []store.WebhookEndpoint{byName, byHTTP} {
		eventually(t, 10*time.Second, "a refused attempt logged for "+ep.URL, func() bool {
			for _, dl := range deliveries(t, e, ep.ID) {
				if dl.Status == store.DeliveryFailed && dl.ResponseStatus == 0 {
					return true
				}
			}
			return false
		})
	}
	plain.mu.Lock()
	defer plain.mu.Unlock()
	if tlsHits.Load() != 0 || plain.requests != 0 {
		t.Fatalf("refused receivers were reached: %d, %d", tlsHits.Load(), plain.requests)
	}
}

// value reads a counter or gauge from reg; outcome selects the series by
// its outcome label ("" for an unlabelled metric).
func value(t testing.TB, reg *prometheus.Registry, name, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := outcome == ""
			for _, l := range m.GetLabel() {
				match = match || l.GetName() == "outcome" && l.GetValue() == outcome
			}
			if match {
				return m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no %s{outcome=%q}", name, outcome)
	return 0
}

// TestStoppedMidDeliveryIsTakenOver: a dispatcher killed while its send is
// in flight records nothing; once its lease on the stream runs out another
// dispatcher (another replica, on its own connection pool) sends the same
// event. Nothing is lost and the receiver's only 2xx is the second send.
func TestStoppedMidDeliveryIsTakenOver(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, engine)
			hanging := make(chan struct{}, 1)
			rc := newReceiver(t, func(r *http.Request, n int) int {
				if n == 1 {
					hanging <- struct{}{}
					<-r.Context().Done()                 // until the sender goes away
					return http.StatusServiceUnavailable // never seen: nobody is listening
				}
				return http.StatusOK
			})
			ep := e.endpoint(t, rc, "")
			cfg := testConfig()
			cfg.Lease = 1500 * time.Millisecond
			first := webhook.New(e.s, cfg, nil, prometheus.NewRegistry())
			stopFirst := run(t, first)
			written := time.Now() // the claim comes after
			ev := e.events(t, 1)[0]
			select {
			case <-hanging:
			case <-time.After(10 * time.Second):
				t.Fatal("the first dispatcher never sent")
			}
			stopFirst() // the replica dies mid-delivery
			run(t, webhook.New(e.s, cfg, nil, prometheus.NewRegistry()))
			eventually(t, 10*time.Second, "taken over after the lease", func() bool { return rc.count(ev.ID) == 1 })
			if took := time.Since(written); took < cfg.Lease {
				t.Errorf("taken over after %s, before the %s lease ran out", took, cfg.Lease)
			}
			eventually(t, 5*time.Second, "the outcome recorded", func() bool {
				ds := deliveries(t, e, ep.ID)
				return len(ds) == 1 && ds[0].Status == store.DeliveryDelivered && ds[0].Attempt == 1
			})
		})
	}
}

// TestCloseRecordsAndReleases: Close records the sends finished and gives
// the stream back with the events not sent (the one in flight among them:
// sent again, at least once), which another replica can claim at once.
func TestCloseRecordsAndReleases(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, engine)
			hanging := make(chan struct{}, 1)
			rc := newReceiver(t, func(r *http.Request, n int) int {
				if n == 2 {
					hanging <- struct{}{}
					<-r.Context().Done()
				}
				return http.StatusOK
			})
			ep := e.endpoint(t, rc, "")
			cfg := testConfig()
			cfg.PerEndpoint = 1
			d := webhook.New(e.s, cfg, nil, prometheus.NewRegistry())
			evs := e.events(t, 5)
			if n, err := d.Stream(t.Context()); err != nil || n != 1 {
				t.Fatalf("Stream = %d, %v; want the endpoint's stream", n, err)
			}
			select {
			case <-hanging:
			case <-time.After(10 * time.Second):
				t.Fatal("the second event was never sent")
			}
			d.Close(100 * time.Millisecond)
			status := map[string]int{}
			for _, dl := range deliveries(t, e, ep.ID) {
				status[dl.Status]++
			}
			if status[store.DeliveryDelivered] != 1 || len(status) != 1 {
				t.Fatalf("after Close: %v; want the first event delivered, nothing else logged", status)
			}
			again, err := e.s.WebhookStreamClaim(t.Context(), store.WebhookStreamClaimParams{Endpoints: 10, Events: 10, Lease: time.Minute})
			if err != nil || len(again) != 1 || len(again[0].Events) != 4 || again[0].Events[0].ID != evs[1].ID {
				t.Fatalf("claimed %+v after Close (%v), want the stream at once with the 4 events not delivered", again, err)
			}
		})
	}
}
