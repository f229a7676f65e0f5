package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/stream"
	"github.com/reservd/reservd/internal/validate"
)

// streamWriteTimeout bounds each write to a stream client: one that does
// not take an event (or a heartbeat) in this long is dropped as too slow.
const streamWriteTimeout = 10 * time.Second

// streamRetry is the reconnection delay an EventSource is told to use.
const streamRetry = 2 * time.Second

// isStream reports whether a route is a server-sent event stream: exempt
// from the caps on requests in flight (it is in flight for as long as the
// client watches) and capped by streamCaps instead.
func isStream(rt route) bool { return strings.HasSuffix(rt.pattern, "/stream") }

var (
	errStreamsPerKey = &Error{Status: http.StatusTooManyRequests, Code: "rate_limited",
		Message: "Too many streams open for this API key; close one first", RetryAfter: 5}
	errStreamsFull = &Error{Status: http.StatusServiceUnavailable, Code: "overloaded",
		Message: "This replica serves as many streams as it can; retry shortly", RetryAfter: 2}
	errStreamsClosing = &Error{Status: http.StatusServiceUnavailable, Code: "overloaded",
		Message: "This replica is shutting down; reconnect", RetryAfter: 1}
)

// streamCaps caps the streams open at once: STREAM_MAX_TOTAL in all,
// STREAM_MAX_PER_KEY per API key (event streams; seat streams are public).
type streamCaps struct{ l *inflight }

// enter counts a stream in (keyID 0: no key); release when it ends.
func (c streamCaps) enter(keyID int64) (release func(), err error) {
	total, err := c.l.enter()
	if err != nil {
		return nil, errStreamsFull
	}
	if keyID == 0 {
		return total, nil
	}
	key, err := c.l.enterKey(keyID)
	if err != nil {
		total()
		return nil, errStreamsPerKey
	}
	return func() { key(); total() }, nil
}

// sse writes server-sent events, each flushed at once and under its own
// write deadline (the server's WriteTimeout would otherwise end the stream).
type sse struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	buf  []byte
	hub  *stream.Hub
	kind string
}

// startSSE answers 200 text/event-stream and lifts the server's read
// deadline: when it passes, net/http cancels the request's context, which
// would end the stream.
func (s *Server) startSSE(w http.ResponseWriter, kind string) (*sse, error) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{}) // not supported: nothing to lift
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	out := &sse{w: w, rc: rc, hub: s.streams, kind: kind}
	return out, out.write("retry: " + strconv.FormatInt(streamRetry.Milliseconds(), 10) + "\n\n")
}

// event writes one event; data must be one line (compact JSON).
func (o *sse) event(id, name string, data []byte) error {
	o.buf = o.buf[:0]
	if id != "" {
		o.buf = append(append(append(o.buf, "id: "...), id...), '\n')
	}
	o.buf = append(append(append(o.buf, "event: "...), name...), '\n')
	o.buf = append(append(append(o.buf, "data: "...), data...), "\n\n"...)
	if err := o.write(string(o.buf)); err != nil {
		return err
	}
	o.hub.Sent(o.kind, 1)
	return nil
}

// heartbeat writes a comment line, which keeps idle connections (and the
// proxies on the way) open.
func (o *sse) heartbeat() error { return o.write(": heartbeat\n\n") }

func (o *sse) write(s string) error {
	_ = o.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	_, err := o.w.Write([]byte(s))
	if err == nil {
		err = o.rc.Flush()
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		o.hub.DroppedSlow(o.kind)
	}
	return err
}

// eventStream serves GET /events/stream: the customer's events as they are
// sequenced, after Last-Event-ID (or ?after=) when given, else from now.
func (s *Server) eventStream(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := principal(ctx)
	after := r.Header.Get("Last-Event-ID")
	field := "Last-Event-ID"
	if after == "" {
		after, field = r.URL.Query().Get("after"), "after"
	}
	release, err := s.streamCaps.enter(p.KeyID)
	if err != nil {
		return err
	}
	defer release()
	var cursor int64
	if after != "" {
		e, err := s.store.EventGet(ctx, p.KeyID, after)
		if errors.Is(err, events.ErrNotFound) {
			return invalidRequest(validate.Errors{field: "no such event"})
		}
		if err != nil {
			return err
		}
		if e.Pos == 0 {
			return invalidRequest(validate.Errors{field: "the event is not listed yet"})
		}
		cursor = e.Pos
	}
	sub, err := s.streams.SubscribeEvents(ctx, p.KeyID)
	if err != nil {
		return streamError(err)
	}
	defer sub.Close()
	if after == "" {
		cursor = sub.Start
	}
	out, err := s.startSSE(w, "events")
	if err != nil {
		return nil
	}
	hb := time.NewTicker(s.streamHeartbeat)
	defer hb.Stop()
	for {
		evs, next, err := sub.Next(ctx, cursor)
		if err != nil {
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, "event stream: read failed; ending the stream", "error", err.Error())
			}
			return nil // the client resumes from its Last-Event-ID
		}
		for _, e := range evs {
			data, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if out.event(e.ID, string(e.Type), data) != nil {
				return nil
			}
		}
		cursor = next
		if len(evs) > 0 {
			continue
		}
		if !s.waitStream(ctx, out, hb, sub.Wake()) {
			return nil
		}
	}
}

// waitStream waits for wake, writing heartbeats meanwhile; false: the
// stream is over (client gone, too slow, dropped, or shutdown).
func (s *Server) waitStream(ctx context.Context, out *sse, hb *time.Ticker, wake <-chan struct{}) bool {
	for {
		select {
		case <-wake:
			return true
		case <-hb.C:
			if out.heartbeat() != nil {
				return false
			}
		case <-ctx.Done():
			return false
		case <-s.streams.Done():
			return false
		}
	}
}

// seatStream serves GET /flights/{id}/seats/stream: the seat list, then
// each change to it.
func (s *Server) seatStream(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := flightID(r)
	if err != nil {
		return err
	}
	release, err := s.streamCaps.enter(0)
	if err != nil {
		return err
	}
	defer release()
	sub, err := s.streams.SubscribeSeats(ctx, id)
	if err != nil {
		return streamError(err)
	}
	defer sub.Close()
	snapshot, err := encodeBody(seatsPage(sub.Snapshot))
	if err != nil {
		return err
	}
	snapshot = bytes.TrimRight(snapshot, "\n") // one data line
	out, err := s.startSSE(w, "seats")
	if err != nil || out.event("", "snapshot", snapshot) != nil {
		return nil
	}
	hb := time.NewTicker(s.streamHeartbeat)
	defer hb.Stop()
	for {
		select {
		case msg := <-sub.C:
			if out.event("", "seats", msg) != nil {
				return nil
			}
		case <-hb.C:
			if out.heartbeat() != nil {
				return nil
			}
		case <-sub.Dropped():
			return nil
		case <-ctx.Done():
			return nil
		case <-s.streams.Done():
			return nil
		}
	}
}

// streamError maps the hub's refusal of a replica shutting down.
func streamError(err error) error {
	if errors.Is(err, stream.ErrClosed) {
		return errStreamsClosing
	}
	return err
}

// seatsPage is the body of GET /flights/{id}/seats for seats.
func seatsPage(seats []flights.Seat) page {
	out := make([]seatView, len(seats))
	for i, st := range seats {
		out[i] = seatView{Seat: st.Label, Cabin: string(st.Cabin), Price: st.Price, Status: string(st.Status)}
	}
	return page{Data: out}
}
