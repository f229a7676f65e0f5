package browsertest

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// seat is the JavaScript of the seat button of label on the open seat map.
func seat(label string) string {
	return fmt.Sprintf(`document.querySelector('#seatMap [data-seat=%q]')`, label)
}

// seatStatus is a predicate: the seat map shows label with status.
func seatStatus(label, status string) string {
	return fmt.Sprintf(`(%s || {}).dataset?.status === %q`, seat(label), status)
}

// text is the trimmed text of the element with id.
func text(id string) string {
	return fmt.Sprintf(`document.getElementById(%q).textContent.trim()`, id)
}

// openFlight opens the seat map of the server's flight, with the key saved.
func openFlight(tb *tab, s *server) {
	tb.t.Helper()
	tb.open(s, fmt.Sprintf("/#flight=%d", s.flight), s.key)
	tb.waitFor("the seat map shows", seatStatus("12A", "available"), 10*time.Second)
}

// TestHoldCountdownFlipsToExpired: the current hold counts down from its
// expires_at and reads expired at zero, and its seats turn free again.
func TestHoldCountdownFlipsToExpired(t *testing.T) {
	s := startServer(t, map[string]string{"HOLD_TTL": "3s", "SWEEP_INTERVAL": "1s"})
	tb := newTab(t, "a")
	openFlight(tb, s)
	// The page's clock notes when the countdown first reads expired.
	eval[chromedp.Void](tb, `new MutationObserver(() => { if (!window.flippedAt && document.getElementById('hCountdown').textContent === 'expired') window.flippedAt = Date.now(); })
		.observe(document.getElementById('hCountdown'), { childList: true, characterData: true, subtree: true })`)
	tb.do("hold 12A and 12B", chromedp.Click(chromedp.CSS(`#seatMap [data-seat="12A"]`)), chromedp.Click(chromedp.CSS(`#seatMap [data-seat="12B"]`)),
		chromedp.Click(chromedp.ID("holdSelected")))
	tb.waitFor("the hold is active", text("hStatus")+` === 'active'`, 5*time.Second)
	if first := eval[string](tb, text("hCountdown")); !regexp.MustCompile(`^0:0[1-3] left$`).MatchString(first) {
		t.Errorf("a fresh 3 s hold's countdown reads %q, want 0:03 left or a little less", first)
	}
	tb.waitFor("the countdown reaches 0:01", text("hCountdown")+` === '0:01 left'`, 4*time.Second)
	tb.screenshot("counting")
	tb.waitFor("the hold flips to expired", text("hCountdown")+` === 'expired' && `+text("hStatus")+` === 'expired'`, 4*time.Second)
	if late := eval[float64](tb, `window.flippedAt - Date.parse(state.hold.expires_at)`); late < 0 || late > 1000 {
		t.Errorf("the countdown read expired %.0f ms after the hold's expires_at, want at zero", late)
	}
	if eval[bool](tb, `!document.getElementById('bookBtn').disabled`) {
		t.Error("the Book button is enabled on an expired hold")
	}
	tb.waitFor("the expired hold's seats are free again", seatStatus("12A", "available")+` && `+seatStatus("12B", "available"), 8*time.Second)
	if ex := tb.uncaught(); len(ex) > 0 {
		t.Errorf("uncaught exceptions: %q", ex)
	}
}

