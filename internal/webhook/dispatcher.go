// Package webhook sends customers' events to their webhook endpoints.
//
// The queue lives in the database (store.Webhooks): the fan-out pass turns
// each sequenced event into one pending delivery per subscribed endpoint,
// and a Dispatcher on every replica claims due deliveries with a lease,
// POSTs them, signed (Sign), and records the outcome. A failure is retried
// with exponential backoff and full jitter until the retry window since the
// first attempt has passed; then the endpoint is disabled. Delivery is at
// least once: a replica that dies mid-delivery leaves its lease to run out,
// and another replica sends the delivery again.
//
// A slow or dead receiver costs only its own slots: each replica sends at
// most Config.PerEndpoint deliveries to one endpoint at once and
// Config.Concurrency in all, every send is bounded by Config.Timeout, and
// sends run beside the API, never in a request.
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
	// replica sends it again after. Default: Timeout + 20s.
	Lease       time.Duration
	RetryBase   time.Duration // WEBHOOK_RETRY_BASE: the first retry's backoff ceiling
	RetryMax    time.Duration // the ceiling of any backoff (1h)
	RetryFor    time.Duration // WEBHOOK_RETRY_FOR: the retry window before the endpoint is disabled
	Concurrency int           // WEBHOOK_CONCURRENCY: sends at once on this replica
	PerEndpoint int           // WEBHOOK_CONCURRENCY_PER_ENDPOINT: sends at once to one endpoint
	FanOutBatch int           // events per fan-out transaction
}

// DefaultConfig is the production configuration.
func DefaultConfig() Config {
	return Config{Timeout: Timeout, RetryBase: 30 * time.Second, RetryMax: time.Hour, RetryFor: 72 * time.Hour,
		Concurrency: 16, PerEndpoint: 2, FanOutBatch: 500}
}

// Dispatcher fans events out and sends deliveries.
type Dispatcher struct {
	st     store.Webhooks
	cfg    Config
	client *http.Client
	log    *slog.Logger
	m      *metrics

	ctx     context.Context // sends run under it; Stop cancels it
	stop    context.CancelFunc
	wg      sync.WaitGroup
	closing atomic.Bool

	mu       sync.Mutex
	inFlight int
	busy     map[string]int // sends in flight by endpoint
}

