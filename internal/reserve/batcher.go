package reserve

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/idempotency"
	"github.com/reservd/reservd/internal/seatlock"
	"github.com/reservd/reservd/internal/store"
)

// BatchConfig tunes the hold batcher, a group commit: at most Slots batch
// transactions of one replica run at once, and a batch takes every hold
// that queued while they ran (up to MaxSize). A hold that finds a slot free
// starts its batch at once, so a lone request waits for nothing, and under
// load batches grow by themselves to what arrives during one transaction.
// Window, when set, makes a batch's first request wait that long for others
// as well (store.HoldBatcher runs the batch).
type BatchConfig struct {
	Enabled bool          // HOLD_BATCH
	Slots   int           // HOLD_BATCH_SLOTS: batch transactions running at once
	Window  time.Duration // HOLD_BATCH_WINDOW: how long a batch's first hold waits for others (0: not at all)
	MaxSize int           // HOLD_BATCH_MAX: the most holds in one batch
}

// DefaultBatch is the batcher's default configuration.
func DefaultBatch() BatchConfig {
	return BatchConfig{Enabled: true, Slots: 2, MaxSize: 64}
}

// batchTimeout bounds a batch's work: it runs for every request in it, so
// no one request's context may cancel it.
const batchTimeout = 30 * time.Second

// pendingHold is a hold request waiting in, or running with, a batch.
type pendingHold struct {
	ctx      context.Context
	nh       store.HoldCreateParams
	done     *idempotency.Completion[holds.Hold]
	enqueued time.Time
	result   chan store.BatchResult

	fast bool // the fast path acquired its seats
	out  store.BatchResult
}

// batcher collects concurrent holds into batches.
type batcher struct {
	s   *Service
	cfg BatchConfig
	m   batchMetrics

	mu      sync.Mutex
	queue   []*pendingHold
	running int    // batches running, at most cfg.Slots
	timer   bool   // a window timer is set for the queue's first request
	gen     uint64 // counts batches taken, so a late timer leaves the next batch alone
}

type batchMetrics struct {
	size      prometheus.Histogram
	wait      prometheus.Histogram
	tx        prometheus.Histogram
	fallbacks prometheus.Counter
}

func newBatcher(s *Service, cfg BatchConfig, reg prometheus.Registerer) *batcher {
	def := DefaultBatch()
	if cfg.Slots < 1 {
		cfg.Slots = def.Slots
	}
	if cfg.MaxSize < 1 {
		cfg.MaxSize = def.MaxSize
	}
	b := &batcher{s: s, cfg: cfg, m: batchMetrics{
		size: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "reservd_hold_batch_size",
			Help:    "Hold requests per batch transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 9), // 1 … 256
		}),
		wait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "reservd_hold_batch_wait_seconds",
			Help:    "How long a hold request waited for its batch to start.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 12), // 50 µs … 102 ms
		}),
		tx: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "reservd_hold_batch_transaction_seconds",
			Help:    "Duration of a batch's database transaction.",
			Buckets: prometheus.ExponentialBuckets(250e-6, 2, 12), // 250 µs … 0.5 s
		}),
		fallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "reservd_hold_batch_failures_total",
			Help: "Batch transactions that failed; their requests ran again one by one.",
		}),
	}}
	reg.MustRegister(b.m.size, b.m.wait, b.m.tx, b.m.fallbacks)
	return b
}

