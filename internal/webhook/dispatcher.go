// Package webhook sends customers' events to their webhook endpoints.
//
// First attempts are sent from the event feed (Stream, stream.go): a
// Dispatcher on every replica leases the streams of endpoints whose
// customer has events past the endpoint's stream position (store.Webhooks),
// POSTs those the endpoint subscribes to, signed (Sign), PerEndpoint at a
// time, and then records every attempt and moves the position in one
// transaction. No queue row exists for a first attempt before it is made,
// so the database work of a delivery is one batched insert into the log.
//
// A failure is retried from a row: recording it writes the next attempt,
// pending after a backoff, which dispatchers claim with a lease (Dispatch),
// with exponential backoff and full jitter until the retry window since the
// first attempt has passed; then the endpoint is disabled. Delivery is at
// least once: a replica that dies mid-delivery leaves its leases to run
// out, and another replica sends those events again.
//
// A slow or dead receiver costs only its own slots: each replica streams
// to at most Concurrency / PerEndpoint endpoints at once, PerEndpoint sends
// each, and sends at most PerEndpoint retries to one endpoint at once and
// Concurrency in all; every send is bounded by Config.Timeout, and sends
// run beside the API, never in a request.
//
// The retries' database work is batched too. A claim gives each endpoint
// with room on this replica up to PerEndpoint × Config.Batch of its oldest
// due deliveries (one index scan per endpoint; an endpoint without room is
// not looked at), which wait in memory, in claim order, for a free slot.
// Their leases cover sending them PerEndpoint at a time: Config.Lease for
// an endpoint's first PerEndpoint, Timeout longer for each further
// PerEndpoint, so that a replica's death delays the head of each
// endpoint's batch no more than one delivery's lease; one whose lease
// would run out before its send could finish is left unsent for the lease
// to expire. Finished sends are recorded together
// (store.Webhooks.WebhookRecordMany) at the latest every FlushEvery, or at
// once when an endpoint's last claimed delivery starts: then the
// dispatcher records and claims that endpoint's next batch at once, so a
// backlog drains as fast as the endpoint answers, not once per
// WEBHOOK_INTERVAL pass.
package webhook

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reservd/reservd/internal/store"
)

// Config tunes a Dispatcher.
type Config struct {
	AllowPrivate bool          // WEBHOOK_ALLOW_PRIVATE: allow http:// and internal addresses
	Timeout      time.Duration // one send (Timeout by default)
	// Lease is how long a claimed delivery is this replica's; another
	// replica sends it again after. Default: Timeout + 20s. It is the
	// lease of the first PerEndpoint deliveries of an endpoint's claimed
	// batch; each further PerEndpoint is leased Timeout longer, the time
	// to send them PerEndpoint at a time.
	Lease       time.Duration
	RetryBase   time.Duration // WEBHOOK_RETRY_BASE: the first retry's backoff ceiling
	RetryMax    time.Duration // the ceiling of any backoff (1h)
	RetryFor    time.Duration // WEBHOOK_RETRY_FOR: the retry window before the endpoint is disabled
	Concurrency int           // WEBHOOK_CONCURRENCY: sends at once on this replica
	PerEndpoint int           // WEBHOOK_CONCURRENCY_PER_ENDPOINT: sends at once to one endpoint
	// Batch is how many deliveries a claim takes per send slot: up to
	// PerEndpoint × Batch of one endpoint, Concurrency × Batch in all; and
	// how many events a stream reads per send slot (PerEndpoint × Batch).
	Batch int
}

// DefaultConfig is the production configuration.
func DefaultConfig() Config {
	return Config{Timeout: Timeout, RetryBase: 30 * time.Second, RetryMax: time.Hour, RetryFor: 72 * time.Hour,
		Concurrency: 16, PerEndpoint: 2, Batch: 8}
}

// FlushEvery is the longest a finished send waits for its outcome to be
// recorded (with the others finished meanwhile).
const FlushEvery = 50 * time.Millisecond

