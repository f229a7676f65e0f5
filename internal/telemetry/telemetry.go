// Package telemetry sets up OpenTelemetry tracing from the standard OTEL_*
// environment variables, and ties log lines to the request and trace they
// were written in (see NewLogHandler).
//
// Setup installs the process-wide tracer provider and the W3C trace-context
// and baggage propagators; instrumentation (otelhttp, otelpgx, otelsql,
// redisotel, the job runner) takes its tracer from the global provider when
// it is built, so Setup runs first.
package telemetry

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace/noop"
)

// DefaultServiceName is the service.name of reservd's spans when
// OTEL_SERVICE_NAME is unset.
const DefaultServiceName = "reservd"

// Option adjusts Setup.
type Option func(*options)

type options struct {
	console io.Writer
}

// WithConsoleWriter sends the console exporter's spans (one JSON object per
// line) to w instead of the process's standard output.
func WithConsoleWriter(w io.Writer) Option {
	return func(o *options) { o.console = w }
}

// Config is what the OTEL_* variables asked for, as Setup understood them.
type Config struct {
	// Exporters are the span exporters: "otlp", "console", or none at all.
	Exporters []string
	// Protocol is the OTLP protocol: "http/protobuf" or "grpc".
	Protocol string
	// Endpoint is the OTLP traces endpoint URL when one is set through the
	// environment ("" leaves the exporter's default, http://localhost:4318).
	Endpoint    string
	ServiceName string
	// Resource is OTEL_RESOURCE_ATTRIBUTES, parsed.
	Resource []attribute.KeyValue
}

// Enabled reports whether spans are recorded and exported at all.
func (c Config) Enabled() bool { return len(c.Exporters) > 0 }

// ReadConfig reads the standard variables through getenv:
//
//   - OTEL_SDK_DISABLED=true turns tracing off.
//   - OTEL_TRACES_EXPORTER: otlp, console, none, or a comma-separated list
//     (otlp,console). When it is unset, reservd exports over OTLP if an OTLP
//     endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT or
//     OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) and traces nothing otherwise. The
//     specification's default is otlp, which would make every process
//     without a collector retry exports to localhost:4318 and log failures;
//     asking for a collector by naming it is the friendlier default.
//   - OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL:
//     http/protobuf (the default) or grpc.
//   - OTEL_SERVICE_NAME (default reservd) and OTEL_RESOURCE_ATTRIBUTES.
//
// Everything else about the OTLP exporter (headers, TLS, timeout,
// compression) and the SDK (OTEL_TRACES_SAMPLER, OTEL_BSP_*) is read by the
// OpenTelemetry SDK itself from the process environment.
func ReadConfig(getenv func(string) string) (Config, error) {
	env := func(k string) string { return strings.TrimSpace(getenv(k)) }
	c := Config{ServiceName: DefaultServiceName}
	if v := env("OTEL_SERVICE_NAME"); v != "" {
		c.ServiceName = v
	}
	res, err := parseResource(env("OTEL_RESOURCE_ATTRIBUTES"))
	if err != nil {
		return Config{}, err
	}
	c.Resource = res

	c.Protocol = strings.ToLower(env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"))
	if c.Protocol == "" {
		c.Protocol = strings.ToLower(env("OTEL_EXPORTER_OTLP_PROTOCOL"))
	}
	if c.Protocol == "" {
		c.Protocol = "http/protobuf"
	}
	if c.Protocol != "http/protobuf" && c.Protocol != "grpc" {
		return Config{}, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: want http/protobuf or grpc", c.Protocol)
	}
	switch generic := env("OTEL_EXPORTER_OTLP_ENDPOINT"); {
	case env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "":
		c.Endpoint = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	case generic != "" && c.Protocol == "grpc":
		c.Endpoint = generic
	case generic != "":
		// The signal-independent endpoint is a base URL (the specification's rule).
		c.Endpoint = strings.TrimSuffix(generic, "/") + "/v1/traces"
	}

	if strings.EqualFold(env("OTEL_SDK_DISABLED"), "true") {
		return c, nil
	}
	names := strings.ToLower(env("OTEL_TRACES_EXPORTER"))
	if names == "" {
		if c.Endpoint != "" {
			c.Exporters = []string{"otlp"}
		}
		return c, nil
	}
	seen := map[string]bool{}
	for _, n := range strings.Split(names, ",") {
		switch n = strings.TrimSpace(n); n {
		case "none":
			seen[n] = true
		case "otlp", "console":
			if !seen[n] {
				c.Exporters = append(c.Exporters, n)
			}
			seen[n] = true
		default:
			return Config{}, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: want otlp, console or none", names)
		}
	}
	if seen["none"] && len(c.Exporters) > 0 {
		return Config{}, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: none cannot be combined with an exporter", names)
	}
	return c, nil
}

// parseResource reads OTEL_RESOURCE_ATTRIBUTES: key=value pairs separated by
// commas, values percent-encoded.
func parseResource(s string) ([]attribute.KeyValue, error) {
	var out []attribute.KeyValue
	for _, pair := range strings.Split(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %q is not key=value", pair)
		}
		val, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %q: %w", pair, err)
		}
		out = append(out, attribute.String(k, val))
	}
	return out, nil
}

