package app_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/app"
	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/store"
)

// TestOnSequenced: the service's jobs sequence a committed event within a
// few EVENT_SEQUENCE_INTERVALs, the OnSequenced hook hears of the pass
// (with the hold's flight) and the feed then lists the event.
func TestOnSequenced(t *testing.T) {
	t.Parallel()
	cfg := embedded(t, t.TempDir())
	a, err := app.New(t.Context(), cfg, app.Env{}, app.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var (
		mu   sync.Mutex
		told []store.Sequenced
	)
	a.OnSequenced(func(_ context.Context, sq store.Sequenced) {
		mu.Lock()
		told = append(told, sq)
		mu.Unlock()
	})
	ctx, stop := context.WithCancel(t.Context())
	jobsDone := make(chan struct{})
	go func() { defer close(jobsDone); a.RunJobs(ctx) }()
	defer func() { stop(); <-jobsDone }()

	_, digest := apikey.Generate()
	key, err := a.Store.APIKeyCreate(t.Context(), store.APIKeyCreateParams{Name: "events", Digest: digest})
	if err != nil {
		t.Fatal(err)
	}
	seats, err := a.Store.SeatList(t.Context(), 1)
	if err != nil || len(seats) == 0 {
		t.Fatalf("demo seats: %v, %v", seats, err)
	}
	h, err := a.Store.HoldCreate(t.Context(), store.HoldCreateParams{ID: holds.NewID(), KeyID: key, TTL: time.Minute, MaxLifetime: time.Hour,
		Request: holds.Request{FlightID: 1, Seats: []string{seats[0].Label}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	committed := time.Now()
	var heard store.Sequenced
	for deadline := time.Now().Add(10 * time.Second); heard.N == 0 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		if len(told) > 0 {
			heard = told[0]
		}
		mu.Unlock()
	}
	if heard.N != 1 || heard.LastPos == 0 || !slices.Equal(heard.Flights, []int64{1}) {
		t.Fatalf("hook heard %+v, want the hold's event on flight 1", heard)
	}
	t.Logf("sequenced %v after the commit (EVENT_SEQUENCE_INTERVAL %v)", time.Since(committed), cfg.EventSequenceInterval)
	evs, err := a.Store.EventList(t.Context(), store.EventListParams{KeyID: key, Limit: 10})
	if err != nil || len(evs) != 1 || evs[0].Type != events.HoldCreated || evs[0].Pos != heard.LastPos || !strings.Contains(string(evs[0].Data), h.ID) {
		t.Fatalf("feed = %+v, %v", evs, err)
	}
}