// Dispatcher sends events to webhook endpoints: first attempts from the
// streams, retries from the queue.
type Dispatcher struct {
	st     store.Webhooks
	cfg    Config
	client *http.Client
	log    *slog.Logger
	m      *metrics

	batch   int             // deliveries claimed per send slot (Config.Batch)
	flushAt int             // finished sends that are recorded at once, without waiting for FlushEvery
	ctx     context.Context // sends run under it; Stop cancels it
	stop    context.CancelFunc
	sends   sync.WaitGroup // the sends in flight
	bg      sync.WaitGroup // the loop
	closing atomic.Bool
	kick    chan struct{} // wakes the loop to record and claim at once

	claimMu sync.Mutex // one claim at a time, so the room it asks for is right
	// Streams (stream.go): at most maxStreams claimed at once, streamBatch
	// events each, leased for streamLease (Config.Lease): a send that could
	// outlast it is not started, and the stream records what it sent.
	streamMu    sync.Mutex // one stream claim at a time, likewise
	streaming   map[string]bool
	maxStreams  int
	streamBatch int
	streamLease time.Duration
	flushMu     sync.Mutex // one recording at a time

	mu       sync.Mutex
	looping  bool           // the loop was started (or must not be: stopped)
	queue    []queued       // claimed, not started, in claim order
	queued   map[string]int // of them by endpoint
	sending  map[string]int // sends in flight by endpoint
	inFlight int            // sends in flight
	held     int            // claimed and not finished: queued or in flight
	finished []finished     // sent, not yet recorded
}

// queued is a claimed delivery waiting for a slot.
type queued struct {
	c         store.WebhookClaim
	lastStart time.Time // a send started later could outlast the lease
}

// finished is a send's outcome waiting to be recorded.
type finished struct {
	o        store.WebhookOutcome
	endpoint string
	latency  time.Duration // from the event's commit, for a delivered one
}

// New returns a dispatcher over st; reg receives its metrics.
func New(st store.Webhooks, cfg Config, log *slog.Logger, reg prometheus.Registerer) *Dispatcher {
	def := DefaultConfig()
	if cfg.Timeout <= 0 {
		cfg.Timeout = def.Timeout
	}
	if cfg.Batch <= 0 {
		cfg.Batch = def.Batch
	}
	if cfg.Lease <= 0 {
		cfg.Lease = cfg.Timeout + 20*time.Second
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = def.RetryBase
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = def.RetryMax
	}
	if cfg.RetryFor <= 0 {
		cfg.RetryFor = def.RetryFor
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = def.Concurrency
	}
	if cfg.PerEndpoint <= 0 {
		cfg.PerEndpoint = def.PerEndpoint
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, stop := context.WithCancel(context.Background())
	streamBatch := cfg.PerEndpoint * cfg.Batch
	return &Dispatcher{st: st, cfg: cfg, client: NewClient(cfg.AllowPrivate, cfg.Timeout), log: log,
		m: newMetrics(reg), batch: cfg.Batch, flushAt: max(cfg.Concurrency*cfg.Batch/2, 1), ctx: ctx, stop: stop,
		kick: make(chan struct{}, 1), queued: map[string]int{}, sending: map[string]int{},
		streaming: map[string]bool{}, maxStreams: max(cfg.Concurrency/cfg.PerEndpoint, 1), streamBatch: streamBatch,
		streamLease: cfg.Lease}
}

// Close stops claiming and starting sends, lets the sends in flight finish
// for up to wait, then stops the rest (see Stop), records the outcomes
// collected and gives back the claims never started: for a replica
// shutting down.
func (d *Dispatcher) Close(wait time.Duration) {
	d.closing.Store(true)
	done := make(chan struct{})
	go func() { d.sends.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
	}
	d.Stop()
	d.mu.Lock()
	var unsent []store.WebhookClaim
	for _, q := range d.queue {
		unsent = append(unsent, q.c)
	}
	d.queue = nil
	d.mu.Unlock()
	if len(unsent) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.st.WebhookRelease(ctx, unsent); err != nil {
			d.log.Warn("release webhook deliveries", "error", err.Error())
		}
	}
}

// Stop cancels the sends in flight, without recording their outcomes (their
// leases run out and another replica sends them again), waits for them,
// and records the outcomes of the sends finished before.
func (d *Dispatcher) Stop() {
	d.stop()
	d.mu.Lock()
	d.looping = true // no loop starts after this
	d.mu.Unlock()
	d.sends.Wait()
	d.bg.Wait()
	d.flush()
}

// Wait waits for the sends in flight to finish.
func (d *Dispatcher) Wait() { d.sends.Wait() }

// Dispatch claims as many due deliveries as this replica has room to hold
// and starts sending them; it reports how many it claimed. The sends go on
// after it returns, and so does the claiming: each endpoint's next batch is
// claimed when its last claimed delivery starts.
func (d *Dispatcher) Dispatch(ctx context.Context) (int, error) {
	if d.ctx.Err() != nil || d.closing.Load() {
		return 0, nil
	}
	d.mu.Lock()
	if !d.looping && d.ctx.Err() == nil {
		d.looping = true
		d.bg.Go(d.loop)
	}
	d.mu.Unlock()
	return d.claim(ctx)
}

