package webhook

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/store"
)

// Stream claims the streams of endpoints that have new events, as many as
// this replica has room for (Concurrency / PerEndpoint streams at once),
// and sends their first attempts in the background, PerEndpoint at a time
// per stream; it reports how many streams it claimed. Each stream's
// outcomes are recorded together once its batch is sent, and the endpoint
// is claimed again at once, for the events that came meanwhile.
func (d *Dispatcher) Stream(ctx context.Context) (int, error) {
	d.streamMu.Lock()
	defer d.streamMu.Unlock()
	if d.ctx.Err() != nil || d.closing.Load() {
		return 0, nil
	}
	d.mu.Lock()
	free := d.maxStreams - len(d.streaming)
	skip := make([]string, 0, len(d.streaming))
	for ep := range d.streaming {
		skip = append(skip, ep)
	}
	d.mu.Unlock()
	if free <= 0 {
		return 0, nil
	}
	ss, err := d.st.WebhookStreamClaim(ctx, store.WebhookStreamClaimParams{Endpoints: free, Events: d.streamBatch,
		Lease: d.streamLease, Skip: skip})
	if err != nil {
		return 0, err
	}
	start := time.Now()
	d.mu.Lock()
	for _, s := range ss {
		d.streaming[s.EndpointID] = true
	}
	d.mu.Unlock()
	for _, s := range ss {
		d.sends.Go(func() { d.stream1(s, start) })
	}
	return len(ss), nil
}

// stream1 sends a claimed stream's events and records them, then claims
// again: events may have come meanwhile, or the batch was full.
func (d *Dispatcher) stream1(s store.WebhookStream, claimed time.Time) {
	if d.streamOnce(s, claimed) {
		// Still inside this send's goroutine, so that Stop waits for it.
		if _, err := d.Stream(d.ctx); err != nil && d.ctx.Err() == nil {
			d.log.Warn("claim webhook streams", "error", err.Error())
		}
	}
}

// streamOnce sends s's events PerEndpoint at a time, in order, and records
// those sent, moving the stream's position past them (and past the events
// the endpoint does not want), which gives the lease back. A send that
// could outlast the lease is not started, and a send cut short by Stop
// counts as not made: then only the events before the first unsent one
// are recorded, and the position stops there. With none sent, the lease is
// given back on Close and left to run out otherwise (a replica that stops
// dead records nothing). It reports whether there may be more to send.
func (d *Dispatcher) streamOnce(s store.WebhookStream, claimed time.Time) (more bool) {
	defer func() {
		d.mu.Lock()
		delete(d.streaming, s.EndpointID)
		d.mu.Unlock()
	}()
	lastStart := claimed.Add(d.streamLease - min(d.cfg.Timeout, d.streamLease/2))
	outcomes := make([]store.WebhookStreamOutcome, len(s.Events))
	latency := make([]time.Duration, len(s.Events))
	sent := make([]bool, len(s.Events))
	slots := make(chan struct{}, d.cfg.PerEndpoint)
	var wg sync.WaitGroup
	for i, ev := range s.Events {
		slots <- struct{}{}
		if d.ctx.Err() != nil || time.Now().After(lastStart) {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			outcomes[i], latency[i] = d.sendFirst(s, ev)
			sent[i] = d.ctx.Err() == nil
		})
	}
	wg.Wait()
	n := 0
	for n < len(sent) && sent[n] {
		n++
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), 10*time.Second)
	defer cancel()
	rec := s
	if n < len(s.Events) {
		if n == 0 {
			if d.closing.Load() {
				if _, err := d.st.WebhookStreamRecord(ctx, s.Released(), nil); err != nil {
					d.log.Warn("give back webhook stream", "endpoint", s.EndpointID, "error", err.Error())
				}
			}
			return false
		}
		rec.Events, rec.Through, outcomes = s.Events[:n], s.Events[n-1].Pos, outcomes[:n]
	}
	stale, err := d.st.WebhookStreamRecord(ctx, rec, outcomes)
	if err != nil {
		// Not recorded: the lease runs out and the events are sent again.
		d.log.Error("record webhook stream", "endpoint", s.EndpointID, "deliveries", len(outcomes), "error", err.Error())
		return false
	}
	for i, o := range outcomes {
		switch {
		case stale:
			d.m.deliveries.WithLabelValues("stale").Inc()
		case o.Delivered:
			d.m.deliveries.WithLabelValues("delivered").Inc()
			d.m.latency.Observe(latency[i].Seconds())
		default:
			d.m.deliveries.WithLabelValues("failed").Inc()
		}
	}
	return !stale && rec.Through > rec.From && d.ctx.Err() == nil
}

// sendFirst makes the first attempt to send ev on stream s.
func (d *Dispatcher) sendFirst(s store.WebhookStream, ev events.Event) (store.WebhookStreamOutcome, time.Duration) {
	o := store.WebhookStreamOutcome{EventID: ev.ID, RetryIn: Backoff(1, d.cfg.RetryBase, d.cfg.RetryMax)}
	start := time.Now()
	status, err := d.send(store.WebhookClaim{URL: s.URL, Secret: s.Secret, Event: ev, EventOK: true})
	o.Duration, o.ResponseStatus = time.Since(start), status
	o.Delivered = err == nil && status >= http.StatusOK && status < http.StatusMultipleChoices
	if err != nil {
		d.log.Debug("webhook delivery failed", "endpoint", s.EndpointID, "event", ev.ID, "error", err.Error())
	}
	return o, time.Since(ev.CreatedAt)
}
