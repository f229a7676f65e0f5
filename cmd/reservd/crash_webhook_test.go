package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/testdb"
	"github.com/reservd/reservd/internal/webhook"
)

// TestKill9MidDelivery kills the instance that is delivering a webhook
// while the receiver holds the request open, then starts a new instance:
// the delivery's lease runs out and the new instance sends it, so every
// event the customer's feed lists reaches the receiver, each with a valid
// signature. Nothing is lost with the process that was sending it.
func TestKill9MidDelivery(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": testdb.PostgresURL(t), "LOG_LEVEL": "error", "RATE_LIMIT": "0",
		"WEBHOOK_ALLOW_PRIVATE": "true", "WEBHOOK_INTERVAL": "50ms", "EVENT_SEQUENCE_INTERVAL": "50ms"}

	var (
		mu       sync.Mutex
		secret   string
		got      = map[string]int{} // event id → deliveries accepted
		hanging  = make(chan struct{})
		hangOnce sync.Once
		release  = make(chan struct{})
	)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		s := secret
		mu.Unlock()
		if err := webhook.Verify(r.Header.Get("Reservd-Signature"), s, body, 5*time.Minute); err != nil {
			t.Errorf("delivery with a bad signature: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		first := false
		hangOnce.Do(func() { first = true })
		if first { // the first delivery never gets an answer from this receiver's side before the kill
			close(hanging)
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		var ev struct{ ID string }
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("delivery body %q: %v", body, err)
		}
		mu.Lock()
		got[ev.ID]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(func() { close(release); receiver.Close() })

	a := startProcess(t, env)
	c := newClient(t)
	c.setURLs(a.url())
	flight := stormFlight(t, c, createKey(t, env, "ops", true), 4)
	key := createKey(t, env, "customer", false)
	r, err := c.do("POST", "/webhook_endpoints", key, "", fmt.Sprintf(`{"url": %q, "events": ["*"]}`, receiver.URL))
	if err != nil || r.status != 201 {
		t.Fatalf("POST /webhook_endpoints = %d %s %v", r.status, r.raw, err)
	}
	mu.Lock()
	secret = r.data()["secret"].(string)
	mu.Unlock()
	for i, seat := range []string{"3A", "3B", "3C", "4A"} {
		if r, err := c.do("POST", "/holds", key, fmt.Sprintf("h%d", i), fmt.Sprintf(`{"flight_id": %d, "seats": [%q]}`, flight, seat)); err != nil || r.status != 201 {
			t.Fatalf("POST /holds = %d %s %v", r.status, r.raw, err)
		}
	}
	select {
	case <-hanging:
	case <-time.After(30 * time.Second):
		t.Fatalf("no delivery reached the receiver; reservd said:\n%s", a.stderr)
	}
	a.kill() // mid-delivery: the request is open, its outcome never recorded

	b := startProcess(t, env)
	c.setURLs(b.url())
	// Events the killed instance had not sequenced yet are listed once the
	// new one's sequencer has passed.
	var feed struct {
		Data []struct{ ID string } `json:"data"`
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r, err = c.do("GET", "/events?limit=200", key, "", "")
		if err != nil || r.status != 200 {
			t.Fatalf("GET /events = %d %s %v", r.status, r.raw, err)
		}
		if err := json.Unmarshal(r.raw, &feed); err != nil {
			t.Fatal(err)
		}
		if len(feed.Data) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the feed lists %d events, want the 4 holds' events", len(feed.Data))
		}
	}
	// The killed delivery's lease (its timeout and 20 s) must run out first.
	deadline := time.Now().Add(90 * time.Second)
	for {
		mu.Lock()
		missing := 0
		for _, e := range feed.Data {
			if got[e.ID] == 0 {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events never delivered after the kill; the new instance said:\n%s", missing, len(feed.Data), b.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
