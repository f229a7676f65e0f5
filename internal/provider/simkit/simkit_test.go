package simkit

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"
)

func TestInventoryIsDeterministic(t *testing.T) {
	t.Parallel()
	date := time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC)
	a := Inventory("duffel", []string{"UA", "AA"}, "SFO", "JFK", date)
	b := Inventory("duffel", []string{"UA", "AA"}, "SFO", "JFK", date)
	if len(a) < 3 || !reflect.DeepEqual(a, b) {
		t.Fatalf("inventory not deterministic or empty: %d flights", len(a))
	}
	for _, f := range a {
		if !f.ArrivesAt.After(f.DepartsAt) || f.Amount <= 0 || f.DepartsAt.Format(time.DateOnly) < "2026-12-24" {
			t.Errorf("bad flight %+v", f)
		}
	}
	if other := Inventory("kiwi", []string{"UA"}, "SFO", "JFK", date); reflect.DeepEqual(other, a) {
		t.Error("two providers share one inventory")
	}
	if none := Inventory("duffel", []string{"UA"}, "SFO", "XXX", date); len(none) != 0 {
		t.Error("flights to an unknown airport")
	}
}

func TestWrapFaults(t *testing.T) {
	t.Parallel()
	s := New("test")
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	errw := func(w http.ResponseWriter, status int, code, detail string) { w.WriteHeader(status) }
	srv := httptest.NewServer(s.Wrap(ok, errw))
	defer srv.Close()
	defer s.Close()
	get := func() int {
		res, err := http.Get(srv.URL)
		if err != nil {
			return -1
		}
		res.Body.Close()
		return res.StatusCode
	}
	s.SetKnobs(Knobs{ErrorBurst: 2, RateLimited: 1})
	got := []int{get(), get(), get(), get()}
	if !reflect.DeepEqual(got, []int{429, 503, 500, 200}) && !reflect.DeepEqual(got, []int{429, 500, 503, 200}) {
		t.Errorf("statuses = %v, want a 429, a burst of two errors, then 200", got)
	}
	s.SetKnobs(Knobs{BlackHole: true})
	client := &http.Client{Timeout: 100 * time.Millisecond}
	if _, err := client.Get(srv.URL); err == nil {
		t.Error("a black hole answered")
	}
	if st := s.Stats(); st.Requests != 5 {
		t.Errorf("requests = %d, want 5", st.Requests)
	}
}
