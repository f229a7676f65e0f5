package telemetry_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/reservd/reservd/internal/telemetry"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestReadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want telemetry.Config
		err  string
	}{
		{name: "nothing set traces nothing", env: nil,
			want: telemetry.Config{Protocol: "http/protobuf", ServiceName: "reservd"}},
		{name: "an endpoint alone means otlp", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"},
			want: telemetry.Config{Exporters: []string{"otlp"}, Protocol: "http/protobuf", Endpoint: "http://collector:4318/v1/traces", ServiceName: "reservd"}},
		{name: "a traces endpoint is used as is", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/custom", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://other:4318"},
			want: telemetry.Config{Exporters: []string{"otlp"}, Protocol: "http/protobuf", Endpoint: "http://c:4318/custom", ServiceName: "reservd"}},
		{name: "grpc keeps the base endpoint", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"},
			want: telemetry.Config{Exporters: []string{"otlp"}, Protocol: "grpc", Endpoint: "http://c:4317", ServiceName: "reservd"}},
		{name: "the traces protocol wins", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"},
			want: telemetry.Config{Protocol: "http/protobuf", ServiceName: "reservd"}},
		{name: "console and a service name", env: map[string]string{"OTEL_TRACES_EXPORTER": " Console ", "OTEL_SERVICE_NAME": "reservd-eu"},
			want: telemetry.Config{Exporters: []string{"console"}, Protocol: "http/protobuf", ServiceName: "reservd-eu"}},
		{name: "a list", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp,console,otlp"},
			want: telemetry.Config{Exporters: []string{"otlp", "console"}, Protocol: "http/protobuf", ServiceName: "reservd"}},
		{name: "none wins over an endpoint", env: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"},
			want: telemetry.Config{Protocol: "http/protobuf", Endpoint: "http://c:4318/v1/traces", ServiceName: "reservd"}},
		{name: "the SDK disabled", env: map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"},
			want: telemetry.Config{Protocol: "http/protobuf", ServiceName: "reservd"}},
		{name: "resource attributes", env: map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod, team=seat%20ops"},
			want: telemetry.Config{Protocol: "http/protobuf", ServiceName: "reservd",
				Resource: []attribute.KeyValue{attribute.String("deployment.environment", "prod"), attribute.String("team", "seat ops")}}},
		{name: "an unknown exporter", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, err: "OTEL_TRACES_EXPORTER"},
		{name: "none with another", env: map[string]string{"OTEL_TRACES_EXPORTER": "none,console"}, err: "none cannot be combined"},
		{name: "http/json", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, err: "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{name: "bad resource attributes", env: map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "novalue"}, err: "OTEL_RESOURCE_ATTRIBUTES"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := telemetry.ReadConfig(envOf(tt.env))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ReadConfig error = %v, want one naming %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ReadConfig = %+v\nwant        %+v", got, tt.want)
			}
		})
	}
}

// span is the part of a console-exported span the tests look at.
type span struct {
	Name        string
	SpanContext struct{ TraceID, SpanID string }
	Parent      struct{ TraceID, SpanID string }
	Resource    []struct {
		Key   string
		Value struct{ Value any }
	}
}

func readSpans(t testing.TB, out string) []span {
	t.Helper()
	var spans []span
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var s span
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("console exporter wrote a line that is not a span: %v\n%s", err, sc.Bytes())
		}
		spans = append(spans, s)
	}
	return spans
}

// Setup installs the process-wide tracer provider, so the tests that call it
// do not run in parallel.

