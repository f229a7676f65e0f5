package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSeatStream serves GET /flights/{id}/seats/stream as issue 12's
// contract says, in front of the service: `event: snapshot` with the body of
// GET /flights/{id}/seats (asked of the service itself), then an
// `event: seats` for each change the test sends; an empty change ends the
// stream, as a restarting replica would. It lets the page's stream client be
// tested before the service serves the stream itself.
type fakeSeatStream struct {
	changes chan string
	opened  atomic.Int32
	done    chan struct{}
}

func newFakeSeatStream() *fakeSeatStream {
	return &fakeSeatStream{changes: make(chan string), done: make(chan struct{})}
}

func (f *fakeSeatStream) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seats, ok := strings.CutSuffix(r.URL.Path, "/stream")
		if !ok || r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		snap := httptest.NewRecorder()
		inner := r.Clone(r.Context())
		inner.URL.Path = seats
		next.ServeHTTP(snap, inner)
		if snap.Code != http.StatusOK {
			http.Error(w, snap.Body.String(), snap.Code)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, "retry: 200\nevent: snapshot\ndata: %s\n\n", strings.TrimSpace(snap.Body.String()))
		http.NewResponseController(w).Flush()
		f.opened.Add(1)
		for {
			select {
			case ch := <-f.changes:
				if ch == "" {
					return
				}
				fmt.Fprintf(w, "event: seats\ndata: %s\n\n", ch)
				http.NewResponseController(w).Flush()
			case <-r.Context().Done():
				return
			case <-f.done:
				return
			}
		}
	})
}

// send hands one change to the open stream.
func (f *fakeSeatStream) send(t *testing.T, change string) {
	t.Helper()
	select {
	case f.changes <- change:
	case <-time.After(5 * time.Second):
		t.Fatalf("no seat stream is open to send %s", change)
	}
}

// TestSeatMapFollowsStreamContract: the page takes the seat map from the
// stream's snapshot, applies each `seats` change at once, says it is live,
// and after the stream drops takes the new snapshot of the reconnection.
func TestSeatMapFollowsStreamContract(t *testing.T) {
	f := newFakeSeatStream()
	s := startServer(t, nil, f.wrap)
	t.Cleanup(func() { close(f.done) }) // before the server closes: it waits for open streams
	tb := newTab(t, "a")
	openFlight(tb, s)
	tb.waitFor("the page says it is live", `document.getElementById('liveState').classList.contains('on') && `+text("liveState")+` === 'live'`, 5*time.Second)

	f.send(t, `[{"seat": "12E", "status": "held"}, {"seat": "12F", "status": "booked"}]`)
	// The page applies a change as it arrives; the bound leaves room for a
	// loaded machine (the service's own 1 s is TestLiveSeatMapTwoBrowsers').
	took := tb.waitFor("the changes show", seatStatus("12E", "held")+` && `+seatStatus("12F", "booked"), 2*time.Second)
	t.Logf("a change showed %s after it was sent", took)
	row := fmt.Sprintf(`document.querySelector('#flightRows tr[data-id="%d"] .seats-left').textContent`, s.flight)
	tb.waitFor("the flight row follows", fmt.Sprintf(`%s === '%d / %d'`, row, seatsTotal-2, seatsTotal), 2*time.Second)
	f.send(t, `[{"seat": "12E", "status": "available"}]`)
	tb.waitFor("a release shows", seatStatus("12E", "available"), 2*time.Second)

	// The stream drops: EventSource reconnects by itself, and the new
	// snapshot (the service's real seat map, where 12F is free) replaces
	// what the changes said.
	f.send(t, "")
	tb.waitFor("the reconnection's snapshot shows", seatStatus("12F", "available"), 5*time.Second)
	if n := f.opened.Load(); n < 2 {
		t.Errorf("the stream was opened %d times, want a reconnection", n)
	}
	tb.waitFor("live again", text("liveState")+` === 'live'`, 5*time.Second)
	if ex := tb.uncaught(); len(ex) > 0 {
		t.Errorf("uncaught exceptions: %q", ex)
	}
}
