package httpapi_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/app"
	"github.com/reservd/reservd/internal/payment"
	"github.com/reservd/reservd/internal/seatlock"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/storetest"
)

// TestBatchedHoldRace races real hold requests, batched, over a few seats
// (named seats, best-available requests, idempotency twins), books some of
// the holds it got, then audits the data: no seat in two live holds or two
// live bookings, every hold answered 201 is stored as answered, and twins
// got one hold.
func TestBatchedHoldRace(t *testing.T) {
	t.Parallel()
	for name, newStore := range engines {
		// With the in-process fast path, and without (seatlock.Off, as replicas
		// on PostgreSQL without Redis run): then requests for one seat meet
		// in one batch, and the database alone tells them apart.
		for _, fast := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/fastpath=%v", name, fast), func(t *testing.T) {
				t.Parallel()
				raceBatchedHolds(t, newBatchAPI(t, newStore, fast))
			})
		}
	}
}

// newBatchAPI is newAPI with batches of up to 16 holds, and the in-process
// seat fast path on or off.
func newBatchAPI(t *testing.T, newStore func(testing.TB) store.Store, fast bool) *api {
	t.Helper()
	cfg := testConfig(t)
	cfg.HoldBatch.Enabled, cfg.HoldBatch.Window, cfg.HoldBatch.Max = true, 2*time.Millisecond, 16
	o := app.Overrides{Store: newStore(t), Gateway: payment.NewTestGateway(), Providers: noProviders, Locks: seatlock.NewMemory(nil)}
	if !fast {
		o.Locks = seatlock.Off{}
	}
	a := start(t, cfg, o, nil)
	a.gateway = o.Gateway.(*payment.TestGateway)
	a.admin = a.key("ops", true)
	a.client = a.key("alice", false)
	return a
}

func raceBatchedHolds(t *testing.T, a *api) {
	fl := a.flight(t)
	labels := []string{"10A", "10B", "10C", "10D", "11A", "11B", "11C", "11D", "12A", "12B"}
	type answer struct {
		key, body string
		status    int
		id        string
		seats     []string
	}
	var mu sync.Mutex
	var answers []answer
	var wg sync.WaitGroup
	for c := range 24 {
		wg.Go(func() {
			// Twins: clients c and c^1 send the same bodies with the same keys.
			rnd := rand.New(rand.NewPCG(uint64(c/2), 3))
			for i := range 6 {
				body := fmt.Sprintf(`{"flight_id": %d, "seats": ["%s"]}`, fl, labels[rnd.IntN(len(labels))])
				if rnd.IntN(4) == 0 {
					body = fmt.Sprintf(`{"flight_id": %d, "cabin": "economy", "quantity": %d}`, fl, 1+rnd.IntN(2))
				}
				key := fmt.Sprintf("race-%d-%d", c/2, i)
				r := a.post("/holds", a.client, key, body)
				ans := answer{key: key, body: string(r.body), status: r.status}
				if r.status == 201 {
					var v struct {
						Data struct {
							ID    string   `json:"id"`
							Seats []string `json:"seats"`
						} `json:"data"`
					}
					if err := json.Unmarshal(r.body, &v); err != nil {
						t.Errorf("201 body %s: %v", r.body, err)
					}
					ans.id, ans.seats = v.Data.ID, v.Data.Seats
				} else if r.status != 409 {
					t.Errorf("POST /holds %s = %d %s", body, r.status, r.body)
				}
				mu.Lock()
				answers = append(answers, ans)
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	// Every granted hold is stored as answered; no seat is in two of them.
	byKey := map[string][]answer{}
	owner := map[string]string{}
	held := map[string]bool{}
	for _, ans := range answers {
		byKey[ans.key] = append(byKey[ans.key], ans)
		if ans.status != 201 || held[ans.id] {
			continue
		}
		held[ans.id] = true
		got := data(t, a.do("GET", "/holds/"+ans.id, a.client, nil), 200)
		if got["status"] != "active" || fmt.Sprint(got["seats"]) != fmt.Sprint(toAny(ans.seats)) {
			t.Errorf("hold %s reads %v, answered seats %v", ans.id, got, ans.seats)
		}
		for _, s := range ans.seats {
			if prev, ok := owner[s]; ok {
				t.Errorf("seat %s granted to %s and %s", s, prev, ans.id)
			}
			owner[s] = ans.id
		}
	}
	if len(held) == 0 {
		t.Fatal("no hold was granted")
	}
	seats := a.seatStatus(t, fl)
	for s, st := range seats {
		if (st == "held") != (owner[s] != "") {
			t.Errorf("seat %s reads %s, granted to %q", s, st, owner[s])
		}
	}
	// Twins sent one request: one hold, or the same refusal.
	for key, as := range byKey {
		ids := map[string]bool{}
		for _, ans := range as {
			if ans.status == 201 {
				ids[ans.id] = true
			}
		}
		if len(ids) > 1 {
			t.Errorf("key %s made %d holds: %v", key, len(ids), ids)
		}
	}

	// Book what was held, then audit: every booked seat is one live booking's.
	booked := 0
	for id := range held {
		r := a.post("/bookings", a.client, "book-"+id, `{"hold_id":"`+id+`","payment":{"token":"tok_visa"}}`)
		if r.status != 201 {
			t.Errorf("book %s = %d %s", id, r.status, r.body)
			continue
		}
		booked++
	}
	bookings, bookedSeats, _ := storetest.AuditSeats(t, t.Context(), a.store, fl)
	if len(bookings) != booked || bookedSeats != len(owner) {
		t.Errorf("audit: %d bookings over %d seats, want %d over %d", len(bookings), bookedSeats, booked, len(owner))
	}
	if got := strings.Count(fmt.Sprint(a.seatStatus(t, fl)), "held"); got != 0 {
		t.Errorf("%d seats still read held after booking every hold", got)
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
