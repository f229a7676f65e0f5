package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/config"
	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/storetest"
	"github.com/reservd/reservd/internal/webhook"
)

// TestWebhookEndpointValidation: without WEBHOOK_ALLOW_PRIVATE, URLs that
// are not https:// or that point inside are refused, as are bad event
// lists; nothing is stored.
func TestWebhookEndpointValidation(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, a *api) {
		for body, field := range map[string]string{
			`{"url": "http://93.184.216.34/hook", "events": ["*"]}`:      "url",
			`{"url": "https://127.0.0.1/hook", "events": ["*"]}`:         "url",
			`{"url": "https://localhost:8443/hook", "events": ["*"]}`:    "url",
			`{"url": "https://10.1.2.3/hook", "events": ["*"]}`:          "url",
			`{"url": "https://169.254.169.254/latest", "events": ["*"]}`: "url",
			`{"url": "https://[::1]/hook", "events": ["*"]}`:             "url",
			`{"events": ["*"]}`: "url",
			`{"url": "https://93.184.216.34/hook", "events": []}`:            "events",
			`{"url": "https://93.184.216.34/hook"}`:                          "events",
			`{"url": "https://93.184.216.34/hook", "events": ["hold.gone"]}`: "events",
		} {
			m := wantError(t, a.do(http.MethodPost, "/webhook_endpoints", a.client, strings.NewReader(body)), http.StatusUnprocessableEntity, "invalid_request")
			if d, _ := m["details"].(map[string]any); d[field] == nil {
				t.Errorf("%s: details %v do not name %s", body, m["details"], field)
			}
		}
		wantError(t, a.do(http.MethodPost, "/webhook_endpoints", a.client, strings.NewReader(`{"url": 1}`)), http.StatusBadRequest, "invalid_json")
		wantError(t, a.do(http.MethodPost, "/webhook_endpoints", "", strings.NewReader(`{}`)), http.StatusUnauthorized, "unauthorized")
		if list, _ := a.store.WebhookEndpointList(t.Context(), principalKey(t, a, a.client)); len(list) != 0 {
			t.Fatalf("refused endpoints were stored: %v", list)
		}
		r := a.do(http.MethodPost, "/webhook_endpoints", a.client, strings.NewReader(`{"url": "https://93.184.216.34/hook", "events": ["hold.expired", "hold.expired"]}`))
		if r.status != http.StatusCreated {
			t.Fatalf("a public https URL: %d %s", r.status, r.body)
		}
		if ev := r.json(t)["data"].(map[string]any)["events"].([]any); len(ev) != 1 {
			t.Errorf("events = %v, want the duplicate dropped", ev)
		}
	})
}

// hookReceiver checks every delivery's signature and counts them by event id.
type hookReceiver struct {
	t      testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	got    map[string]int
}