// New returns a dispatcher over st; reg receives its metrics.
func New(st store.Webhooks, cfg Config, log *slog.Logger, reg prometheus.Registerer) *Dispatcher {
	def := DefaultConfig()
	if cfg.Timeout <= 0 {
		cfg.Timeout = def.Timeout
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
	if cfg.FanOutBatch <= 0 {
		cfg.FanOutBatch = def.FanOutBatch
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Dispatcher{st: st, cfg: cfg, client: NewClient(cfg.AllowPrivate, cfg.Timeout), log: log,
		m: newMetrics(reg), ctx: ctx, stop: stop, busy: map[string]int{}}
}

// Close stops claiming, lets the sends in flight finish for up to wait,
// then stops the rest (see Stop): for a replica shutting down.
func (d *Dispatcher) Close(wait time.Duration) {
	d.closing.Store(true)
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
	}
	d.Stop()
}

// Stop cancels the sends in flight, without recording their outcomes (their
// leases run out and another replica sends them again), and waits for them.
func (d *Dispatcher) Stop() {
	d.stop()
	d.wg.Wait()
}

// Wait waits for the sends in flight to finish.
func (d *Dispatcher) Wait() { d.wg.Wait() }

// FanOut turns the sequenced events not yet fanned out into deliveries,
// a batch per transaction, and reports how many deliveries it wrote.
func (d *Dispatcher) FanOut(ctx context.Context) (int, error) {
	n := 0
	for range 20 {
		r, err := d.st.WebhookFanOut(ctx, d.cfg.FanOutBatch)
		if err != nil {
			return n, err
		}
		n += r.Deliveries
		if r.Events < d.cfg.FanOutBatch {
			break
		}
	}
	return n, nil
}

// Dispatch claims as many due deliveries as this replica has room to send
// and starts sending them; it reports how many it started. The sends go on
// after it returns.
func (d *Dispatcher) Dispatch(ctx context.Context) (int, error) {
	return d.dispatch(ctx, d.cfg.Concurrency)
}

// dispatch is Dispatch claiming at most limit deliveries.
func (d *Dispatcher) dispatch(ctx context.Context, limit int) (int, error) {
	if d.ctx.Err() != nil || d.closing.Load() {
		return 0, nil
	}
	d.mu.Lock()
	free := min(limit, d.cfg.Concurrency-d.inFlight)
	var full []string
	for ep, n := range d.busy {
		if n >= d.cfg.PerEndpoint {
			full = append(full, ep)
		}
	}
	d.mu.Unlock()
	if free <= 0 {
		return 0, nil
	}
	claims, err := d.st.WebhookClaim(ctx, store.WebhookClaimParams{Limit: free, Lease: d.cfg.Lease, Exclude: full})
	if err != nil {
		return 0, err
	}
	var spare []store.WebhookClaim
	started := 0
	d.mu.Lock()
	for _, c := range claims {
		ep := c.Delivery.EndpointID
		if d.busy[ep] >= d.cfg.PerEndpoint || d.inFlight >= d.cfg.Concurrency {
			spare = append(spare, c)
			continue
		}
		d.busy[ep]++
		d.inFlight++
		started++
		d.wg.Go(func() { d.deliver(c) })
	}
	d.mu.Unlock()
	if len(spare) > 0 {
		if err := d.st.WebhookRelease(ctx, spare); err != nil {
			return started, err
		}
	}
	return started, nil
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
	d.m.disabled.Set(float64(c.Disabled))
	return c.Due + c.Waiting, nil
}

func (d *Dispatcher) done(endpoint string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.inFlight--
	if d.busy[endpoint]--; d.busy[endpoint] <= 0 {
		delete(d.busy, endpoint)
	}
}

// deliver sends one claimed delivery, records its outcome, and claims the
// next due delivery at once with the slot it frees: an endpoint's backlog
// drains as fast as the endpoint answers, not PerEndpoint sends per
// WEBHOOK_INTERVAL pass (the passes still start the work in bulk, and pick
// up what a claim racing another left behind). One delivery, not the
// replica's free slots: a claim the endpoint cannot take would only be
// released again. With nothing due the claim is one cheap statement.
func (d *Dispatcher) deliver(c store.WebhookClaim) {
	d.send1(c)
	d.done(c.Delivery.EndpointID)
	if d.ctx.Err() == nil && !d.closing.Load() {
		if _, err := d.dispatch(d.ctx, 1); err != nil && d.ctx.Err() == nil {
			d.log.Warn("claim webhook deliveries", "error", err.Error())
		}
	}
}

// send1 sends one claimed delivery and records its outcome.
func (d *Dispatcher) send1(c store.WebhookClaim) {
	o := store.WebhookOutcome{ID: c.Delivery.ID, Claim: c.Claim, RetryFor: d.cfg.RetryFor,
		RetryIn: Backoff(c.Delivery.Attempt, d.cfg.RetryBase, d.cfg.RetryMax)}
	if !c.EventOK {
		o.RetryIn = -1 // the event is gone (retention): nothing left to send
	} else {
		start := time.Now()
		status, err := d.send(c)
		if d.ctx.Err() != nil {
			return // stopped: the lease runs out and another replica sends it
		}
		o.Duration, o.ResponseStatus = time.Since(start), status
		o.Delivered = err == nil && status >= 200 && status < 300
		if err != nil {
			d.log.Debug("webhook delivery failed", "delivery", c.Delivery.ID, "endpoint", c.Delivery.EndpointID, "error", err.Error())
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), 10*time.Second)
	defer cancel()
	r, err := d.st.WebhookRecord(ctx, o)
	switch {
	case err != nil:
		d.log.Error("record webhook delivery", "delivery", c.Delivery.ID, "error", err.Error())
		return
	case r.Stale:
		d.m.deliveries.WithLabelValues("stale").Inc()
		return
	case o.Delivered:
		d.m.deliveries.WithLabelValues("delivered").Inc()
		d.m.latency.Observe(time.Since(c.Event.CreatedAt).Seconds())
	default:
		d.m.deliveries.WithLabelValues("failed").Inc()
	}
	if r.Disabled {
		d.m.disabledTotal.Inc()
		d.log.Warn("webhook endpoint disabled after its retry window", "endpoint", c.Delivery.EndpointID, "retry_for", d.cfg.RetryFor)
	}
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
