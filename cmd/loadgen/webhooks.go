package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/reservd/reservd/internal/webhook"
)

// webhookReceiverCmd is a webhook endpoint for benchmarks. It binds -listen,
// registers http://<listen>/hook as an endpoint of the key -keys (its first
// key) subscribed to -events through POST /webhook_endpoints (reservd must
// run with WEBHOOK_ALLOW_PRIVATE=true), and answers 200 to every delivery
// until it is stopped (SIGINT, SIGTERM). For each delivery it checks the
// signature (webhook.Verify, with the secret of the registration) and
// records the arrival time minus the event's created_at (the database's
// clock in the writing transaction: same machine, same clock).
//
//	GET  /stats    {"deliveries", "distinct", "duplicates", "bad_signature", "malformed"} so far
//	POST /report   body: the expected event ids, one a line; answers the report
//	               (stats, the latency of each event's first arrival as a
//	               summary, and the expected ids that never arrived)
//
// On exit it prints the report of every event it received.
func webhookReceiverCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("webhook-receiver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	o.registerTarget(fs)
	listen := fs.String("listen", "127.0.0.1:0", "address to receive deliveries on")
	events := fs.String("events", "*", "event types to subscribe to, comma-separated")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.conc = 1
	if err := o.check(true); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	hookURL := "http://" + ln.Addr().String() + "/hook"
	secret, id, err := registerEndpoint(ctx, o, hookURL, splitList(*events), stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "loadgen: endpoint %s receives at %s\n", id, hookURL)

	rc := newHookRecorder(secret)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hook", rc.hook)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, rc.stats())
	})
	mux.HandleFunc("POST /report", func(w http.ResponseWriter, r *http.Request) {
		var want []string
		sc := bufio.NewScanner(r.Body)
		for sc.Scan() {
			if s := strings.TrimSpace(sc.Text()); s != "" {
				want = append(want, s)
			}
		}
		if err := sc.Err(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, rc.report(want))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(rc.report(nil))
}

// registerEndpoint creates the webhook endpoint and returns its secret and id.
func registerEndpoint(ctx context.Context, o options, hookURL string, events []string, stderr io.Writer) (secret, id string, err error) {
	body, err := json.Marshal(map[string]any{"url": hookURL, "events": events, "description": "loadgen webhook-receiver"})
	if err != nil {
		return "", "", err
	}
	c := newClient(1, o.timeout, stderr)
	defer c.hc.CloseIdleConnections()
	var out struct {
		Data struct {
			ID     string `json:"id"`
			Secret string `json:"secret"`
		} `json:"data"`
	}
	if s := c.call(ctx, http.MethodPost, o.urls[0]+"/webhook_endpoints", o.keys[0], body, false, &out); s.Status != http.StatusCreated {
		return "", "", fmt.Errorf("POST /webhook_endpoints answered %s (is WEBHOOK_ALLOW_PRIVATE=true?)", statusKey(s.Status))
	}
	if out.Data.Secret == "" {
		return "", "", errors.New("POST /webhook_endpoints answered no secret")
	}
	return out.Data.Secret, out.Data.ID, nil
}

// hookRecorder checks and records deliveries.
type hookRecorder struct {
	secret string
	start  time.Time

	mu         sync.Mutex
	first      map[string]arrival // each event's first arrival
	deliveries int
	badSig     int
	malformed  int
	last       time.Time
}

// arrival is an event's first arrival: its created_at, and the arrival
// time minus it.
type arrival struct {
	created time.Time
	lag     time.Duration
}

func newHookRecorder(secret string) *hookRecorder {
	return &hookRecorder{secret: secret, start: time.Now(), first: map[string]arrival{}}
}

// hook receives one delivery. A bad signature is counted and answered 400
// (reservd retries it, as it would for a real receiver); any other
// delivery is answered 200, duplicates included.
func (rc *hookRecorder) hook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	arrived := time.Now()
	var ev struct {
		ID        string    `json:"id"`
		CreatedAt time.Time `json:"created_at"`
	}
	sigErr := webhook.Verify(r.Header.Get(webhook.SignatureHeader), rc.secret, body, webhook.Tolerance)
	if err == nil {
		err = json.Unmarshal(body, &ev)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.deliveries++
	switch {
	case sigErr != nil:
		rc.badSig++
		http.Error(w, sigErr.Error(), http.StatusBadRequest)
		return
	case err != nil || ev.ID == "" || ev.CreatedAt.IsZero() || r.Header.Get("Reservd-Event-Id") != ev.ID:
		rc.malformed++
	default:
		if _, seen := rc.first[ev.ID]; !seen {
			rc.first[ev.ID] = arrival{created: ev.CreatedAt, lag: arrived.Sub(ev.CreatedAt)}
		}
	}
	rc.last = arrived
}

// hookStats are the counts so far.
type hookStats struct {
	Deliveries   int `json:"deliveries"`
	Distinct     int `json:"distinct"`
	Duplicates   int `json:"duplicates"`
	BadSignature int `json:"bad_signature"`
	Malformed    int `json:"malformed"`
}

func (rc *hookRecorder) stats() hookStats {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.statsLocked()
}

func (rc *hookRecorder) statsLocked() hookStats {
	ok := rc.deliveries - rc.badSig - rc.malformed
	return hookStats{Deliveries: rc.deliveries, Distinct: len(rc.first), Duplicates: ok - len(rc.first),
		BadSignature: rc.badSig, Malformed: rc.malformed}
}

// hookReport is what POST /report answers: the stats, the latency summary
// of the expected events that arrived (of all events without a list; its
// rps is first arrivals per second from the receiver's start to the last
// delivery) and the expected events that did not.
type hookReport struct {
	hookStats
	Expected    int      `json:"expected"`
	Missing     int      `json:"missing"`
	MissingIDs  []string `json:"missing_ids,omitempty"` // the first 20
	Unexpected  int      `json:"unexpected"`            // events received that were not expected
	LatencyFrom string   `json:"latency_from"`
	Latency     Summary  `json:"latency"`
	// BySecond is the latency of the same events by the second of their
	// created_at, from the earliest: how the lag moved through a run.
	BySecond []Summary `json:"by_second"`
}

func (rc *hookRecorder) report(want []string) hookReport {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	r := hookReport{hookStats: rc.statsLocked(), Expected: len(want),
		LatencyFrom: "arrival minus the event's created_at, first arrival of each event"}
	var (
		samples []Sample
		got     []arrival
	)
	if want == nil {
		for _, a := range rc.first {
			got = append(got, a)
		}
	} else {
		expected := make(map[string]bool, len(want))
		for _, id := range want {
			if expected[id] {
				continue
			}
			expected[id] = true
			a, ok := rc.first[id]
			if !ok {
				r.Missing++
				if len(r.MissingIDs) < 20 {
					r.MissingIDs = append(r.MissingIDs, id)
				}
				continue
			}
			got = append(got, a)
		}
		r.Expected = len(expected)
		for id := range rc.first {
			if !expected[id] {
				r.Unexpected++
			}
		}
	}
	var t0 time.Time
	for _, a := range got {
		samples = append(samples, Sample{Latency: a.lag, Status: http.StatusOK})
		if t0.IsZero() || a.created.Before(t0) {
			t0 = a.created
		}
	}
	r.Latency = Summarize("webhook delivery", samples, max(rc.last.Sub(rc.start), 0))
	var bySec [][]Sample
	for _, a := range got {
		i := int(a.created.Sub(t0) / time.Second)
		for len(bySec) <= i {
			bySec = append(bySec, nil)
		}
		bySec[i] = append(bySec[i], Sample{Latency: a.lag, Status: http.StatusOK})
	}
	for i, ss := range bySec {
		r.BySecond = append(r.BySecond, Summarize(fmt.Sprintf("second %d", i), ss, time.Second))
	}
	return r
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
