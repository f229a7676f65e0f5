package httpapi_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/postgres"
	"github.com/reservd/reservd/internal/store/sqlite"
)

// sseEvent is one server-sent event, or a comment line (comment set).
type sseEvent struct {
	id, event, data string
	comment         string
}

// sseStream is an open server-sent event stream, parsed as it arrives.
type sseStream struct {
	t      testing.TB
	res    *http.Response
	events chan sseEvent
	ended  chan error // receives once, when the stream ends
}

// openStream GETs path and, on 200, parses its events in the background;
// any other status is returned as a response.
func (a *api) openStream(path, key string, headers ...string) (*sseStream, response) {
	a.t.Helper()
	req, err := http.NewRequestWithContext(a.t.Context(), http.MethodGet, a.url+path, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("GET %s: %v", path, err)
	}
	if res.StatusCode != http.StatusOK {
		defer res.Body.Close()
		var b strings.Builder
		bufio.NewReader(res.Body).WriteTo(&b)
		return nil, response{status: res.StatusCode, header: res.Header, body: []byte(b.String())}
	}
	s := &sseStream{t: a.t, res: res, events: make(chan sseEvent, 4096), ended: make(chan error, 1)}
	a.t.Cleanup(s.close)
	go s.read()
	return s, response{status: res.StatusCode, header: res.Header}
}

func (s *sseStream) close() { s.res.Body.Close() }

func (s *sseStream) read() {
	sc := bufio.NewScanner(s.res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.event != "" || ev.data != "" {
				s.events <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, ":"):
			s.events <- sseEvent{comment: strings.TrimSpace(line[1:])}
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		}
	}
	s.ended <- sc.Err()
	close(s.events)
}

// next returns the next event (comments skipped), failing t after wait.
func (s *sseStream) next(wait time.Duration) sseEvent {
	s.t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.t.Fatalf("stream ended while waiting for an event")
			}
			if ev.comment == "" {
				return ev
			}
		case <-deadline:
			s.t.Fatalf("no event within %s", wait)
		}
	}
}

// keyWithID creates a customer key and returns it with its id.
func (a *api) keyWithID(name string) (string, int64) {
	a.t.Helper()
	key, digest := apikey.Generate()
	id, err := a.store.APIKeyCreate(a.t.Context(), store.APIKeyCreateParams{Name: name, Digest: digest})
	if err != nil {
		a.t.Fatalf("create key: %v", err)
	}
	return key, id
}

// insertEvents writes n events of keyID straight into the outbox, unsequenced,
// and returns their ids in write order: a stand-in, for these tests, for
// the changes that write events (the outbox branch).
func insertEvents(t testing.TB, st store.Store, keyID int64, n int) []string {
	t.Helper()
	return insertFlightEvents(t, st, keyID, 0, n)
}

// insertFlightEvents is insertEvents for events about flight's seats (0:
// none).
func insertFlightEvents(t testing.TB, st store.Store, keyID, flight int64, n int) []string {
	t.Helper()
	var flightArg any
	if flight != 0 {
		flightArg = flight
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("evt_t%d_%d_%06d", time.Now().UnixNano(), keyID, i)
	}
	data := `{"id":"hld_test","status":"active"}`
	switch s := st.(type) {
	case *postgres.Store:
		_, err := s.Pool().Exec(t.Context(), `INSERT INTO events (id, api_key_id, type, data, flight_id)
			SELECT id, $2, 'hold.created', $3::json, $4::bigint FROM unnest($1::text[]) WITH ORDINALITY AS u(id, n) ORDER BY n`, ids, keyID, data, flightArg)
		if err != nil {
			t.Fatalf("insert events: %v", err)
		}
	case *sqlite.Store:
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		db, err := sql.Open("sqlite", "file:"+s.Path()+"?"+q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		tx, err := db.BeginTx(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if _, err := tx.Exec(`INSERT INTO events (id, api_key_id, type, data, flight_id) VALUES (?, ?, 'hold.created', ?, ?)`, id, keyID, data, flightArg); err != nil {
				t.Fatalf("insert events: %v", err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("insertEvents: unknown store %T", st)
	}
	return ids
}

// sequence runs the sequencer until every event written has a position.
func sequence(t testing.TB, st store.Store) {
	t.Helper()
	for {
		s, err := st.EventSequence(t.Context(), 1000)
		if err != nil {
			t.Fatalf("sequence events: %v", err)
		}
		if s.N == 0 && !s.Pending {
			return
		}
		if s.N == 0 { // an older transaction elsewhere on the server is still open
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// runJobs runs the service's background jobs (the sequencer among them)
// until the test ends.
func (a *api) runJobs(t testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.app.RunJobs(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}
