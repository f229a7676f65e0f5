package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// eventPage is a GET /events answer.
type eventPage struct {
	Data []struct {
		ID        string         `json:"id"`
		Type      string         `json:"type"`
		CreatedAt time.Time      `json:"created_at"`
		Data      map[string]any `json:"data"`
	} `json:"data"`
	NextCursor string `json:"next_cursor"`
}

// events reads GET /events?query as key, which must answer 200.
func (a *api) events(t testing.TB, key, query string) eventPage {
	t.Helper()
	r := a.do("GET", "/events?"+query, key, nil)
	if r.status != 200 {
		t.Fatalf("GET /events?%s = %d %s", query, r.status, r.body)
	}
	var p eventPage
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("GET /events: %v: %s", err, r.body)
	}
	for _, e := range p.Data {
		if e.ID == "" || e.Type == "" || e.CreatedAt.IsZero() || e.Data == nil {
			t.Errorf("event %+v lacks a field: %s", e, r.body)
		}
	}
	return p
}

// sequenced waits until key's feed holds n events, running the sequencer
// as the events_sequence job would (the test server runs no jobs).
func (a *api) sequenced(t testing.TB, key string, n int) eventPage {
	t.Helper()
	var p eventPage
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := a.store.EventSequence(t.Context(), 1000); err != nil {
			t.Fatal(err)
		}
		if p = a.events(t, key, "limit=200"); len(p.Data) >= n {
			break
		}
	}
	if len(p.Data) != n {
		t.Fatalf("feed has %d events, want %d", len(p.Data), n)
	}
	return p
}

func types(p eventPage) []string {
	var out []string
	for _, e := range p.Data {
		out = append(out, e.Type)
	}
	return out
}

func TestEvents(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, a *api) {
		fl := a.flight(t)
		bob := a.key("bob", false)
		key, body := idem(), fmt.Sprintf(`{"flight_id": %d, "seats": ["12A"]}`, fl)
		h := data(t, a.post("/holds", a.client, key, body), 201)
		id := h["id"].(string)
		// A replay answers the stored hold and writes no second event.
		if again := data(t, a.post("/holds", a.client, key, body), 201); again["id"] != id {
			t.Fatalf("replayed hold = %v", again)
		}
		wantError(t, a.post("/holds", bob, idem(), fmt.Sprintf(`{"flight_id": %d, "seats": ["12A"]}`, fl)), 409, "seats_unavailable")
		data(t, a.post("/holds/"+id+"/extend", a.client, "", `{}`), 200)
		release := idem()
		data(t, a.do("DELETE", "/holds/"+id, a.client, nil, "Idempotency-Key", release), 200)
		data(t, a.do("DELETE", "/holds/"+id, a.client, nil, "Idempotency-Key", release), 200)
		data(t, a.do("DELETE", "/holds/"+id, a.client, nil), 200) // released already: the same answer, no event
		bobs := data(t, a.post("/holds", bob, idem(), fmt.Sprintf(`{"flight_id": %d, "seats": ["12B"]}`, fl)), 201)

		all := a.sequenced(t, a.client, 3)
		if got := types(all); !slices.Equal(got, []string{"hold.created", "hold.extended", "hold.released"}) {
			t.Fatalf("alice's events = %v", got)
		}
		for _, e := range all.Data {
			if e.Data["id"] != id || !strings.HasPrefix(e.ID, "evt_") {
				t.Errorf("event %s %s about %v, want %s", e.ID, e.Type, e.Data["id"], id)
			}
		}
		if all.Data[2].Data["status"] != "released" || all.NextCursor != "" {
			t.Errorf("released event %+v, next_cursor %q", all.Data[2], all.NextCursor)
		}
		// Bob sees his own hold alone.
		bp := a.sequenced(t, bob, 1)
		if bp.Data[0].Data["id"] != bobs["id"] {
			t.Errorf("bob's feed = %+v", bp)
		}

		// Paging: limit at a time, next_cursor while more remain.
		var paged []string
		q := "limit=1"
		for range 10 {
			p := a.events(t, a.client, q)
			for _, e := range p.Data {
				paged = append(paged, e.ID)
			}
			if p.NextCursor == "" {
				break
			}
			q = "limit=1&cursor=" + url.QueryEscape(p.NextCursor)
		}
		if want := []string{all.Data[0].ID, all.Data[1].ID, all.Data[2].ID}; !slices.Equal(paged, want) {
			t.Errorf("paged = %v, want %v", paged, want)
		}
		// after: strictly after that event; the last one seen leaves nothing.
		if got := types(a.events(t, a.client, "after="+all.Data[0].ID)); !slices.Equal(got, []string{"hold.extended", "hold.released"}) {
			t.Errorf("after the first = %v", got)
		}
		if p := a.events(t, a.client, "after="+all.Data[2].ID); len(p.Data) != 0 || p.NextCursor != "" {
			t.Errorf("after the last = %+v", p)
		}
		if got := types(a.events(t, a.client, "type=hold.released,hold.created")); !slices.Equal(got, []string{"hold.created", "hold.released"}) {
			t.Errorf("type filter = %v", got)
		}
		if got := types(a.events(t, a.client, "type=hold.released&after="+all.Data[0].ID)); !slices.Equal(got, []string{"hold.released"}) {
			t.Errorf("type and after = %v", got)
		}

		// Refusals.
		wantError(t, a.do("GET", "/events", "", nil), 401, "unauthorized")
		for _, c := range []struct{ query, field string }{
			{"after=" + bp.Data[0].ID, "after"}, // bob's event
			{"after=evt_nope", "after"},
			{"after=hld_x", "after"},
			{"type=hold.created,hold.bogus", "type"},
			{"type=", ""},
			{"limit=0", "limit"},
			{"limit=201", "limit"},
			{"cursor=garbage", "cursor"},
		} {
			r := a.do("GET", "/events?"+c.query, a.client, nil)
			if c.field == "" {
				if r.status != 200 {
					t.Errorf("GET /events?%s = %d %s", c.query, r.status, r.body)
				}
				continue
			}
			m := wantError(t, r, 422, "invalid_request")
			if d, _ := m["details"].(map[string]any); d[c.field] == nil {
				t.Errorf("GET /events?%s: details %v do not name %s", c.query, m["details"], c.field)
			}
		}
	})
}
