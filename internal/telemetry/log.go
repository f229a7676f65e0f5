package telemetry

import (
	"context"
	"log/slog"
	"slices"

	"go.opentelemetry.io/otel/trace"
)

type logAttrsKey struct{}

// WithLogAttrs returns a context whose log lines carry attrs: every record
// logged with it through a NewLogHandler handler gets them (the HTTP layer
// puts the request id here, so that the service's own log lines during a
// request carry it too).
func WithLogAttrs(ctx context.Context, attrs ...slog.Attr) context.Context {
	prev, _ := ctx.Value(logAttrsKey{}).([]slog.Attr)
	return context.WithValue(ctx, logAttrsKey{}, append(slices.Clip(prev), attrs...))
}

// NewLogHandler wraps h so that each record carries what its context knows:
// the attributes of WithLogAttrs, then trace_id and span_id. trace_id is
// added whenever the context has a valid span context — a caller's trace
// id is worth having on our lines even when reservd does not record the
// span — and span_id only when the span is recording, since otherwise it
// names a span of somebody else's. Wrapping a handler twice changes nothing.
func NewLogHandler(h slog.Handler) slog.Handler {
	if lh, ok := h.(*logHandler); ok {
		return lh
	}
	return &logHandler{next: h}
}

type logHandler struct {
	next slog.Handler
}

func (h *logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx == nil {
		return h.next.Handle(ctx, r)
	}
	attrs, _ := ctx.Value(logAttrsKey{}).([]slog.Attr)
	span := trace.SpanFromContext(ctx)
	sc := span.SpanContext()
	if len(attrs) == 0 && !sc.IsValid() {
		return h.next.Handle(ctx, r)
	}
	// The record may share its attribute storage with the caller's copy.
	r = r.Clone()
	r.AddAttrs(attrs...)
	if sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()))
		if span.IsRecording() {
			r.AddAttrs(slog.String("span_id", sc.SpanID().String()))
		}
	}
	return h.next.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logHandler{next: h.next.WithAttrs(attrs)}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{next: h.next.WithGroup(name)}
}