func newHookReceiver(t testing.TB) *hookReceiver {
	h := &hookReceiver{t: t, got: map[string]int{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if err := webhook.Verify(r.Header.Get("Reservd-Signature"), h.secret, body, 5*time.Minute); err != nil {
			t.Errorf("receiver: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var ev struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		}
		if err := json.Unmarshal(body, &ev); err != nil || ev.ID != r.Header.Get("Reservd-Event-Id") || ev.Type != r.Header.Get("Reservd-Event-Type") {
			t.Errorf("receiver: body %s, headers %v", body, r.Header)
		}
		h.got[ev.ID]++
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) count(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.got[id]
}

func waitFor(t testing.TB, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runJobs runs the app's background jobs until the test ends.
func runJobs(t testing.TB, a *api) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.app.RunJobs(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestWebhooksOverHTTP: register an endpoint, receive an event signed,
// read the delivery log, redeliver, delete; every answer is the
// customer's own.
func TestWebhooksOverHTTP(t *testing.T) {
	t.Parallel()
	for name, newStore := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := newAPI(t, newStore, func(c *config.Config) {
				c.Webhooks.AllowPrivate, c.Webhooks.Interval = true, 20*time.Millisecond
			})
			bob := a.key("bob", false)
			rc := newHookReceiver(t)
			r := a.do(http.MethodPost, "/webhook_endpoints", a.client,
				strings.NewReader(`{"url": "`+rc.srv.URL+`/hook", "events": ["*"], "description": "test"}`))
			if r.status != http.StatusCreated {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			ep := r.json(t)["data"].(map[string]any)
			id, _ := ep["id"].(string)
			secret, _ := ep["secret"].(string)
			if !strings.HasPrefix(id, "we_") || !strings.HasPrefix(secret, "whsec_") || ep["status"] != "enabled" || ep["created_at"] == nil {
				t.Fatalf("created endpoint = %v", ep)
			}
			rc.mu.Lock()
			rc.secret = secret
			rc.mu.Unlock()
			for _, path := range []string{"/webhook_endpoints/" + id, "/webhook_endpoints"} {
				r := a.do(http.MethodGet, path, a.client, nil)
				if r.status != http.StatusOK || strings.Contains(string(r.body), "whsec_") || !strings.Contains(string(r.body), id) {
					t.Errorf("GET %s = %d %s; want the endpoint without its secret", path, r.status, r.body)
				}
			}
			wantError(t, a.do(http.MethodGet, "/webhook_endpoints/"+id, bob, nil), http.StatusNotFound, "not_found")
			wantError(t, a.do(http.MethodGet, "/webhook_endpoints/"+id+"/deliveries", bob, nil), http.StatusNotFound, "not_found")
			if r := a.do(http.MethodGet, "/webhook_endpoints", bob, nil); !strings.Contains(string(r.body), `"data":[]`) {
				t.Errorf("bob's endpoints = %s", r.body)
			}

			alice := principalKey(t, a, a.client)
			ev := storetest.NewEvent(alice, events.HoldExpired)
			bobs := storetest.NewEvent(principalKey(t, a, bob), events.HoldExpired)
			storetest.WriteEvents(t, a.store, ev, bobs)
			storetest.Sequence(t, a.store)
			runJobs(t, a)
			waitFor(t, "the event delivered", func() bool { return rc.count(ev.ID) == 1 })
			if rc.count(bobs.ID) != 0 {
				t.Fatal("bob's event reached alice's endpoint")
			}
			var list struct {
				Data []map[string]any `json:"data"`
			}
			waitFor(t, "the delivery logged", func() bool {
				r := a.do(http.MethodGet, "/webhook_endpoints/"+id+"/deliveries", a.client, nil)
				list.Data = nil
				json.Unmarshal(r.body, &list)
				return r.status == http.StatusOK && len(list.Data) == 1 && list.Data[0]["status"] == "delivered"
			})
			if d := list.Data[0]; d["event_id"] != ev.ID || d["attempt"] != 1.0 || d["response_status"] != 200.0 || d["next_attempt_at"] != nil || !strings.HasPrefix(d["id"].(string), "wd_") {
				t.Errorf("delivery = %v", d)
			}

			r = a.do(http.MethodPost, "/events/"+ev.ID+"/redeliver", a.client, nil)
			if r.status != http.StatusAccepted || !strings.Contains(string(r.body), `"deliveries":1`) {
				t.Fatalf("redeliver = %d %s", r.status, r.body)
			}
			waitFor(t, "the event delivered again", func() bool { return rc.count(ev.ID) == 2 })
			wantError(t, a.do(http.MethodPost, "/events/"+bobs.ID+"/redeliver", a.client, nil), http.StatusNotFound, "not_found")
			wantError(t, a.do(http.MethodPost, "/events/"+events.NewID()+"/redeliver", a.client, nil), http.StatusNotFound, "not_found")
			wantError(t, a.do(http.MethodPost, "/events/nonsense/redeliver", a.client, nil), http.StatusNotFound, "not_found")

			wantError(t, a.do(http.MethodDelete, "/webhook_endpoints/"+id, bob, nil), http.StatusNotFound, "not_found")
			if r := a.do(http.MethodDelete, "/webhook_endpoints/"+id, a.client, nil); r.status != http.StatusOK {
				t.Fatalf("delete = %d %s", r.status, r.body)
			}
			wantError(t, a.do(http.MethodDelete, "/webhook_endpoints/"+id, a.client, nil), http.StatusNotFound, "not_found")
			if ds, _ := a.store.WebhookDeliveryList(t.Context(), store.WebhookDeliveryListParams{KeyID: alice, EndpointID: id, Limit: 10}); len(ds) != 0 {
				t.Errorf("a deleted endpoint's deliveries remain: %v", ds)
			}
		})
	}
}

// principalKey is the key id of an API key.
func principalKey(t testing.TB, a *api, key string) int64 {
	t.Helper()
	p, err := a.store.APIKeyPrincipal(t.Context(), apikey.Digest(key))
	if err != nil {
		t.Fatal(err)
	}
	return p.KeyID
}