// hold queues a validated hold and returns its answer once its batch has
// run. The answer is waited for even if ctx ends: by then the batch may
// have granted the hold, and the caller must learn so.
func (b *batcher) hold(ctx context.Context, nh store.HoldCreateParams, done *idempotency.Completion[holds.Hold]) (holds.Hold, error) {
	p := &pendingHold{ctx: ctx, nh: nh, done: done, enqueued: time.Now(), result: make(chan store.BatchResult, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, p)
	var q []*pendingHold
	switch {
	case b.running >= b.cfg.Slots:
		// A running batch takes this request when it ends.
	case len(b.queue) >= b.cfg.MaxSize || b.cfg.Window <= 0:
		q = b.take()
	case !b.timer:
		b.timer = true
		gen := b.gen
		time.AfterFunc(b.cfg.Window, func() { b.flush(gen) })
	}
	b.mu.Unlock()
	if q != nil {
		b.loop(q) // this request's goroutine runs the batch
	}
	r := <-p.result
	return r.Hold, r.Err
}

// take removes the next batch from the queue and counts it running; b.mu is
// held.
func (b *batcher) take() []*pendingHold {
	n := min(len(b.queue), b.cfg.MaxSize)
	q := slices.Clone(b.queue[:n])
	b.queue = slices.Delete(b.queue, 0, n)
	b.running++
	b.timer = false
	b.gen++
	return q
}

// flush starts the batch its timer was set for, unless that batch already
// started or every slot is busy (a running batch takes it when it ends).
func (b *batcher) flush(gen uint64) {
	b.mu.Lock()
	if b.gen != gen || len(b.queue) == 0 || b.running >= b.cfg.Slots {
		if b.gen == gen {
			b.timer = false
		}
		b.mu.Unlock()
		return
	}
	q := b.take()
	b.mu.Unlock()
	b.loop(q)
}

// loop runs q, then hands its slot to the holds that queued meanwhile:
// they have waited at least one transaction already, so they run at once,
// on a goroutine of their own (this one's caller is waiting for its answer).
func (b *batcher) loop(q []*pendingHold) {
	b.run(q)
	b.mu.Lock()
	b.running--
	var next []*pendingHold
	if len(b.queue) > 0 {
		next = b.take()
	}
	b.mu.Unlock()
	if next != nil {
		go b.loop(next)
	}
}

// run grants a batch: the fast path refuses what is obviously taken (one
// round trip for the whole batch), the database decides the rest in one
// transaction, and the fast path learns the outcome (one more round trip)
// before anyone is answered, so that no stale key outlives the answer.
func (b *batcher) run(q []*pendingHold) {
	start := time.Now()
	b.m.size.Observe(float64(len(q)))
	for _, p := range q {
		b.m.wait.Observe(start.Sub(p.enqueued).Seconds())
	}
	s := b.s
	ctx, cancel := context.WithTimeout(context.WithoutCancel(q[0].ctx), batchTimeout)
	defer cancel()

	// The fast path, in front: refuse seats obviously taken.
	var ops []seatlock.SeatOp
	var opOf []*pendingHold
	for _, p := range q {
		if !p.nh.ByQuantity() {
			ops = append(ops, seatlock.SeatOp{FlightID: p.nh.FlightID, Seats: p.nh.Seats, Owner: p.nh.ID, TTL: p.nh.TTL})
			opOf = append(opOf, p)
		}
	}
	taken, err := seatlock.AcquireMany(ctx, s.locks, ops)
	if err != nil {
		s.fallback(ctx, "acquire", err) // once for the batch: one call failed
	}
	// A key that an earlier request of this batch set in this very call
	// proves nothing yet: the database may still refuse that request (to a
	// best-available request before it, or to a seat held without a key),
	// and in serial order the later request would then get the seat. Such a
	// refusal is left to the database, which decides in arrival order.
	refused := map[*pendingHold]bool{}
	setHere := map[batchSeat]bool{}
	for i, p := range opOf {
		switch {
		case err != nil:
		case len(taken[i]) > 0 && !anySet(setHere, p.nh.FlightID, taken[i]):
			s.m.fastPath.WithLabelValues("hit").Inc()
			p.out.Err = &holds.SeatsUnavailableError{Seats: taken[i]}
			refused[p] = true
		case len(taken[i]) > 0:
			s.m.fastPath.WithLabelValues("miss").Inc() // acquired nothing: not fast
		default:
			s.m.fastPath.WithLabelValues("miss").Inc()
			p.fast = true
			for _, l := range p.nh.Seats {
				setHere[batchSeat{p.nh.FlightID, l}] = true
			}
		}
	}

	// The database decides the rest, in one transaction.
	var reqs []store.BatchHold
	var inTx []*pendingHold
	for _, p := range q {
		if !refused[p] {
			reqs = append(reqs, store.BatchHold{Ctx: p.ctx, HoldCreateParams: p.nh, Done: p.done})
			inTx = append(inTx, p)
		}
	}
	if len(reqs) > 0 {
		txStart := time.Now()
		results, err := s.store.HoldCreateBatch(ctx, reqs)
		b.m.tx.Observe(time.Since(txStart).Seconds())
		if err != nil {
			b.m.fallbacks.Inc()
			s.log.WarnContext(ctx, "hold batch failed; running its requests one by one", "requests", len(reqs), "error", err.Error())
			results = b.alone(inTx)
		}
		for i, p := range inTx {
			p.out = results[i]
		}
	}

	// Teach the fast path the outcome, then answer.
	var release, acquire []seatlock.SeatOp
	won := map[string]bool{}
	flights := map[int64]bool{}
	for _, p := range q {
		if p.out.Err == nil {
			h := p.out.Hold
			won[h.ID] = true
			// Only while its client waits: a client that gave up may have
			// retried, been answered and released the hold meanwhile, and
			// a key set now would outlive the hold. A missing key only
			// costs a database round trip.
			if !p.fast && p.ctx.Err() == nil {
				acquire = append(acquire, seatlock.SeatOp{FlightID: h.FlightID, Seats: h.Seats, Owner: h.ID, TTL: time.Until(h.ExpiresAt)})
			}
			flights[h.FlightID] = true
		}
	}
	for _, p := range q {
		// A by-seat request that went to the database and lost may have
		// keys (whether or not Acquire's answer arrived). A twin of a
		// winner shares its owner: the winner keeps them.
		if p.out.Err != nil && !p.nh.ByQuantity() && !refused[p] && !won[p.nh.ID] {
			release = append(release, seatlock.SeatOp{FlightID: p.nh.FlightID, Seats: p.nh.Seats, Owner: p.nh.ID})
		}
	}
	// Once more if it fails: a key left on a seat the database freed would
	// refuse that seat until it expires. Every part of it can run twice.
	for try := 0; try < 2; try++ {
		err := seatlock.Settle(ctx, s.locks, release, acquire)
		if err == nil {
			break
		}
		s.fallback(ctx, "settle", err)
	}
	s.invalidate(ctx, slices.Collect(maps.Keys(flights))...)
	for _, p := range q {
		var unavailable *holds.SeatsUnavailableError
		switch {
		case p.out.Err == nil:
			s.m.holds.WithLabelValues("created").Inc()
		case errors.As(p.out.Err, &unavailable) || errors.Is(p.out.Err, holds.ErrNotEnoughSeats):
			s.m.holds.WithLabelValues("conflict").Inc()
		}
		p.result <- p.out
	}
}

// batchSeat names a seat across flights.
type batchSeat struct {
	flight int64
	label  string
}

// anySet reports whether any of flight's labels is in set.
func anySet(set map[batchSeat]bool, flight int64, labels []string) bool {
	for _, l := range labels {
		if set[batchSeat{flight, l}] {
			return true
		}
	}
	return false
}

// alone runs the requests of a failed batch one by one, as without
// batching, concurrently. Each keeps its hold id: a hold the failed batch
// did write after all (its COMMIT's answer was lost) is found by that id,
// never granted twice.
func (b *batcher) alone(ps []*pendingHold) []store.BatchResult {
	out := make([]store.BatchResult, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Go(func() {
			h, err := b.s.store.HoldCreate(p.ctx, p.nh, p.done)
			if errors.Is(err, idempotency.ErrKeyTaken) && (p.done == nil || !p.done.Claim) {
				// Its own id holds the seats, and no key says so: the hold
				// is this request's, written by the batch.
				if got, gerr := b.s.store.HoldGet(p.ctx, p.nh.KeyID, p.nh.ID); gerr == nil {
					h, err = got, nil
				}
			}
			out[i] = store.BatchResult{Hold: h, Err: err}
		})
	}
	wg.Wait()
	return out
}
