package httpapi_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// A cached GET /offers answers byte for byte what the search answered, and a
// trip then books the cheapest offer shown, from the cache, without
// searching again.
func TestCachedOffersAnswerAndBook(t *testing.T) {
	t.Parallel()
	a, svc, sims := newCachedOffersAPI(t, true)
	date := time.Now().UTC().AddDate(0, 0, 21).Format(time.DateOnly)
	q := "/offers?origin=SFO&destination=JFK&departure_date=" + date + "&currency=USD"
	miss := a.do("GET", q, a.client, nil)
	if miss.status != 200 {
		t.Fatalf("GET /offers = %d %s", miss.status, miss.body)
	}
	searches := func() int {
		n := 0
		for _, k := range sims.Kits() {
			n += k.Stats().Searches
		}
		return n
	}
	before := searches()
	hit := a.do("GET", q, a.client, nil)
	if hit.status != 200 || !bytes.Equal(hit.body, miss.body) || hit.header.Get("Content-Type") != miss.header.Get("Content-Type") {
		t.Errorf("cache hit = %d %q\n%s\nthe miss answered %d %q\n%s", hit.status, hit.header.Get("Content-Type"), hit.body,
			miss.status, miss.header.Get("Content-Type"), miss.body)
	}
	var shown struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(miss.body, &shown); err != nil || len(shown.Data) == 0 {
		t.Fatalf("GET /offers answered %s: %v", miss.body, err)
	}

	body := `{"origin": "SFO", "destination": "JFK", "departure_date": "` + date + `", "currency": "USD",
		"passengers": [{"given_name": "Ada", "family_name": "Lovelace", "born_on": "1990-12-10"}],
		"contact": {"email": "ada@example.com", "phone_number": "+14155550100"}}`
	id := data(t, a.post("/trips", a.client, idem(), body), 202)["id"].(string)
	deadline := time.Now().Add(20 * time.Second)
	var got map[string]any
	for time.Now().Before(deadline) {
		svc.Work(t.Context())
		if got = data(t, a.do("GET", "/trips/"+id, a.client, nil), 200); got["status"] != "pending" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	att, _ := got["attempts"].([]any)
	if got["status"] != "confirmed" || len(att) != 1 || att[0].(map[string]any)["offer_id"] != shown.Data[0].ID {
		t.Fatalf("trip = %v, want confirmed with %s, the cheapest offer shown", got, shown.Data[0].ID)
	}
	if after := searches(); after != before {
		t.Errorf("cache hit and trip searched the providers (%d → %d searches)", before, after)
	}
}
