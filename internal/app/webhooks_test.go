package app_test

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reservd/reservd/internal/aggregator"
	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/app"
	"github.com/reservd/reservd/internal/config"
	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/postgres"
	"github.com/reservd/reservd/internal/store/storetest"
	"github.com/reservd/reservd/internal/testdb"
	"github.com/reservd/reservd/internal/webhook"
)

// TestWebhooksThreeReplicas: three replicas (app instances, each with its
// own connection pool and jobs) on one PostgreSQL fan out and deliver
// events written in bursts while they run, to a receiver that checks every
// signature and refuses one request in ten with a 500. Every event is
// accepted by the receiver, and exactly once: no lease runs out here (the
// receiver answers at once), so at-least-once allows no duplicate; the log
// has one delivered attempt per event.
func TestWebhooksThreeReplicas(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dbURL, st, customer := webhookWorld(t)

	var (
		mu       sync.Mutex
		accepted = map[string]int{}
		refused  int
		secret   = webhook.NewSecret()
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(r.Header.Get(webhook.SignatureHeader), secret, body, webhook.Tolerance); err != nil {
			t.Errorf("receiver: %v", err)
		}
		var ev struct {
			ID string `json:"id"`
		}
		json.Unmarshal(body, &ev)
		mu.Lock()
		defer mu.Unlock()
		if rand.IntN(10) == 0 {
			refused++
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		accepted[ev.ID]++
	}))
	t.Cleanup(rcv.Close)
	ep, err := st.WebhookEndpointCreate(ctx, store.WebhookEndpoint{ID: store.NewWebhookEndpointID(), KeyID: customer,
		URL: rcv.URL + "/hook", Events: []string{events.All}, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}

	var regs []*prometheus.Registry
	for range 3 {
		a := startReplica(t, dbURL, map[string]string{"WEBHOOK_RETRY_BASE": "50ms"})
		regs = append(regs, a.Registry)
	}

	var written []events.Event
	for range 10 {
		var burst []events.Event
		for range 20 {
			burst = append(burst, storetest.NewEvent(customer, events.HoldCreated))
		}
		storetest.WriteEvents(t, st, burst...)
		storetest.Sequence(t, st)
		written = append(written, burst...)
		time.Sleep(30 * time.Millisecond)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		missing := 0
		for _, ev := range written {
			if accepted[ev.ID] == 0 {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events never accepted", missing, len(written))
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	for id, n := range accepted {
		if n != 1 {
			t.Errorf("event %s accepted %d times with no lease run out", id, n)
		}
	}
	t.Logf("%d events, %d refused attempts retried", len(written), refused)
	mu.Unlock()

	// Outcomes are recorded in batches, up to webhook.FlushEvery after the
	// send: wait for the log to show every event delivered.
	var delivered map[string]int
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ds, err := st.WebhookDeliveryList(ctx, store.WebhookDeliveryListParams{KeyID: customer, EndpointID: ep.ID, Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		delivered = map[string]int{}
		for _, d := range ds {
			if d.Status == store.DeliveryDelivered {
				delivered[d.EventID]++
			}
		}
		if len(delivered) == len(written) || time.Now().After(deadline) {
			break
		}
	}
	for _, ev := range written {
		if delivered[ev.ID] != 1 {
			t.Errorf("event %s has %d delivered attempts in the log, want 1", ev.ID, delivered[ev.ID])
		}
	}
	// Every replica took part, and none recorded over another's lease.
	for i, reg := range regs {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var sent, stale float64
		for _, mf := range mfs {
			if mf.GetName() != "reservd_webhook_deliveries_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				outcome := m.GetLabel()[0].GetValue()
				if outcome == "stale" {
					stale += m.GetCounter().GetValue()
				} else {
					sent += m.GetCounter().GetValue()
				}
			}
		}
		if stale != 0 {
			t.Errorf("replica %d recorded %v stale outcomes", i, stale)
		}
		t.Logf("replica %d sent %v attempts", i, sent)
		if sent == 0 {
			t.Errorf("replica %d sent nothing: the queue was not shared", i)
		}
	}
}

// TestWebhookDeliverFalse: a replica with WEBHOOK_DELIVER=false writes
// events but never sends them (its backlog shows as unsent); a replica
// with the default delivers them, and the first one
// sends nothing all along.
func TestWebhookDeliverFalse(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dbURL, st, customer := webhookWorld(t)
	var (
		mu       sync.Mutex
		accepted = map[string]bool{}
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			ID string `json:"id"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("receiver: %v", err)
		}
		mu.Lock()
		accepted[ev.ID] = true
		mu.Unlock()
	}))
	t.Cleanup(rcv.Close)
	if _, err := st.WebhookEndpointCreate(ctx, store.WebhookEndpoint{ID: store.NewWebhookEndpointID(), KeyID: customer,
		URL: rcv.URL + "/hook", Events: []string{events.All}, Secret: webhook.NewSecret()}); err != nil {
		t.Fatal(err)
	}
	replica := func(deliver string) *app.App {
		return startReplica(t, dbURL, map[string]string{"WEBHOOK_DELIVER": deliver, "SWEEP_INTERVAL": "100ms"})
	}
	api := replica("false")
	var written []events.Event
	for range 20 {
		written = append(written, storetest.NewEvent(customer, events.HoldCreated))
	}
	storetest.WriteEvents(t, st, written...)
	storetest.Sequence(t, st)
	gauge := func(a *app.App, name, label string) float64 {
		mfs, err := a.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				if mf.GetName() == name && (label == "" || m.GetLabel()[0].GetValue() == label) {
					sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
				}
			}
		}
		return sum
	}
	for deadline := time.Now().Add(5 * time.Second); gauge(api, "reservd_webhook_queue_depth", "unsent") != float64(len(written)); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("unsent = %v after 5s, want %d", gauge(api, "reservd_webhook_queue_depth", "unsent"), len(written))
		}
	}
	mu.Lock()
	if len(accepted) != 0 {
		t.Errorf("%d events sent with WEBHOOK_DELIVER=false on the only replica", len(accepted))
	}
	mu.Unlock()

	replica("true")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(accepted)
		mu.Unlock()
		if n == len(written) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events delivered by the replica with WEBHOOK_DELIVER=true", n, len(written))
		}
	}
	if sent := gauge(api, "reservd_webhook_deliveries_total", ""); sent != 0 {
		t.Errorf("the replica with WEBHOOK_DELIVER=false sent %v deliveries", sent)
	}
}

// webhookWorld is a fresh migrated PostgreSQL database (its URL and a
// store on it) with one customer key.
func webhookWorld(t *testing.T) (dbURL string, st *postgres.Store, customer int64) {
	t.Helper()
	dbURL = testdb.PostgresURL(t)
	st, err := postgres.Open(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, digest := apikey.Generate()
	if customer, err = st.APIKeyCreate(t.Context(), store.APIKeyCreateParams{Name: "customer", Digest: digest}); err != nil {
		t.Fatal(err)
	}
	return dbURL, st, customer
}

// startReplica starts a replica on dbURL (a pool of 4, webhooks allowed to
// private addresses, passes every 20 ms) with the settings in env besides,
// running its jobs until the test ends.
func startReplica(t *testing.T, dbURL string, env map[string]string) *app.App {
	t.Helper()
	vars := map[string]string{"DATABASE_URL": withDBParam(dbURL, "pool_max_conns", "4"),
		"WEBHOOK_ALLOW_PRIVATE": "true", "WEBHOOK_INTERVAL": "20ms"}
	maps.Copy(vars, env)
	cfg, err := config.Load(func(name string) string { return vars[name] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(t.Context(), cfg, app.Env{}, app.Overrides{Providers: func(*http.Client) []aggregator.Source { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	jobs, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.RunJobs(jobs) }()
	t.Cleanup(func() { stop(); <-done; a.Close() })
	return a
}
