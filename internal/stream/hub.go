// Package stream is the per-replica hub behind reservd's server-sent event
// streams: GET /events/stream (a customer's events as they happen) and
// GET /flights/{id}/seats/stream (a flight's seat map, live). No client
// holds a database connection: the hub reads for all of them and fans out
// what it read.
//
//   - Events: one reader per replica follows the sequenced feed
//     (store.Events.EventList over every customer, after the highest
//     position it has read) and keeps each subscribed customer's recent
//     events in a ring; a client copies what follows its cursor from the
//     ring. A client whose cursor is older than the ring (a resume with
//     Last-Event-ID, or one that fell behind) reads its own backlog in short
//     EventList calls, each returning its connection at once.
//   - Seats: one reader per watched flight per replica reads the flight's
//     seats (what GET /flights/{id}/seats answers) when woken for that
//     flight and on a ticker, diffs them against its last read and sends
//     the changes to that flight's clients, each through a bounded buffer:
//     a client that falls behind is dropped (it reconnects) rather than
//     holding the others up.
//
// A wake-up (Hub.Wake) says the sequencer gave positions, and to which
// flights' events: in process on SQLite, through PostgreSQL LISTEN/NOTIFY
// across replicas (Listen, Notify). A lost wake-up costs latency only: both
// readers also poll (Config.Poll). The database is the source of truth.
package stream

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/store"
)

// Store is what the hub reads.
type Store interface {
	EventList(ctx context.Context, p store.EventListParams) ([]events.Event, error)
	EventHead(ctx context.Context) (int64, error)
	SeatList(ctx context.Context, flightID int64) ([]flights.Seat, error)
}

// Config tunes the hub; zero fields take the defaults.
type Config struct {
	// Poll is how often the readers look without a wake-up (default 500ms:
	// a change reaches clients within a second even when every
	// notification is lost, and a hold lapsing by time shows as free).
	Poll time.Duration
	// SeatBuffer is how many seat changes a client may have unsent before
	// it is dropped as too slow (default 64).
	SeatBuffer int
	// Ring is how many recent events the hub keeps per subscribed
	// customer (default 512).
	Ring int
	// Page is the most events one read returns (default 500).
	Page int
}

func (c Config) withDefaults() Config {
	if c.Poll <= 0 {
		c.Poll = 500 * time.Millisecond
	}
	if c.SeatBuffer <= 0 {
		c.SeatBuffer = 64
	}
	if c.Ring <= 0 {
		c.Ring = 512
	}
	if c.Page <= 0 {
		c.Page = 500
	}
	return c
}

// ErrClosed is returned to a subscriber of a hub that is shutting down.
var ErrClosed = errors.New("stream: shutting down")

// readTimeout bounds one read of the hub's.
const readTimeout = 5 * time.Second

// Hub fans the database's changes out to this replica's stream clients.
// Build it with New, run it with Run, end every stream with Close.
type Hub struct {
	st      Store
	cfg     Config
	log     *slog.Logger
	metrics *metrics

	feedWake chan struct{}
	done     chan struct{}
	closing  sync.Once

	mu     sync.Mutex
	closed bool
	// The event reader: head is the highest position read (known only
	// while some customer subscribes; gen changes each time it is
	// forgotten, so a read begun before is discarded).
	head      int64
	headKnown bool
	gen       int
	feeds     map[int64]*feed
	watches   map[int64]*watch
	watchesWG sync.WaitGroup
}

// New builds a hub reading st; reg receives its metrics.
func New(st Store, cfg Config, log *slog.Logger, reg prometheus.Registerer) *Hub {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{st: st, cfg: cfg.withDefaults(), log: log, metrics: newMetrics(reg),
		feedWake: make(chan struct{}, 1), done: make(chan struct{}),
		feeds: map[int64]*feed{}, watches: map[int64]*watch{}}
}

// Wakeup says that the sequencer gave positions up to Pos, to events of
// Flights (All: of any flight, when the list was too long to send).
type Wakeup struct {
	Pos     int64   `json:"pos"`
	Flights []int64 `json:"flights,omitempty"`
	All     bool    `json:"all,omitempty"`
}

// WakeupOf is the wake-up for a sequencer pass.
func WakeupOf(s store.Sequenced) Wakeup { return Wakeup{Pos: s.LastPos, Flights: s.Flights} }

// Wake makes the readers look now: the event reader, and the seat readers
// of the flights w names. It never blocks.
func (h *Hub) Wake(w Wakeup) {
	poke(h.feedWake)
	h.mu.Lock()
	defer h.mu.Unlock()
	if w.All {
		for _, wt := range h.watches {
			poke(wt.wake)
		}
		return
	}
	for _, id := range w.Flights {
		if wt := h.watches[id]; wt != nil {
			poke(wt.wake)
		}
	}
}

// poke signals c without blocking: a signal already pending is enough.
func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Done is closed when the hub shuts down: every stream ends.
func (h *Hub) Done() <-chan struct{} { return h.done }

// Close ends every stream (their handlers return) and refuses new ones;
// the readers stop. It may be called more than once.
func (h *Hub) Close() {
	h.closing.Do(func() {
		h.mu.Lock()
		h.closed = true
		for _, wt := range h.watches {
			wt.stopLocked(h)
		}
		h.mu.Unlock()
		close(h.done)
	})
	h.watchesWG.Wait()
}

// Run reads the event feed for subscribed customers until ctx ends or the
// hub closes: at each wake-up and every Config.Poll.
func (h *Hub) Run(ctx context.Context) {
	tick := time.NewTicker(h.cfg.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.done:
			return
		case <-h.feedWake:
		case <-tick.C:
		}
		if err := h.readFeed(ctx); err != nil && ctx.Err() == nil {
			h.log.WarnContext(ctx, "stream: reading events failed; retrying at the next wake-up", "error", err.Error())
		}
	}
}
