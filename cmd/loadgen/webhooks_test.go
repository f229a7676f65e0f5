package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/webhook"
)

// TestWebhookReceiver registers the receiver with a fake reservd, sends it
// signed deliveries (one twice, one with a bad signature), and checks its
// stats and report: the duplicate counted, the forged delivery refused,
// the missing event named, the latencies those of the created_at sent.
func TestWebhookReceiver(t *testing.T) {
	t.Parallel()
	const secret = "whsec_test"
	var registered atomic.Value
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			URL    string   `json:"url"`
			Events []string `json:"events"`
		}
		if r.Method != http.MethodPost || r.URL.Path != "/webhook_endpoints" || r.Header.Get("Authorization") != "Bearer k1" ||
			json.NewDecoder(r.Body).Decode(&body) != nil || len(body.Events) != 1 || body.Events[0] != "*" {
			http.Error(w, "bad registration", http.StatusBadRequest)
			return
		}
		registered.Store(body.URL)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"data":{"id":"we_1","url":%q,"secret":%q}}`, body.URL, secret)
	}))
	t.Cleanup(api.Close)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	var out, errs bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"webhook-receiver", "-url", api.URL, "-keys", "k1", "-listen", addr}, &out, &errs)
	}()
	base := "http://" + addr
	hc := &http.Client{Timeout: 5 * time.Second}
	t.Cleanup(hc.CloseIdleConnections)
	up := false
	for range 100 {
		if resp, err := hc.Get(base + "/stats"); err == nil {
			resp.Body.Close()
			up = true
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !up {
		cancel()
		t.Fatalf("the receiver did not come up: %v %s", <-done, errs.String())
	}
	if got, _ := registered.Load().(string); got != base+"/hook" {
		t.Errorf("registered %q, want %q", got, base+"/hook")
	}

	send := func(id string, age time.Duration, key string) int {
		body := fmt.Appendf(nil, `{"id":%q,"type":"hold.created","created_at":%q,"data":{}}`, id, time.Now().Add(-age).Format(time.RFC3339Nano))
		req, _ := http.NewRequest(http.MethodPost, base+"/hook", bytes.NewReader(body))
		req.Header.Set("Reservd-Event-Id", id)
		req.Header.Set(webhook.SignatureHeader, webhook.Sign(key, time.Now(), body))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for i, age := range []time.Duration{10, 20, 30, 40} {
		if s := send(fmt.Sprintf("evt_%d", i), age*time.Millisecond, secret); s != http.StatusOK {
			t.Errorf("delivery %d answered %d", i, s)
		}
	}
	if s := send("evt_0", time.Second, secret); s != http.StatusOK {
		t.Errorf("duplicate answered %d", s)
	}
	if s := send("evt_9", 0, "whsec_wrong"); s != http.StatusBadRequest {
		t.Errorf("forged delivery answered %d, want 400", s)
	}

	resp, err := hc.Post(base+"/report", "text/plain", strings.NewReader("evt_0\nevt_1\nevt_2\nevt_3\nevt_4\n"))
	if err != nil {
		t.Fatal(err)
	}
	var r hookReport
	err = json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if r.Deliveries != 6 || r.Distinct != 4 || r.Duplicates != 1 || r.BadSignature != 1 || r.Malformed != 0 ||
		r.Expected != 5 || r.Missing != 1 || len(r.MissingIDs) != 1 || r.MissingIDs[0] != "evt_4" || r.Unexpected != 0 {
		t.Errorf("report = %+v", r)
	}
	// The first arrival counts: evt_0's duplicate (1 s old) does not.
	if l := r.Latency; l.Requests != 4 || l.P50MS < 20 || l.MaxMS < 40 || l.MaxMS > 900 {
		t.Errorf("latency = %+v", l)
	}
	if len(r.BySecond) != 1 || r.BySecond[0].Requests != 4 {
		t.Errorf("by second = %+v", r.BySecond)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("receiver: %v\n%s", err, errs.String())
	}
	var final hookReport
	if err := json.Unmarshal(out.Bytes(), &final); err != nil || final.Distinct != 4 || final.Latency.Requests != 4 {
		t.Errorf("final report %+v (%v): %s", final, err, out.String())
	}
}

// TestHoldsRate runs holds paced at 100/s for 300 ms against a fake
// reservd and checks that about 30 were sent, not as many as possible.
func TestHoldsRate(t *testing.T) {
	t.Parallel()
	var holds atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			var b strings.Builder
			b.WriteString(`{"data":[`)
			for i := range 1000 {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"seat":%q,"cabin":"economy","status":"available"}`, seatLabel(i))
			}
			b.WriteString("]}")
			fmt.Fprint(w, b.String())
			return
		}
		holds.Add(1)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"data":{}}`)
	}))
	t.Cleanup(srv.Close)
	var out, errs bytes.Buffer
	err := run(t.Context(), []string{"holds", "-url", srv.URL, "-keys", "k", "-flights", "1", "-c", "8", "-d", "300ms", "-rate", "100", "-json"}, &out, &errs)
	if err != nil {
		t.Fatalf("holds: %v\n%s", err, errs.String())
	}
	if n := holds.Load(); n < 25 || n > 40 {
		t.Errorf("%d holds sent in 300 ms at -rate 100, want about 30", n)
	}
	if err := run(t.Context(), []string{"holds", "-url", srv.URL, "-keys", "k", "-flights", "1", "-rate", "-1"}, &out, &errs); err == nil {
		t.Error("a negative -rate was accepted")
	}
}
