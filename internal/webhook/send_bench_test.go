package webhook

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/store"
)

// BenchmarkSendCPU measures the floor of what one delivery costs in CPU,
// whatever the queue: signing and POSTing a hold.created event over a kept
// connection (Dispatcher.send, as the dispatcher sends) to a receiver in
// the same process that reads the body and verifies the signature, as
// bench/webhooks.sh's receiver does. It reports the process's CPU time
// (user + system, getrusage) per delivery as cpu-µs/op; in
// docs/PERFORMANCE.md ("Webhooks") it is set against a hold's CPU.
//
//	go test -run '^$' -bench SendCPU -benchtime 20000x ./internal/webhook/
func BenchmarkSendCPU(b *testing.B) {
	const secret = "whsec_bench"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || Verify(r.Header.Get(SignatureHeader), secret, body, 5*time.Minute) != nil {
			http.Error(w, "bad signature", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	d := New(nil, Config{AllowPrivate: true}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	defer d.stop()
	// The data of a hold.created event as reservd writes it.
	data := []byte(`{"id":"hld_3q2mz6u7yq4tdbq7sbp4n3xy5e","flight_id":17,"seats":["12C"],"status":"active",` +
		`"expires_at":"2026-12-06T12:10:00Z","created_at":"2026-12-06T12:00:00Z","customer_id":"cus_42"}`)
	c := store.WebhookClaim{URL: srv.URL, Secret: secret, EventOK: true, Event: events.Event{
		ID: "evt_4k2v7n3xq5m6p8r9s2t3u4v5w6", Type: events.HoldCreated, Data: data, CreatedAt: time.Now()}}
	if status, err := d.send(c); err != nil || status != http.StatusOK {
		b.Fatalf("send = %d, %v", status, err)
	}
	before := cpuTime(b)
	b.ResetTimer()
	for range b.N {
		if status, err := d.send(c); err != nil || status != http.StatusOK {
			b.Fatalf("send = %d, %v", status, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime(b)-before).Microseconds())/float64(b.N), "cpu-µs/op")
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
