package stream

import (
	"context"
	neturl "net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/testdb"
)

// A NOTIFY from one replica wakes another's seat reader long before its
// poll; when the LISTEN connection is killed, it reconnects and wakes
// every reader for what it may have missed.
func TestListenWakesAcrossReplicas(t *testing.T) {
	// With the pool's settings in the URL, as a deployment's DATABASE_URL
	// has them: the LISTEN connection must not send them to the server.
	u, err := neturl.Parse(testdb.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "7")
	q.Set("pool_min_conns", "1")
	u.RawQuery = q.Encode()
	url := u.String()
	st := &memStore{seats: newSeats()}
	h, _ := runHub(t, st, Config{Poll: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); Listen(ctx, url, h) }()
	t.Cleanup(func() { cancel(); <-done })
	listening := func(want float64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for testutil.ToFloat64(h.metrics.listening) != want {
			if time.Now().After(deadline) {
				t.Fatalf("reservd_stream_listener_up did not become %v", want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	listening(1)

	sub, err := h.SubscribeSeats(t.Context(), 7)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	wantRead := func(what string, notify func()) {
		t.Helper()
		before := st.reads()
		start := time.Now()
		notify()
		for st.reads() == before {
			if time.Since(start) > time.Second {
				t.Fatalf("%s: the flight's seats were not read within 1s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("%s: read after %s", what, time.Since(start))
	}
	wantRead("NOTIFY naming the flight", func() {
		if err := Notify(t.Context(), pool, Wakeup{Pos: 1, Flights: []int64{7}}); err != nil {
			t.Fatal(err)
		}
	})

	// A change seen on the wake-up reaches the client.
	st.mu.Lock()
	st.seats = []flights.Seat{{Label: "1A", Status: flights.Held}, st.seats[1]}
	st.mu.Unlock()
	if err := Notify(t.Context(), pool, Wakeup{Pos: 2, Flights: []int64{7}}); err != nil {
		t.Fatal(err)
	}
	select {
	case msg := <-sub.C:
		if string(msg) != `[{"seat":"1A","status":"held"}]` {
			t.Errorf("change = %s", msg)
		}
	case <-time.After(time.Second):
		t.Fatal("no change within 1s of the NOTIFY")
	}

	wantRead("the LISTEN connection killed and re-established", func() {
		var n int
		err := pool.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND query = 'LISTEN `+Channel+`'`).Scan(&n)
		if err != nil || n != 1 {
			t.Fatalf("terminate the listener: %d backends, %v", n, err)
		}
	})
	listening(1)
	wantRead("NOTIFY after the reconnection", func() {
		if err := Notify(t.Context(), pool, Wakeup{Pos: 3, Flights: []int64{7}}); err != nil {
			t.Fatal(err)
		}
	})
}
