package httpapi_test

import (
	"fmt"
	"testing"

	"github.com/reservd/reservd/internal/config"
)

// TestHoldLimitRace races one customer's holds of distinct seats over real
// HTTP, on both engines, batched and not: exactly the cap is granted, every
// other request answers 409 hold_limit_reached with the cap reached, and
// the database holds no more than the cap live afterwards. Without the
// count inside the hold's transaction (and, on PostgreSQL, the customer's
// lock), racing requests each see the others' holds as absent and pass.
func TestHoldLimitRace(t *testing.T) {
	t.Parallel()
	caps := []struct {
		name              string
		perFlight, active int
		cap               int
	}{
		{"seats_per_flight", 5, 0, 5},
		{"active_holds", 0, 3, 3},
	}
	for name, newStore := range engines {
		for _, batch := range []bool{true, false} {
			for _, c := range caps {
				t.Run(fmt.Sprintf("%s/batch=%v/%s", name, batch, c.name), func(t *testing.T) {
					t.Parallel()
					a := newAPI(t, newStore, func(cfg *config.Config) {
						cfg.HoldBatch.Enabled = batch
						cfg.HoldMaxSeatsPerFlight, cfg.HoldMaxActive = c.perFlight, c.active
					})
					raceHoldLimit(t, a, c.cap)
				})
			}
		}
	}
}

func raceHoldLimit(t *testing.T, a *api, limit int) {
	fl := a.flight(t)
	var labels []string
	for s := range a.seatStatus(t, fl) {
		labels = append(labels, s)
	}
	next := make(chan string, len(labels))
	for _, l := range labels {
		next <- l
	}
	close(next)
	type answer struct {
		seat string
		r    response
	}
	answers := make(chan answer, len(labels))
	done := make(chan struct{})
	for range labels {
		go func() {
			defer func() { done <- struct{}{} }()
			seat := <-next
			answers <- answer{seat, a.post("/holds", a.client, idem(), fmt.Sprintf(`{"flight_id": %d, "seats": [%q]}`, fl, seat))}
		}()
	}
	for range labels {
		<-done
	}
	close(answers)

	granted := map[string]bool{}
	var refused []string
	for ans := range answers {
		switch ans.r.status {
		case 201:
			granted[ans.seat] = true
		case 409:
			m := wantError(t, ans.r, 409, "hold_limit_reached")
			d, _ := m["details"].(map[string]any)
			if d["limit"] != float64(limit) || d["held"] != float64(limit) {
				t.Errorf("refusal of %s: details %v, want limit and held %d", ans.seat, d, limit)
			}
			refused = append(refused, ans.seat)
		default:
			t.Errorf("POST /holds %s = %d %s", ans.seat, ans.r.status, ans.r.body)
		}
	}
	if len(granted) != limit {
		t.Fatalf("%d holds granted, want exactly the cap %d", len(granted), limit)
	}

	// The database agrees: the customer (the only one holding) has the cap
	// live, and exactly the granted seats read held.
	n, err := a.store.HoldCountActive(t.Context())
	if err != nil {
		t.Fatalf("HoldCountActive: %v", err)
	}
	if n != limit {
		t.Errorf("%d live holds in the database, want the cap %d", n, limit)
	}
	for s, st := range a.seatStatus(t, fl) {
		if (st == "held") != granted[s] {
			t.Errorf("seat %s reads %s, granted %v", s, st, granted[s])
		}
	}

	// A refused request kept nothing, not even in the seat fast path:
	// another customer gets its seat.
	bob := a.key("bob", false)
	r := a.post("/holds", bob, idem(), fmt.Sprintf(`{"flight_id": %d, "seats": [%q]}`, fl, refused[0]))
	data(t, r, 201)
}

// TestHoldLimitResponse: the refusal's envelope, and the way back under
// the cap by releasing a hold; extending one changes nothing.
func TestHoldLimitResponse(t *testing.T) {
	t.Parallel()
	for name, newStore := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := newAPI(t, newStore, func(cfg *config.Config) { cfg.HoldMaxSeatsPerFlight, cfg.HoldMaxActive = 3, 0 })
			fl := a.flight(t)
			hold := func(seats string) response {
				return a.post("/holds", a.client, idem(), fmt.Sprintf(`{"flight_id": %d, "seats": [%s]}`, fl, seats))
			}
			h := data(t, hold(`"10A", "10B"`), 201)
			m := wantError(t, hold(`"10C", "10D"`), 409, "hold_limit_reached")
			if d, _ := m["details"].(map[string]any); d["limit"] != 3.0 || d["held"] != 2.0 {
				t.Fatalf("details = %v, want limit 3, held 2", m["details"])
			}
			data(t, a.post("/holds/"+h["id"].(string)+"/extend", a.client, idem(), ""), 200)
			wantError(t, hold(`"10C", "10D"`), 409, "hold_limit_reached")
			data(t, a.do("DELETE", "/holds/"+h["id"].(string), a.client, nil), 200)
			data(t, hold(`"10C", "10D", "10E"`), 201)
		})
	}
}
