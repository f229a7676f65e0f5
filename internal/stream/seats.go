package stream

import (
	"context"
	"encoding/json"
	"time"

	"github.com/reservd/reservd/internal/flights"
)

// SeatChange is one seat whose status changed, as a seats event lists it.
type SeatChange struct {
	Seat   string `json:"seat"`
	Status string `json:"status"`
}

// watch is the one reader of a watched flight's seats on this replica.
type watch struct {
	id    int64
	wake  chan struct{}
	stop  chan struct{}
	ready chan struct{} // closed after the first read
	err   error         // of the first read, set before ready closes
	// seats is the last read (replaced, never changed in place); subs
	// are the flight's clients. Both under Hub.mu.
	seats   []flights.Seat
	subs    map[*SeatSub]struct{}
	stopped bool
}

// SeatSub is one client of a flight's seat stream.
type SeatSub struct {
	h *Hub
	w *watch
	// C carries each change as the JSON of a []SeatChange, after Snapshot.
	C chan []byte
	// Snapshot is the flight's seats when the client joined.
	Snapshot []flights.Seat
	// dropped is closed when the hub drops the client for falling behind.
	dropped chan struct{}
	active  bool
}

// Dropped is closed when the client fell SeatBuffer changes behind and was
// dropped; its stream should end (the client reconnects).
func (s *SeatSub) Dropped() <-chan struct{} { return s.dropped }

// SubscribeSeats subscribes to flight id's seats; it returns
// flights.ErrNotFound for a flight that does not exist. Close the
// subscription when the stream ends.
func (h *Hub) SubscribeSeats(ctx context.Context, id int64) (*SeatSub, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	w := h.watches[id]
	if w == nil {
		w = &watch{id: id, wake: make(chan struct{}, 1), stop: make(chan struct{}), ready: make(chan struct{}),
			subs: map[*SeatSub]struct{}{}}
		h.watches[id] = w
		h.watchesWG.Add(1)
		go h.runWatch(w) // #nosec G118 -- the watch outlives the request that started it: it serves every client of the flight until the last leaves or the hub closes
	}
	s := &SeatSub{h: h, w: w, C: make(chan []byte, h.cfg.SeatBuffer), dropped: make(chan struct{})}
	w.subs[s] = struct{}{} // keeps the watch alive while its first read runs
	h.metrics.open.WithLabelValues(kindSeats).Inc()
	h.mu.Unlock()
	select {
	case <-w.ready:
	case <-ctx.Done():
		s.Close()
		return nil, ctx.Err()
	}
	if w.err != nil {
		s.Close()
		return nil, w.err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s.Snapshot, s.active = w.seats, true
	return s, nil
}

// Close unsubscribes; the flight's reader stops with its last client.
func (s *SeatSub) Close() {
	h := s.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := s.w.subs[s]; !ok {
		return
	}
	h.removeSeatSubLocked(s)
}

func (h *Hub) removeSeatSubLocked(s *SeatSub) {
	delete(s.w.subs, s)
	h.metrics.open.WithLabelValues(kindSeats).Dec()
	if len(s.w.subs) == 0 {
		s.w.stopLocked(h)
	}
}

// stopLocked stops the watch's reader; under Hub.mu.
func (w *watch) stopLocked(h *Hub) {
	if w.stopped {
		return
	}
	w.stopped = true
	close(w.stop)
	if h.watches[w.id] == w {
		delete(h.watches, w.id)
	}
}

// runWatch reads the flight's seats once, then at each wake-up and every
// Config.Poll until the watch stops, sending the changes.
func (h *Hub) runWatch(w *watch) {
	defer h.watchesWG.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-w.stop:
		case <-h.done:
		}
		cancel()
	}()
	seats, err := h.readSeats(ctx, w.id)
	h.mu.Lock()
	w.seats, w.err = seats, err
	if err != nil {
		w.stopLocked(h)
	}
	h.mu.Unlock()
	close(w.ready)
	if err != nil {
		return
	}
	tick := time.NewTicker(h.cfg.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-tick.C:
		}
		seats, err := h.readSeats(ctx, w.id)
		if err != nil {
			if ctx.Err() == nil {
				h.log.Warn("stream: reading seats failed; retrying", "flight_id", w.id, "error", err.Error())
			}
			continue
		}
		h.fanOutSeats(w, seats)
	}
}

func (h *Hub) readSeats(ctx context.Context, id int64) ([]flights.Seat, error) {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	return h.st.SeatList(ctx, id)
}

// fanOutSeats makes seats the flight's last read and sends what changed to
// its clients, dropping each client whose buffer is full.
func (h *Hub) fanOutSeats(w *watch, seats []flights.Seat) {
	h.mu.Lock()
	defer h.mu.Unlock()
	changes := diffSeats(w.seats, seats)
	w.seats = seats
	if len(changes) == 0 {
		return
	}
	msg, err := json.Marshal(changes)
	if err != nil {
		return // strings only: cannot fail
	}
	for s := range w.subs {
		if !s.active {
			continue
		}
		select {
		case s.C <- msg:
		default:
			h.metrics.dropped.WithLabelValues(kindSeats).Inc()
			close(s.dropped)
			h.removeSeatSubLocked(s)
		}
	}
}

// diffSeats lists the seats of next whose status differs from prev's.
func diffSeats(prev, next []flights.Seat) []SeatChange {
	was := make(map[string]flights.SeatStatus, len(prev))
	for _, s := range prev {
		was[s.Label] = s.Status
	}
	var out []SeatChange
	for _, s := range next {
		if st, ok := was[s.Label]; !ok || st != s.Status {
			out = append(out, SeatChange{Seat: s.Label, Status: string(s.Status)})
		}
	}
	return out
}