func TestSetupConsole(t *testing.T) {
	var buf bytes.Buffer
	shutdown, err := telemetry.Setup(t.Context(), envOf(map[string]string{"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "svc"}),
		"v1.2.3", telemetry.WithConsoleWriter(&buf))
	if err != nil {
		t.Fatal(err)
	}
	ctx, parent := otel.Tracer("test").Start(context.Background(), "parent")
	_, child := otel.Tracer("test").Start(ctx, "child")
	child.End()
	parent.End()
	if err := shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	spans := readSpans(t, buf.String())
	if len(spans) != 2 || spans[0].Name != "child" || spans[1].Name != "parent" {
		t.Fatalf("spans = %+v, want child then parent", spans)
	}
	if spans[0].Parent.SpanID != spans[1].SpanContext.SpanID || spans[0].SpanContext.TraceID != spans[1].SpanContext.TraceID {
		t.Errorf("child %+v is not parent %+v's child", spans[0], spans[1])
	}
	res := map[string]any{}
	for _, kv := range spans[1].Resource {
		res[kv.Key] = kv.Value.Value
	}
	if res["service.name"] != "svc" || res["service.version"] != "v1.2.3" {
		t.Errorf("resource = %v, want service.name svc and service.version v1.2.3", res)
	}
}

func TestSetupOTLPHTTP(t *testing.T) {
	var posts atomic.Int64
	var mu sync.Mutex
	var contentType, path string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		contentType, path = r.Header.Get("Content-Type"), r.URL.Path
		mu.Unlock()
		posts.Add(1)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	// No OTEL_TRACES_EXPORTER: the endpoint alone selects OTLP.
	shutdown, err := telemetry.Setup(t.Context(), envOf(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL}), "test")
	if err != nil {
		t.Fatal(err)
	}
	_, s := otel.Tracer("test").Start(context.Background(), "exported")
	s.End()
	if err := shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if posts.Load() == 0 || path != "/v1/traces" || contentType != "application/x-protobuf" {
		t.Errorf("collector got %d posts, last to %q as %q; want protobuf to /v1/traces", posts.Load(), path, contentType)
	}
}

func TestSetupNone(t *testing.T) {
	shutdown, err := telemetry.Setup(t.Context(), envOf(nil), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(t.Context())
	_, s := otel.Tracer("test").Start(context.Background(), "dropped")
	defer s.End()
	if s.IsRecording() || s.SpanContext().IsValid() {
		t.Errorf("with no exporter a span records (%v) or has an id (%v)", s.IsRecording(), s.SpanContext())
	}
	// The propagators are set all the same: a caller's trace passes through.
	ctx := telemetry.ContextWithTraceParent(context.Background(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if got := telemetry.TraceParent(ctx); got != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" {
		t.Errorf("TraceParent round trip = %q", got)
	}
	if got := telemetry.TraceParent(context.Background()); got != "" {
		t.Errorf("TraceParent without a span = %q, want empty", got)
	}
	if _, err := telemetry.Setup(t.Context(), envOf(map[string]string{"OTEL_TRACES_EXPORTER": "jaeger"}), "test"); err == nil {
		t.Errorf("Setup with an unknown exporter succeeded")
	}
}

func TestLogHandler(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(&buf, nil)))
	if telemetry.NewLogHandler(log.Handler()) != log.Handler() {
		t.Errorf("wrapping twice made a new handler")
	}
	line := func() map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", buf.String(), err)
		}
		buf.Reset()
		return m
	}

	log.Info("plain")
	if m := line(); m["trace_id"] != nil || m["request_id"] != nil {
		t.Errorf("a line without context = %v", m)
	}

	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	remote := trace.ContextWithRemoteSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: true}))
	ctx := telemetry.WithLogAttrs(remote, slog.String("request_id", "r-1"))
	ctx = telemetry.WithLogAttrs(ctx, slog.String("job", "sweep"))
	log.With("component", "x").InfoContext(ctx, "in a request", "n", 1)
	m := line()
	want := map[string]any{"msg": "in a request", "component": "x", "n": 1.0, "request_id": "r-1", "job": "sweep", "trace_id": tid.String()}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v (line %v)", k, m[k], v, m)
		}
	}
	// Not our span, not recording: its span id would mislead.
	if m["span_id"] != nil {
		t.Errorf("span_id = %v on a line under a remote span", m["span_id"])
	}

	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	ctx, s := tp.Tracer("test").Start(context.Background(), "ours")
	defer s.End()
	log.WarnContext(ctx, "in our span")
	m = line()
	if m["trace_id"] != s.SpanContext().TraceID().String() || m["span_id"] != s.SpanContext().SpanID().String() {
		t.Errorf("line in a recording span = %v, want its trace_id and span_id", m)
	}
}
