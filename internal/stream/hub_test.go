package stream

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/store"
)

// memStore is an in-memory Store: a sequenced feed, and seats that a test
// changes (or that flip on every read).
type memStore struct {
	mu        sync.Mutex
	evs       []events.Event
	seats     []flights.Seat
	flip      bool // each read turns every seat's status over
	seatReads int
}

func (m *memStore) add(keyID int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	pos := int64(len(m.evs) + 1)
	m.evs = append(m.evs, events.Event{ID: fmt.Sprintf("evt_%d", pos), KeyID: keyID, Type: events.HoldCreated, Pos: pos, Data: []byte(`{}`)})
}

func (m *memStore) EventList(_ context.Context, p store.EventListParams) ([]events.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []events.Event
	for _, e := range m.evs {
		if e.Pos > p.AfterPos && (p.KeyID == 0 || e.KeyID == p.KeyID) && len(out) < p.Limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *memStore) EventHead(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.evs)), nil
}

func (m *memStore) SeatList(_ context.Context, id int64) ([]flights.Seat, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id != 7 {
		return nil, flights.ErrNotFound
	}
	m.seatReads++
	if m.flip {
		next := slices.Clone(m.seats)
		for i := range next {
			if next[i].Status == flights.Available {
				next[i].Status = flights.Held
			} else {
				next[i].Status = flights.Available
			}
		}
		m.seats = next
	}
	return m.seats, nil
}

func (m *memStore) reads() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seatReads
}

func newSeats() []flights.Seat {
	return []flights.Seat{{Label: "1A", Status: flights.Available}, {Label: "1B", Status: flights.Available}}
}

func runHub(t *testing.T, st Store, cfg Config) (*Hub, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	h := New(st, cfg, nil, reg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.Run(ctx) }()
	t.Cleanup(func() { h.Close(); cancel(); <-done })
	return h, reg
}

// A client that does not take its changes is dropped once its buffer is
// full; the flight's other clients get every change, undelayed.
func TestSlowSeatClientDropped(t *testing.T) {
	st := &memStore{seats: newSeats(), flip: true}
	h, _ := runHub(t, st, Config{Poll: 2 * time.Millisecond, SeatBuffer: 4})
	slow, err := h.SubscribeSeats(t.Context(), 7)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fast, err := h.SubscribeSeats(t.Context(), 7)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	got := 0
	deadline := time.After(5 * time.Second)
	for dropped := false; !dropped || got < 50; {
		select {
		case <-fast.C:
			got++
		case <-slow.Dropped():
			dropped = true
			slow = &SeatSub{dropped: make(chan struct{})} // seen; stop selecting on it
		case <-fast.Dropped():
			t.Fatalf("the client that keeps up was dropped after %d changes", got)
		case <-deadline:
			t.Fatalf("after 5s: slow client dropped %v, fast client got %d changes", dropped, got)
		}
	}
	if v := testutil.ToFloat64(h.metrics.dropped.WithLabelValues(kindSeats)); v != 1 {
		t.Errorf("reservd_stream_clients_dropped_total{kind=seats} = %v, want 1", v)
	}
	if v := testutil.ToFloat64(h.metrics.open.WithLabelValues(kindSeats)); v != 1 {
		t.Errorf("reservd_streams_open{kind=seats} = %v, want 1 (the fast client)", v)
	}
}

// A client behind the hub's ring reads its backlog from the store and
// joins the ring without losing or repeating an event; other customers'
// events never reach it.
func TestEventSubCatchesUpPastRing(t *testing.T) {
	st := &memStore{}
	for i := range 20 {
		st.add(int64(1 + i%2))
	}
	h, _ := runHub(t, st, Config{Poll: time.Millisecond, Ring: 4, Page: 3})
	sub, err := h.SubscribeEvents(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if sub.Start != 20 {
		t.Fatalf("Start = %d, want the head 20", sub.Start)
	}
	for i := range 200 {
		st.add(int64(1 + i%3))
	}
	h.Wake(Wakeup{})
	var want []string
	for _, e := range st.evs {
		if e.KeyID == 1 && e.Pos > 4 {
			want = append(want, e.ID)
		}
	}
	var got []string
	cursor := int64(4) // a resume from long ago
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < len(want) && time.Now().Before(deadline) {
		evs, next, err := sub.Next(t.Context(), cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			got = append(got, e.ID)
		}
		cursor = next
		time.Sleep(time.Millisecond) // slower than the feed: falls off the ring
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %d events %v…, want %d", len(got), got[:min(5, len(got))], len(want))
	}
}

func TestPayload(t *testing.T) {
	w := Wakeup{Pos: 9, Flights: []int64{1, 2}}
	if p := Payload(w); p != `{"pos":9,"flights":[1,2]}` {
		t.Errorf("Payload = %s", p)
	}
	if got := ParsePayload(Payload(w)); got.Pos != 9 || !slices.Equal(got.Flights, w.Flights) || got.All {
		t.Errorf("round trip = %+v", got)
	}
	many := Wakeup{Pos: 1}
	for i := range 2000 {
		many.Flights = append(many.Flights, int64(1_000_000+i))
	}
	p := Payload(many)
	if len(p) >= 8000 || !ParsePayload(p).All {
		t.Errorf("a wake-up too long to send: %d bytes, %s…; want under 8000 and all", len(p), p[:min(40, len(p))])
	}
	if !ParsePayload("garbage").All {
		t.Error("an unreadable payload must wake every reader")
	}
	if strings.Contains(Payload(Wakeup{}), "flights") {
		t.Error("empty flights are left out")
	}
}