// loop records finished sends every FlushEvery, and at once, then claims,
// when kicked.
func (d *Dispatcher) loop() {
	t := time.NewTicker(FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
			d.flush()
		case <-d.kick:
			d.flush()
			if _, err := d.claim(d.ctx); err != nil && d.ctx.Err() == nil {
				d.log.Warn("claim webhook deliveries", "error", err.Error())
			}
		}
	}
}

func (d *Dispatcher) wake() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// claim leases, for each endpoint, up to its room on this replica
// (PerEndpoint × batch, less what it holds), Concurrency × batch in all,
// and starts what it can.
func (d *Dispatcher) claim(ctx context.Context) (int, error) {
	d.claimMu.Lock()
	defer d.claimMu.Unlock()
	if d.ctx.Err() != nil || d.closing.Load() {
		return 0, nil
	}
	d.mu.Lock()
	free := d.cfg.Concurrency*d.batch - d.held
	busy := make(map[string]int, len(d.queued)+len(d.sending))
	for ep, n := range d.queued {
		busy[ep] += n
	}
	for ep, n := range d.sending {
		busy[ep] += n
	}
	d.mu.Unlock()
	if free <= 0 {
		return 0, nil
	}
	start := time.Now() // the leases begin after
	claims, err := d.st.WebhookClaim(ctx, store.WebhookClaimParams{PerEndpoint: d.cfg.PerEndpoint * d.batch,
		Busy: busy, Limit: free, Lease: d.cfg.Lease, Wave: d.cfg.PerEndpoint, Step: d.cfg.Timeout})
	if err != nil {
		return 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range claims {
		lastStart := start.Add(c.Lease - min(d.cfg.Timeout, c.Lease/2))
		d.queue = append(d.queue, queued{c: c, lastStart: lastStart})
		d.queued[c.Delivery.EndpointID]++
		d.held++
	}
	d.pump()
	return len(claims), nil
}

// pump starts the queued deliveries that have a slot, oldest claim first;
// d.mu is held. One whose lease would run out before its send could finish
// is dropped: another replica (or this one) claims it again once it has.
// When an endpoint's last queued delivery leaves the queue, the loop is
// woken to record and claim its next batch while the last sends run.
func (d *Dispatcher) pump() {
	if d.ctx.Err() != nil || d.closing.Load() {
		return
	}
	now := time.Now()
	kept := d.queue[:0]
	for _, q := range d.queue {
		ep := q.c.Delivery.EndpointID
		switch {
		case now.After(q.lastStart):
			d.held--
			d.log.Debug("webhook delivery not sent within its lease", "delivery", q.c.Delivery.ID, "endpoint", ep)
		case d.inFlight < d.cfg.Concurrency && d.sending[ep] < d.cfg.PerEndpoint:
			d.inFlight++
			d.sending[ep]++
			d.sends.Go(func() { d.deliver(q.c) })
		default:
			kept = append(kept, q)
			continue
		}
		if d.queued[ep]--; d.queued[ep] <= 0 {
			delete(d.queued, ep)
			d.wake()
		}
	}
	clear(d.queue[len(kept):])
	d.queue = kept
}

// Retention is how long finished deliveries stay in the log: as long as
// the events they sent.
const Retention = 30 * 24 * time.Hour

// Prune deletes finished deliveries past Retention, a batch per call.
func (d *Dispatcher) Prune(ctx context.Context) (int, error) {
	return d.st.WebhookPrune(ctx, Retention, 1000)
}

// Gauges refreshes the queue depth and disabled endpoint gauges.
func (d *Dispatcher) Gauges(ctx context.Context) (int, error) {
	c, err := d.st.WebhookGauges(ctx)
	if err != nil {
		return 0, err
	}
	d.m.queue.WithLabelValues("due").Set(float64(c.Due))
	d.m.queue.WithLabelValues("retrying").Set(float64(c.Waiting))
	d.m.queue.WithLabelValues("unsent").Set(float64(c.Unsent))
	d.m.disabled.Set(float64(c.Disabled))
	return c.Due + c.Waiting + c.Unsent, nil
}

// deliver sends one claimed delivery, keeps its outcome for the next
// recording and gives its slot to the next queued delivery.
func (d *Dispatcher) deliver(c store.WebhookClaim) {
	f, ok := d.send1(c)
	ep := c.Delivery.EndpointID
	d.mu.Lock()
	defer d.mu.Unlock()
	d.inFlight--
	d.held--
	if d.sending[ep]--; d.sending[ep] <= 0 {
		delete(d.sending, ep)
	}
	if ok {
		d.finished = append(d.finished, f)
		if len(d.finished) >= d.flushAt {
			d.wake()
		}
	}
	d.pump()
}

// send1 sends one claimed delivery and returns its outcome; ok is false
// when the dispatcher was stopped meanwhile (nothing is recorded: the
// lease runs out and another replica sends it).
func (d *Dispatcher) send1(c store.WebhookClaim) (f finished, ok bool) {
	f = finished{endpoint: c.Delivery.EndpointID, o: store.WebhookOutcome{ID: c.Delivery.ID, Claim: c.Claim, RetryFor: d.cfg.RetryFor,
		RetryIn: Backoff(c.Delivery.Attempt, d.cfg.RetryBase, d.cfg.RetryMax)}}
	if !c.EventOK {
		f.o.RetryIn = -1 // the event is gone (retention): nothing left to send
		return f, true
	}
	start := time.Now()
	status, err := d.send(c)
	if d.ctx.Err() != nil {
		return f, false
	}
	f.o.Duration, f.o.ResponseStatus = time.Since(start), status
	f.o.Delivered = err == nil && status >= 200 && status < 300
	f.latency = time.Since(c.Event.CreatedAt)
	if err != nil {
		d.log.Debug("webhook delivery failed", "delivery", c.Delivery.ID, "endpoint", c.Delivery.EndpointID, "error", err.Error())
	}
	return f, true
}

// flush records the finished sends in one transaction and counts them.
// When that fails, they are sent again once their leases run out.
func (d *Dispatcher) flush() {
	d.flushMu.Lock()
	defer d.flushMu.Unlock()
	d.mu.Lock()
	fs := d.finished
	d.finished = nil
	d.mu.Unlock()
	if len(fs) == 0 {
		return
	}
	os := make([]store.WebhookOutcome, len(fs))
	for i, f := range fs {
		os[i] = f.o
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), 10*time.Second)
	defer cancel()
	rs, err := d.st.WebhookRecordMany(ctx, os)
	if err != nil {
		d.log.Error("record webhook deliveries", "deliveries", len(os), "error", err.Error())
		return
	}
	for i, r := range rs {
		f := fs[i]
		switch {
		case r.Stale:
			d.m.deliveries.WithLabelValues("stale").Inc()
			continue
		case f.o.Delivered:
			d.m.deliveries.WithLabelValues("delivered").Inc()
			d.m.latency.Observe(f.latency.Seconds())
		default:
			d.m.deliveries.WithLabelValues("failed").Inc()
		}
		if r.Disabled {
			d.m.disabledTotal.Inc()
			d.log.Warn("webhook endpoint disabled after its retry window", "endpoint", f.endpoint, "retry_for", d.cfg.RetryFor)
			d.forget(f.endpoint)
		}
	}
}

