package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// liveSeatStream says that GET /flights/{id}/seats/stream (issue 12) is
// served. Until it is, TestLiveSeatMapTwoBrowsers only checks that the
// endpoint is still missing (and fails once it exists, asking for this to be
// set to true); the page meanwhile polls the seat map, which
// TestSeatMapPollsWithoutStream proves.
const liveSeatStream = false

// pollEvery is the page's polling period without the stream (POLL_MS in
// internal/httpapi/ui/live.js).
const pollEvery = 3 * time.Second

// TestLiveSeatMapTwoBrowsers: two browsers on one flight's seat map; a hold
// made in one shows as held in the other within a second, and free again
// within a second of its release.
func TestLiveSeatMapTwoBrowsers(t *testing.T) {
	s := startServer(t, nil)
	requireSeatStream(t, s)
	a, b := newTab(t, "a"), newTab(t, "b")
	openFlight(a, s)
	openFlight(b, s)
	b.waitFor("b's seat map follows the stream", `document.getElementById('liveState').classList.contains('on')`, 5*time.Second)

	a.do("a holds 12C", chromedp.Click(chromedp.CSS(`#seatMap [data-seat="12C"]`)), chromedp.Click(chromedp.ID("holdSelected")))
	a.waitFor("a's hold is active", text("hStatus")+` === 'active'`, 5*time.Second)
	took := b.waitFor("b sees 12C held", seatStatus("12C", "held"), time.Second)
	t.Logf("b saw the hold %s after a's page showed it", took)
	b.screenshot("held")

	a.do("a releases the hold", chromedp.Click(chromedp.ID("releaseHold")))
	a.waitFor("a's hold is released", text("hStatus")+` === 'released'`, 5*time.Second)
	took = b.waitFor("b sees 12C free", seatStatus("12C", "available"), time.Second)
	t.Logf("b saw the release %s after a's page showed it", took)
	for _, tb := range []*tab{a, b} {
		if ex := tb.uncaught(); len(ex) > 0 {
			t.Errorf("%s: uncaught exceptions: %q", tb.name, ex)
		}
	}
}

// requireSeatStream asks for the seat stream as a browser would. With
// liveSeatStream false it skips the test while the endpoint answers 404,
// and fails once it answers anything else; with true it fails unless the
// endpoint answers 200 text/event-stream.
func requireSeatStream(t *testing.T, s *server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/flights/%d/seats/stream", s.url, s.flight), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET the seat stream: %v", err)
	}
	res.Body.Close()
	ct := res.Header.Get("Content-Type")
	switch {
	case !liveSeatStream && res.StatusCode == http.StatusNotFound:
		t.Skip("GET /flights/{id}/seats/stream is not served yet (issue 12); set liveSeatStream = true in internal/browsertest/live_test.go when it is")
	case !liveSeatStream:
		t.Fatalf("GET /flights/{id}/seats/stream answers %d %s now: set liveSeatStream = true in internal/browsertest/live_test.go so that this test runs", res.StatusCode, ct)
	case res.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/event-stream"):
		t.Fatalf("GET /flights/{id}/seats/stream = %d %q, want 200 text/event-stream", res.StatusCode, ct)
	}
}

// TestSeatMapPollsWithoutStream: with no seat stream (a server without the
// endpoint, or the stream blocked as here), the seat map says it refreshes
// itself and shows another customer's hold and release within a poll.
func TestSeatMapPollsWithoutStream(t *testing.T) {
	s := startServer(t, nil)
	tb := newTab(t, "b")
	tb.do("block the seat stream", chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := chromedp.Call(ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: []*network.BlockPattern{
			{URLPattern: "*://*:*/flights/*/seats/stream", Block: true},
		}})
		return err
	}))
	openFlight(tb, s)
	tb.waitFor("the page says it polls", text("liveState")+` === 'refreshed every 3 s'`, 5*time.Second)

	other := s.newKey("other", false)
	var hold struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	s.call(http.MethodPost, "/holds", other, map[string]any{"flight_id": s.flight, "seats": []string{"12D"}}, http.StatusCreated, &hold)
	tb.waitFor("another customer's hold shows", seatStatus("12D", "held"), pollEvery+time.Second)
	s.call(http.MethodDelete, "/holds/"+hold.Data.ID, other, nil, http.StatusOK, nil)
	tb.waitFor("its release shows", seatStatus("12D", "available"), pollEvery+time.Second)
	if ex := tb.uncaught(); len(ex) > 0 {
		t.Errorf("uncaught exceptions: %q", ex)
	}
}
