package browsertest

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/reservd/reservd/internal/provider/registry"
	"github.com/reservd/reservd/internal/provider/simkit"
)

// TestTripBooksAgainstSimulators: the trips view searches every registered
// provider's simulator, shows each provider's answer, books a trip, shows
// its attempts as they happen (the cheapest provider refusing, the next
// confirming) until it is confirmed, and cancels it.
func TestTripBooksAgainstSimulators(t *testing.T) {
	s := startServer(t, nil)
	tb := newTab(t, "a")
	tb.open(s, "/#trips", s.key)
	if !eval[bool](tb, `document.getElementById('flightsView').hidden && !document.getElementById('tripsView').hidden`) {
		t.Fatal("#trips does not show the trips view")
	}
	// Offers are searched at most two years ahead, so not in 2036: a year
	// ahead is far from any flight that departs while the test runs.
	date := time.Now().UTC().AddDate(1, 0, 0).Format(time.DateOnly)
	tb.do("search offers",
		chromedp.SendKeys(chromedp.ID("oOrigin"), "sfo"), chromedp.SendKeys(chromedp.ID("oDestination"), "jfk"),
		chromedp.SetValue(chromedp.ID("oDate"), date), chromedp.SetValue(chromedp.ID("oCurrency"), "EUR"),
		chromedp.Click(chromedp.ID("offerSearch")))
	tb.waitFor("offers are listed", `document.querySelectorAll('#offerRows tr').length > 0`, 10*time.Second)
	providers := eval[map[string]string](tb, `Object.fromEntries([...document.querySelectorAll('#providerRows tr')].map((r) => [r.dataset.provider, r.querySelector('.status').textContent]))`)
	for _, p := range registry.Names() {
		if providers[p] != "ok" {
			t.Errorf("provider %s shows status %q, want ok (all: %v)", p, providers[p], providers)
		}
	}
	if price := eval[string](tb, `document.querySelector('#offerRows tr td.num strong').textContent`); !strings.Contains(price, "€") {
		t.Errorf("the cheapest offer's price reads %q, want euros", price)
	}

	// The cheapest provider has sold out by the time the trip is booked,
	// and the others answer slowly: the trip falls back, and its attempts
	// show while it is still pending.
	cheapest := eval[string](tb, `document.querySelector('#offerRows tr td').textContent`)
	for name, kit := range s.sims.Kits() {
		if name == cheapest {
			kit.Update(func(k *simkit.Knobs) { k.SoldOut = true })
		} else {
			kit.Update(func(k *simkit.Knobs) { k.LatencyMin, k.LatencyMax = 700*time.Millisecond, 700*time.Millisecond })
		}
	}
	// The page's trip panel, noted at each change: "status attempts".
	eval[chromedp.Void](tb, `window.tripLog = []; new MutationObserver(() => window.tripLog.push(document.getElementById('tStatus').textContent + ' ' + document.querySelectorAll('#attemptRows tr').length))
		.observe(document.getElementById('tripArea'), { childList: true, characterData: true, subtree: true })`)
	tb.do("book the cheapest",
		chromedp.SendKeys(chromedp.CSS(`#paxRows [name=given_name]`), "Ada"),
		chromedp.SendKeys(chromedp.CSS(`#paxRows [name=family_name]`), "Lovelace"),
		chromedp.SetValue(chromedp.CSS(`#paxRows [name=born_on]`), "1990-12-10"),
		chromedp.Click(chromedp.ID("tripBook")))
	tb.waitFor("the trip is shown", text("tId")+`.startsWith('trp_')`, 5*time.Second)
	tb.waitFor("the trip is confirmed", text("tStatus")+` === 'confirmed'`, 30*time.Second)
	id := eval[string](tb, text("tId"))
	if log := eval[[]string](tb, `window.tripLog`); !slices.ContainsFunc(log, func(e string) bool { return strings.HasPrefix(e, "pending ") && e != "pending 0" }) {
		t.Errorf("the page never showed an attempt while the trip was pending; it showed %q", slices.Compact(log))
	}
	type attempt struct{ Provider, Outcome string }
	shown := eval[[]attempt](tb, `[...document.querySelectorAll('#attemptRows tr')].map((r) => ({Provider: r.children[1].textContent, Outcome: r.querySelector('.status').textContent}))`)
	if len(shown) < 2 || shown[0] != (attempt{cheapest, "unavailable"}) || shown[len(shown)-1].Outcome != "confirmed" || shown[len(shown)-1].Provider == cheapest {
		t.Errorf("attempts shown: %+v; want %s unavailable first and another provider confirmed last", shown, cheapest)
	}
	var trip struct {
		Data struct {
			Status    string `json:"status"`
			Provider  string `json:"provider"`
			Reference string `json:"provider_booking_reference"`
			Attempts  []any  `json:"attempts"`
		} `json:"data"`
	}
	s.call(http.MethodGet, "/trips/"+id, s.key, nil, http.StatusOK, &trip)
	if trip.Data.Status != "confirmed" || len(trip.Data.Attempts) != len(shown) {
		t.Errorf("GET /trips/%s: %+v; the page shows %d attempts", id, trip.Data, len(shown))
	}
	if got := eval[string](tb, text("tRef")); got != trip.Data.Reference {
		t.Errorf("the page shows reference %q, the API %q", got, trip.Data.Reference)
	}
	tb.screenshot("confirmed")

	tb.do("cancel the trip", chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`), chromedp.Click(chromedp.ID("cancelTrip")))
	tb.waitFor("the trip is canceled", text("tStatus")+` === 'canceled'`, 10*time.Second)
	s.call(http.MethodGet, "/trips/"+id, s.key, nil, http.StatusOK, &trip)
	if trip.Data.Status != "canceled" {
		t.Errorf("GET /trips/%s status %q after the page canceled it", id, trip.Data.Status)
	}
	if ex := tb.uncaught(); len(ex) > 0 {
		t.Errorf("uncaught exceptions: %q", ex)
	}
}