// forget drops the queued deliveries of an endpoint just disabled, unsent:
// they stay pending, and no claim takes a disabled endpoint's deliveries.
func (d *Dispatcher) forget(endpoint string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	kept := d.queue[:0]
	for _, q := range d.queue {
		if q.c.Delivery.EndpointID == endpoint {
			d.held--
			continue
		}
		kept = append(kept, q)
	}
	clear(d.queue[len(kept):])
	d.queue = kept
	delete(d.queued, endpoint)
}

// send POSTs the event and returns the answer's status (0 for none).
func (d *Dispatcher) send(c store.WebhookClaim) (int, error) {
	body, err := json.Marshal(c.Event)
	if err != nil {
		return 0, err
	}
	if !d.cfg.AllowPrivate && !strings.HasPrefix(c.URL, "https://") {
		return 0, ErrForbiddenAddress
	}
	ctx, cancel := context.WithTimeout(d.ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, strings.NewReader(string(body)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "reservd-webhooks/1")
	req.Header.Set("Reservd-Event-Id", c.Event.ID)
	req.Header.Set("Reservd-Event-Type", string(c.Event.Type))
	req.Header.Set(SignatureHeader, Sign(c.Secret, time.Now(), body))
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // #nosec G104 -- drained only so the connection can be reused; the status decided the outcome
	return resp.StatusCode, nil
}

// Backoff is the wait before the attempt after attempt failed: a random
// duration up to base·2^(attempt-1), capped at max ("full jitter"), so that
// retries of many deliveries spread out instead of arriving together.
func Backoff(attempt int, base, max time.Duration) time.Duration {
	ceiling := max
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 30 {
		if c := base << (attempt - 1); c > 0 && c < max {
			ceiling = c
		}
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1)) // #nosec G404 -- backoff jitter spreads retries; nothing secret
}