// TestSeatPricesAndLiveFlightRow: every seat shows its price and price tier,
// the legend lists the tiers, best available offers only the flight's
// cabins, and the flight's row follows holds, bookings and cancellations.
func TestSeatPricesAndLiveFlightRow(t *testing.T) {
	s := startServer(t, nil)
	tb := newTab(t, "a")
	openFlight(tb, s)

	legend := eval[string](tb, text("priceTiers"))
	for _, want := range []string{"$129.00 economy", "$159.00 economy", "$899.00 business"} {
		if !strings.Contains(legend, want) {
			t.Errorf("price legend %q lacks %q", legend, want)
		}
	}
	for label, want := range map[string]struct {
		price string
		tier  string
	}{"12A": {"$129.00", "tier0"}, "10C": {"$159.00", "tier1"}, "1F": {"$899.00", "tier2"}} {
		got := eval[[]string](tb, fmt.Sprintf(`[%[1]s.dataset.price, %[1]s.getAttribute('aria-label'), %[1]s.className]`, seat(label)))
		if got[0] != want.price || !strings.Contains(got[1], want.price) || !strings.Contains(got[2], want.tier) {
			t.Errorf("seat %s: price %q, label %q, class %q; want %s in %s", label, got[0], got[1], got[2], want.price, want.tier)
		}
	}
	cabins := eval[[]string](tb, `[...document.querySelectorAll('#bestCabin option')].map((o) => o.value)`)
	if !slices.Equal(cabins, []string{"business", "economy"}) {
		t.Errorf("best available offers cabins %q, want the flight's: business, economy", cabins)
	}

	row := fmt.Sprintf(`document.querySelector('#flightRows tr[data-id="%d"] .seats-left').textContent`, s.flight)
	if got := eval[string](tb, row); got != fmt.Sprintf("%d / %d", seatsTotal, seatsTotal) {
		t.Fatalf("flight row reads %q before any hold", got)
	}
	tb.do("hold two economy seats", chromedp.SetValue(chromedp.ID("bestCabin"), "economy"), chromedp.Click(chromedp.ID("bestBtn")))
	tb.waitFor("the row counts the held seats", fmt.Sprintf(`%s === '%d / %d'`, row, seatsTotal-2, seatsTotal), 5*time.Second)
	tb.do("book the hold", chromedp.Click(chromedp.ID("bookBtn")))
	tb.waitFor("the hold is booked", text("hStatus")+` === 'booked'`, 10*time.Second)
	tb.waitFor("the booking is listed", `document.querySelectorAll('#bookingRows tr').length === 1`, 5*time.Second)
	if got := eval[string](tb, row); got != fmt.Sprintf("%d / %d", seatsTotal-2, seatsTotal) {
		t.Errorf("after booking, the flight row reads %q", got)
	}
	tb.do("cancel the booking", chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		chromedp.Click(chromedp.CSS(`#bookingRows button.danger`)))
	tb.waitFor("the row counts the freed seats", fmt.Sprintf(`%s === '%d / %d'`, row, seatsTotal, seatsTotal), 5*time.Second)
}

// TestFaviconNoNotFound: a page load asks for nothing the server does not
// have, the browser's own request for /favicon.ico included.
func TestFaviconNoNotFound(t *testing.T) {
	s := startServer(t, nil)
	tb := newTab(t, "a")
	tb.open(s, "/", "")
	tb.waitFor("the flights are listed", `document.querySelectorAll('#flightRows tr').length === 1`, 10*time.Second)
	// The browser asks for /favicon.ico by itself after the page loads.
	status := tb.waitResponse(s.url+"/favicon.ico", 5*time.Second)
	tb.mu.Lock()
	failed := slices.Clone(tb.failed)
	tb.mu.Unlock()
	if status != http.StatusOK {
		t.Errorf("/favicon.ico answered %d in the network log (0: not asked within 5 s), want 200", status)
	}
	if len(failed) > 0 {
		t.Errorf("failed requests in the network log: %q", failed)
	}
}

// TestBadKeyNoUncaughtException: saving a key the API refuses shows the
// error in the banner, and nothing goes uncaught; saving a good key then
// takes the error banner down.
func TestBadKeyNoUncaughtException(t *testing.T) {
	s := startServer(t, nil)
	tb := newTab(t, "a")
	tb.open(s, "/", "")
	tb.waitFor("the flights are listed", `document.querySelectorAll('#flightRows tr').length === 1`, 10*time.Second)
	tb.do("save a bad key", chromedp.SendKeys(chromedp.ID("apiKey"), "rsv_not_a_key"), chromedp.Click(chromedp.ID("saveKey")))
	tb.waitFor("the banner shows the refusal", `document.getElementById('banner').classList.contains('error') && !document.getElementById('banner').hidden && `+text("bannerText")+`.includes('unauthorized')`, 5*time.Second)
	time.Sleep(300 * time.Millisecond) // an unhandled rejection is reported just after the microtask queue drains
	if ex := tb.uncaught(); len(ex) > 0 {
		t.Errorf("uncaught exceptions after saving a bad key: %q", ex)
	}
	tb.screenshot("bad-key")
	tb.do("save the good key", chromedp.SetValue(chromedp.ID("apiKey"), s.key), chromedp.Click(chromedp.ID("saveKey")))
	tb.waitFor("the error banner gives way", `!document.getElementById('banner').classList.contains('error') && `+text("bookingsEmpty")+` === 'No bookings yet.'`, 5*time.Second)
	if ex := tb.uncaught(); len(ex) > 0 {
		t.Errorf("uncaught exceptions: %q", ex)
	}
}
