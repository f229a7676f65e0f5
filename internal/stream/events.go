package stream

import (
	"context"

	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/store"
)

// feed is one subscribed customer's recent events: every event of the
// customer with a position in (floor, Hub.head], oldest first.
type feed struct {
	keyID  int64
	floor  int64
	events []events.Event
	subs   map[*EventSub]struct{}
}

// EventSub is one client of a customer's event stream.
type EventSub struct {
	h    *Hub
	f    *feed
	wake chan struct{}
	// Start is the position a client that resumes from nothing starts
	// after: the newest the hub has read when it subscribed.
	Start int64
}

// SubscribeEvents subscribes to keyID's events. Close the subscription
// when the stream ends.
func (h *Hub) SubscribeEvents(ctx context.Context, keyID int64) (*EventSub, error) {
	h.mu.Lock()
	known, closed := h.headKnown, h.closed
	h.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	var head int64
	if !known {
		var err error
		if head, err = h.st.EventHead(ctx); err != nil {
			return nil, err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if !h.headKnown {
		h.head, h.headKnown = head, true
	}
	f := h.feeds[keyID]
	if f == nil {
		f = &feed{keyID: keyID, floor: h.head, subs: map[*EventSub]struct{}{}}
		h.feeds[keyID] = f
	}
	s := &EventSub{h: h, f: f, wake: make(chan struct{}, 1), Start: h.head}
	f.subs[s] = struct{}{}
	h.metrics.open.WithLabelValues(kindEvents).Inc()
	return s, nil
}

// Wake signals that the customer may have new events.
func (s *EventSub) Wake() <-chan struct{} { return s.wake }

// Close unsubscribes.
func (s *EventSub) Close() {
	h := s.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := s.f.subs[s]; !ok {
		return
	}
	delete(s.f.subs, s)
	h.metrics.open.WithLabelValues(kindEvents).Dec()
	if len(s.f.subs) == 0 {
		delete(h.feeds, s.f.keyID)
	}
	if len(h.feeds) == 0 {
		// Nobody follows the feed: forget where it was rather than read
		// what nobody wants; the next subscriber asks the store.
		h.headKnown = false
		h.gen++
	}
}

// Next returns the customer's events after cursor, oldest first (at most
// Config.Page), and the cursor to ask with next: from the hub's ring when
// the cursor is within it, else from the store. It returns none when the
// client is up to date.
func (s *EventSub) Next(ctx context.Context, cursor int64) ([]events.Event, int64, error) {
	h := s.h
	h.mu.Lock()
	floor := s.f.floor
	if cursor >= floor {
		var out []events.Event
		for _, e := range s.f.events {
			if e.Pos > cursor {
				out = append(out, e)
				if len(out) == h.cfg.Page {
					break
				}
			}
		}
		h.mu.Unlock()
		if len(out) > 0 {
			cursor = out[len(out)-1].Pos
		}
		return out, cursor, nil
	}
	h.mu.Unlock()
	// Behind the ring: every event of the customer up to floor is
	// sequenced already, so a short page from the store means there is
	// none between its last and floor either.
	evs, err := h.st.EventList(ctx, store.EventListParams{KeyID: s.f.keyID, AfterPos: cursor, Limit: h.cfg.Page})
	if err != nil {
		return nil, cursor, err
	}
	if len(evs) > 0 {
		cursor = evs[len(evs)-1].Pos
	}
	if len(evs) < h.cfg.Page {
		cursor = max(cursor, floor)
	}
	return evs, cursor, nil
}

// readFeed reads the events sequenced since the last read, for every
// subscribed customer at once, and wakes those customers' clients.
func (h *Hub) readFeed(ctx context.Context) error {
	for {
		h.mu.Lock()
		if !h.headKnown {
			h.mu.Unlock()
			return nil
		}
		after, gen := h.head, h.gen
		h.mu.Unlock()
		rctx, cancel := context.WithTimeout(ctx, readTimeout)
		evs, err := h.st.EventList(rctx, store.EventListParams{AfterPos: after, Limit: h.cfg.Page})
		cancel()
		if err != nil {
			return err
		}
		var woken []*feed
		h.mu.Lock()
		if !h.headKnown || h.gen != gen || h.head != after {
			h.mu.Unlock()
			continue
		}
		for _, e := range evs {
			if f := h.feeds[e.KeyID]; f != nil {
				f.events = append(f.events, e)
				// Trimmed in halves, so that a burst does not copy the
				// ring per event.
				if len(f.events) > 2*h.cfg.Ring {
					n := len(f.events) - h.cfg.Ring
					f.floor = f.events[n-1].Pos
					f.events = append(f.events[:0:0], f.events[n:]...)
				}
				if len(woken) == 0 || woken[len(woken)-1] != f {
					woken = append(woken, f)
				}
			}
			h.head = e.Pos
		}
		for _, f := range woken {
			for s := range f.subs {
				poke(s.wake)
			}
		}
		h.mu.Unlock()
		if len(evs) < h.cfg.Page {
			return nil
		}
	}
}
