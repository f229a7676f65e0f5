package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/app"
	"github.com/reservd/reservd/internal/config"
	"github.com/reservd/reservd/internal/payment"
	"github.com/reservd/reservd/internal/store/postgres"
	"github.com/reservd/reservd/internal/testdb"
)

// changeWithin waits up to wait for a seats event listing seat with status,
// skipping other changes.
func changeWithin(t *testing.T, s *sseStream, seat, status string, wait time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		left := wait - time.Since(start)
		if left <= 0 {
			t.Fatalf("seat %s did not turn %s within %s", seat, status, wait)
		}
		ev := s.next(left)
		if ev.event != "seats" {
			t.Fatalf("event %q, want seats", ev.event)
		}
		var changes []struct{ Seat, Status string }
		if err := json.Unmarshal([]byte(ev.data), &changes); err != nil {
			t.Fatalf("seats data %q: %v", ev.data, err)
		}
		for _, c := range changes {
			if c.Seat == seat && c.Status == status {
				return time.Since(start)
			}
		}
	}
}

func TestSeatStream(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, a *api) {
		fl := a.flight(t)
		path := fmt.Sprintf("/flights/%d/seats", fl)
		s, r := a.openStream(path+"/stream", "")
		if s == nil {
			t.Fatalf("GET %s/stream = %d %s", path, r.status, r.body)
		}
		for h, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
			if got := r.header.Get(h); got != want {
				t.Errorf("%s = %q, want %q", h, got, want)
			}
		}
		snap := s.next(5 * time.Second)
		if body := a.get(path).body; snap.event != "snapshot" || snap.data != strings.TrimSuffix(string(body), "\n") {
			t.Fatalf("first event %q %s, want snapshot %s", snap.event, snap.data, body)
		}

		hold := data(t, a.post("/holds", a.client, idem(), fmt.Sprintf(`{"flight_id": %d, "seats": ["10A", "10B"]}`, fl)), 201)
		took := changeWithin(t, s, "10B", "held", time.Second)
		t.Logf("hold seen after %s", took)
		if r := a.do("DELETE", "/holds/"+hold["id"].(string), a.client, nil); r.status != 200 {
			t.Fatalf("release = %d %s", r.status, r.body)
		}
		changeWithin(t, s, "10A", "available", time.Second)

		wantError(t, a.get("/flights/999999/seats/stream"), 404, "flight_not_found")
	})
}

// A hold lapsing by time shows as free without any write.
func TestSeatStreamShowsExpiry(t *testing.T) {
	t.Parallel()
	for name, newStore := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := newAPI(t, newStore, func(c *config.Config) { c.HoldTTL = time.Second })
			fl := a.flight(t)
			s, r := a.openStream(fmt.Sprintf("/flights/%d/seats/stream", fl), "")
			if s == nil {
				t.Fatalf("stream = %d %s", r.status, r.body)
			}
			s.next(5 * time.Second) // snapshot
			data(t, a.post("/holds", a.client, idem(), fmt.Sprintf(`{"flight_id": %d, "seats": ["11C"]}`, fl)), 201)
			changeWithin(t, s, "11C", "held", time.Second)
			changeWithin(t, s, "11C", "available", 2*time.Second)
		})
	}
}

func TestEventStreamResume(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, a *api) {
		a.runJobs(t) // the sequencer passes again for events whose turn comes later
		key, keyID := a.keyWithID("carol")
		_, otherID := a.keyWithID("dave")
		old := insertEvents(t, a.store, keyID, 3)
		sequence(t, a.store)

		// Without a cursor: from now on.
		s, r := a.openStream("/events/stream", key)
		if s == nil {
			t.Fatalf("GET /events/stream = %d %s", r.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); ct != "text/event-stream" {
			t.Errorf("Content-Type = %q", ct)
		}
		first := insertEvents(t, a.store, keyID, 1)
		sequence(t, a.store)
		if ev := s.next(5 * time.Second); ev.id != first[0] || ev.event != "hold.created" {
			t.Fatalf("first event %+v, want %s (events before the stream opened are not sent)", ev, first[0])
		}

		// A burst of 1,000, sequenced as they come, interleaved with another
		// customer's; the client stops reading after 300 and resumes.
		var want []string
		burst := make(chan struct{})
		go func() {
			defer close(burst)
			for range 10 {
				want = append(want, insertEvents(t, a.store, keyID, 100)...)
				insertEvents(t, a.store, otherID, 10)
				sequence(t, a.store)
			}
		}()
		var got []string
		for len(got) < 300 {
			ev := s.next(10 * time.Second)
			var body struct {
				ID, Type string
				Data     json.RawMessage
			}
			if err := json.Unmarshal([]byte(ev.data), &body); err != nil || body.ID != ev.id || body.Type != ev.event || len(body.Data) == 0 {
				t.Fatalf("event %+v: data is not its Event (%v)", ev, err)
			}
			got = append(got, ev.id)
		}
		s.close()
		<-burst
		s2, r := a.openStream("/events/stream", key, "Last-Event-ID", got[len(got)-1])
		if s2 == nil {
			t.Fatalf("resume = %d %s", r.status, r.body)
		}
		for len(got) < len(want) {
			got = append(got, s2.next(10*time.Second).id)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("resumed stream: %d events, want the %d written in order, none lost or repeated", len(got), len(want))
		}
		// ?after= resumes strictly after its event too.
		s3, r := a.openStream("/events/stream?after="+old[0], key)
		if s3 == nil {
			t.Fatalf("after = %d %s", r.status, r.body)
		}
		for _, id := range append(old[1:], first[0], want[0]) {
			if ev := s3.next(5 * time.Second); ev.id != id {
				t.Fatalf("after %s: got %s, want %s", old[0], ev.id, id)
			}
		}

		wantError(t, a.do("GET", "/events/stream", key, nil, "Last-Event-ID", "evt_nope"), 422, "invalid_request")
		wantError(t, a.do("GET", "/events/stream", "", nil), 401, "unauthorized")
	})
}

