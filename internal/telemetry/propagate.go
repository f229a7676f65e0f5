package telemetry

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// TraceParent returns the W3C traceparent of ctx's span, through the global
// propagator, or "" when ctx has none. Work that outlives its request (a
// trip booked in the background) keeps it, so that its spans join the
// request's trace.
func TraceParent(ctx context.Context) string {
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	return carrier.Get("traceparent")
}

// ContextWithTraceParent returns ctx whose parent span is the remote one
// traceparent names; an empty or malformed traceparent leaves ctx as it is.
func ContextWithTraceParent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
}
