package httpapi_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"

	"github.com/reservd/reservd/internal/app"
	"github.com/reservd/reservd/internal/telemetry"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Without tracing (no otelhttp), a caller's traceparent still reaches the
// request's log lines.
func TestCallersTraceIDInLogsWithoutTracing(t *testing.T) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	var logs lockedBuffer
	log := slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(&logs, nil)))
	a := start(t, testConfig(t), app.Overrides{Store: engines["sqlite"](t), Providers: noProviders}, log)

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequest("GET", a.url+"/ping", nil)
	req.Header.Set("Traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The access line is written as the handler returns, which may be just
	// after the client has its answer.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), `"msg":"request"`) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), traceID) {
		t.Errorf("the access line does not carry the caller's trace id %s:\n%s", traceID, logs.String())
	}
}