// Setup configures tracing from the OTEL_* variables read through getenv
// (see ReadConfig) and installs it process-wide: the tracer provider, and
// W3C trace context with baggage as the propagators (always, so that a
// caller's trace id reaches the logs and the providers even when reservd
// records nothing). shutdown flushes the spans still buffered; call it once
// the work that makes spans has stopped.
func Setup(ctx context.Context, getenv func(string) string, version string, opts ...Option) (shutdown func(context.Context) error, err error) {
	o := options{console: os.Stdout}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := ReadConfig(getenv)
	if err != nil {
		return nil, err
	}
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	if !cfg.Enabled() {
		otel.SetTracerProvider(noop.NewTracerProvider())
		return func(context.Context) error { return nil }, nil
	}

	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		// service.name and version come last: they win over OTEL_RESOURCE_ATTRIBUTES.
		resource.WithAttributes(cfg.Resource...),
		resource.WithAttributes(semconv.ServiceName(cfg.ServiceName), semconv.ServiceVersion(version)),
	)
	if err != nil {
		return nil, fmt.Errorf("telemetry resource: %w", err)
	}
	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	var exporters []sdktrace.SpanExporter
	for _, name := range cfg.Exporters {
		exp, err := newExporter(ctx, cfg, name, o)
		if err != nil {
			for _, e := range exporters {
				e.Shutdown(ctx) // #nosec G104 -- already returning the exporter error; shutting down the ones built is best effort
			}
			return nil, err
		}
		exporters = append(exporters, exp)
		// Batching honours OTEL_BSP_*; the console exporter too, so that a
		// busy server does not write to its output on every span.
		tpOpts = append(tpOpts, sdktrace.WithBatcher(exp))
	}
	tp := sdktrace.NewTracerProvider(tpOpts...)
	otel.SetTracerProvider(tp)
	return func(ctx context.Context) error {
		if err := tp.Shutdown(ctx); err != nil {
			return fmt.Errorf("flush traces: %w", err)
		}
		return nil
	}, nil
}

func newExporter(ctx context.Context, cfg Config, name string, o options) (sdktrace.SpanExporter, error) {
	switch {
	case name == "console":
		return stdouttrace.New(stdouttrace.WithWriter(o.console))
	case cfg.Protocol == "grpc":
		var opts []otlptracegrpc.Option
		if cfg.Endpoint != "" {
			opts = append(opts, otlptracegrpc.WithEndpointURL(cfg.Endpoint))
		}
		exp, err := otlptracegrpc.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("otlp grpc exporter: %w", err)
		}
		return exp, nil
	default:
		var opts []otlptracehttp.Option
		if cfg.Endpoint != "" {
			opts = append(opts, otlptracehttp.WithEndpointURL(cfg.Endpoint))
		}
		exp, err := otlptracehttp.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("otlp http exporter: %w", err)
		}
		return exp, nil
	}
}