func TestStreamHeartbeat(t *testing.T) {
	t.Parallel()
	for name, newStore := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := newAPI(t, newStore, func(c *config.Config) { c.Streams.Heartbeat = 50 * time.Millisecond })
			fl := a.flight(t)
			for _, st := range []struct{ path, key string }{{"/events/stream", a.client}, {fmt.Sprintf("/flights/%d/seats/stream", fl), ""}} {
				s, r := a.openStream(st.path, st.key)
				if s == nil {
					t.Fatalf("%s = %d %s", st.path, r.status, r.body)
				}
				deadline := time.After(2 * time.Second)
				for beats := 0; beats < 2; {
					select {
					case ev := <-s.events:
						if ev.comment == "heartbeat" {
							beats++
						}
					case <-deadline:
						t.Fatalf("%s: no two heartbeats within 2s", st.path)
					}
				}
			}
		})
	}
}

func TestStreamCaps(t *testing.T) {
	t.Parallel()
	a := newAPI(t, engines["sqlite"], func(c *config.Config) {
		c.Streams.MaxPerKey, c.Streams.MaxTotal = 2, 3
		c.MaxInFlight, c.MaxInFlightPerKey = 2, 1
	})
	fl := a.flight(t)
	seats := fmt.Sprintf("/flights/%d/seats/stream", fl)
	for range 2 {
		if s, r := a.openStream("/events/stream", a.client); s == nil {
			t.Fatalf("stream = %d %s", r.status, r.body)
		}
	}
	r := a.do("GET", "/events/stream", a.client, nil)
	wantError(t, r, 429, "rate_limited")
	if r.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// Streams are not requests in flight: the key's other requests go on.
	if r := a.get(fmt.Sprintf("/flights/%d", fl)); r.status != 200 {
		t.Fatalf("GET /flights/%d with streams open = %d", fl, r.status)
	}
	if r := a.do("GET", "/bookings", a.client, nil); r.status != 200 {
		t.Fatalf("GET /bookings with the key's streams open = %d %s", r.status, r.body)
	}
	ss, r := a.openStream(seats, "")
	if ss == nil {
		t.Fatalf("seat stream = %d %s", r.status, r.body)
	}
	ss.next(5 * time.Second) // the snapshot, counted as sent
	r = a.get(seats)
	wantError(t, r, 503, "overloaded")
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	metrics := string(a.get("/metrics").body)
	for _, want := range []string{`reservd_streams_open{kind="events"} 2`, `reservd_streams_open{kind="seats"} 1`,
		`reservd_stream_events_sent_total{kind="seats"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// Streams outlive the server's read and write timeouts, and end at once
// when it shuts down.
func TestStreamsOutliveTimeoutsAndEndOnShutdown(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	gw := payment.NewTestGateway()
	ap, err := app.New(t.Context(), cfg, app.Env{}, app.Overrides{Store: engines["sqlite"](t), Gateway: gw, Providers: noProviders})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ap.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: ap.Handler(), ReadTimeout: time.Second, WriteTimeout: time.Second}
	srv.RegisterOnShutdown(ap.CloseStreams)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	a := &api{t: t, url: "http://" + ln.Addr().String(), store: ap.Store, app: ap}
	a.admin, a.client = a.key("ops", true), a.key("alice", false)
	fl := a.flight(t)

	seats, r := a.openStream(fmt.Sprintf("/flights/%d/seats/stream", fl), "")
	if seats == nil {
		t.Fatalf("seat stream = %d %s", r.status, r.body)
	}
	feed, r := a.openStream("/events/stream", a.client)
	if feed == nil {
		t.Fatalf("event stream = %d %s", r.status, r.body)
	}
	seats.next(5 * time.Second)
	time.Sleep(2500 * time.Millisecond) // past both timeouts, twice over
	data(t, a.post("/holds", a.client, idem(), fmt.Sprintf(`{"flight_id": %d, "seats": ["12F"]}`, fl)), 201)
	changeWithin(t, seats, "12F", "held", time.Second)

	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("shutdown took %s with streams open", took)
	}
	for _, s := range []*sseStream{seats, feed} {
		select {
		case <-s.ended:
		case <-time.After(2 * time.Second):
			t.Fatal("a stream did not end with the server")
		}
	}
}

// A seat-stream client on replica A sees a hold made on replica B (two
// app instances on one PostgreSQL database) within a second, and the seat
// turning free after its release.
func TestSeatStreamAcrossReplicas(t *testing.T) {
	t.Parallel()
	url := testdb.PostgresURL(t)
	replica := func() *api {
		st, err := postgres.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		r := start(t, testConfig(t), app.Overrides{Store: st, Gateway: payment.NewTestGateway(), Providers: noProviders}, nil)
		r.runJobs(t)
		return r
	}
	a, b := replica(), replica()
	a.admin, a.client = a.key("ops", true), a.key("alice", false)
	b.admin, b.client = a.admin, a.client
	fl := a.flight(t)

	s, r := a.openStream(fmt.Sprintf("/flights/%d/seats/stream", fl), "")
	if s == nil {
		t.Fatalf("stream = %d %s", r.status, r.body)
	}
	s.next(5 * time.Second)
	for i := range 3 {
		seat := fmt.Sprintf("1%c", "ACD"[i])
		hold := data(t, b.post("/holds", b.client, idem(), fmt.Sprintf(`{"flight_id": %d, "seats": [%q]}`, fl, seat)), 201)
		took := changeWithin(t, s, seat, "held", time.Second)
		if r := b.do("DELETE", "/holds/"+hold["id"].(string), b.client, nil); r.status != 200 {
			t.Fatalf("release on B = %d %s", r.status, r.body)
		}
		freed := changeWithin(t, s, seat, "available", time.Second)
		t.Logf("hold on B seen on A after %s, release after %s", took, freed)
	}
}

// Replica B's sequencer pass wakes replica A's streams through NOTIFY: A
// polls only once an hour and runs no sequencer, so whatever A's clients
// get within a second came by the wake-up.
func TestStreamsWokenAcrossReplicas(t *testing.T) {
	t.Parallel()
	url := testdb.PostgresURL(t)
	replica := func(poll time.Duration, jobs bool) *api {
		st, err := postgres.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		cfg := testConfig(t)
		cfg.Streams.Poll = poll
		r := start(t, cfg, app.Overrides{Store: st, Gateway: payment.NewTestGateway(), Providers: noProviders}, nil)
		if jobs {
			r.runJobs(t)
		}
		return r
	}
	a, b := replica(time.Hour, false), replica(500*time.Millisecond, true)
	a.admin = a.key("ops", true)
	key, _ := a.keyWithID("erin")
	b.client = key
	fl := a.flight(t)
	seats, r := a.openStream(fmt.Sprintf("/flights/%d/seats/stream", fl), "")
	if seats == nil {
		t.Fatalf("seat stream = %d %s", r.status, r.body)
	}
	seats.next(5 * time.Second)
	feed, r := a.openStream("/events/stream", key)
	if feed == nil {
		t.Fatalf("event stream = %d %s", r.status, r.body)
	}
	// A's LISTEN connection is up (reservd_stream_listener_up), so that
	// B's wake-up reaches it.
	for deadline := time.Now().Add(10 * time.Second); !bytes.Contains(a.get("/metrics").body, []byte("\nreservd_stream_listener_up 1\n")); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("A's LISTEN connection not up after 10s")
		}
	}

	// The hold writes its hold.created event, which names the flight.
	hold := data(t, b.post("/holds", key, idem(), fmt.Sprintf(`{"flight_id": %d, "seats": ["11A"]}`, fl)), 201)
	took := changeWithin(t, seats, "11A", "held", time.Second)
	// The seat is seen as soon as the hold commits; its event waits for B's
	// sequencer to give it a position, which a transaction open elsewhere on
	// the server (the rest of the suite) can delay past a second. A polls
	// hourly, so an event that arrives at all came by a wake-up.
	if ev := feed.next(10 * time.Second); ev.event != "hold.created" || !strings.Contains(ev.data, `"id":"`+hold["id"].(string)+`"`) {
		t.Fatalf("event stream on A got %+v, want hold.created of %s", ev, hold["id"])
	}
	t.Logf("B's change seen on A's seat stream after %s", took)
}
