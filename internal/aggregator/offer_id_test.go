package aggregator_test

import (
	"testing"
	"time"

	"github.com/reservd/reservd/internal/provider"
)

// TestOfferIDNamesOneOfferOfOneSearch: Amadeus numbers its offers "1",
// "2", … in every search, so the provider's id alone names different
// flights on different searches. Our id must not: the same provider id on
// another route or date is another offer, with another id; the same search
// again finds the same offers under the same ids.
func TestOfferIDNamesOneOfferOfOneSearch(t *testing.T) {
	t.Parallel()
	agg, _ := soloWorld(t, "amadeus")
	searchOf := func(origin, dest string, date time.Time) map[string]string { // provider id → our id
		t.Helper()
		res, err := agg.Search(t.Context(), provider.SearchRequest{Origin: origin, Destination: dest, DepartureDate: date, Adults: 1, Currency: "USD"})
		if err != nil || len(res.Offers) == 0 {
			t.Fatalf("search %s-%s: %v", origin, dest, err)
		}
		out := map[string]string{}
		for _, o := range res.Offers {
			if len(o.ID) != 30 || o.ID[:4] != "off_" {
				t.Errorf("offer id %q, want off_ and 26 characters (130 bits)", o.ID)
			}
			out[o.Source.ID] = o.ID
		}
		return out
	}
	a := searchOf("SFO", "JFK", day)
	b := searchOf("LHR", "CDG", day.AddDate(0, 0, 1))
	shared := 0
	for pid, id := range a {
		if other, ok := b[pid]; ok {
			shared++
			if other == id {
				t.Errorf("amadeus offer %q of two different searches got the same id %s", pid, id)
			}
		}
	}
	if shared == 0 {
		t.Fatal("the two searches share no provider offer id: the test proves nothing")
	}
	again := searchOf("SFO", "JFK", day)
	for pid, id := range a {
		if again[pid] != id {
			t.Errorf("the same search gave offer %q id %s, then %s", pid, id, again[pid])
		}
	}
}
