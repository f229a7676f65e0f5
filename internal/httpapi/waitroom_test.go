package httpapi_test

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/app"
	"github.com/reservd/reservd/internal/payment"
	"github.com/reservd/reservd/internal/store/postgres"
	"github.com/reservd/reservd/internal/testdb"
	"github.com/reservd/reservd/internal/waitroom"
)

func (a *api) putSale(t testing.TB, flight int64, opens time.Time, rate int, ttl string) {
	t.Helper()
	body := fmt.Sprintf(`{"opens_at": %q, "admit_per_second": %d, "admission_ttl": %q}`, opens.Format(time.RFC3339Nano), rate, ttl)
	data(t, a.do(http.MethodPut, fmt.Sprintf("/flights/%d/sale", flight), a.admin, strings.NewReader(body)), 200)
}

// ticket is a QueueTicket as the API shows it.
type ticket struct {
	ID         string
	Status     string
	Position   *float64
	Token      *string
	AdmittedAt time.Time
}

func asTicket(t testing.TB, m map[string]any) ticket {
	t.Helper()
	tk := ticket{ID: m["id"].(string), Status: m["status"].(string)}
	if p, ok := m["position"].(float64); ok {
		tk.Position = &p
	}
	if s, ok := m["token"].(string); ok {
		tk.Token = &s
	}
	if s, ok := m["admitted_at"].(string); ok {
		at, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("admitted_at %q: %v", s, err)
		}
		tk.AdmittedAt = at
	}
	// A token exactly when admitted; a position exactly when waiting in line.
	if (tk.Token != nil) != (tk.Status == waitroom.StatusAdmitted) || (tk.Position != nil && tk.Status != waitroom.StatusWaiting) {
		t.Fatalf("inconsistent ticket %v", m)
	}
	return tk
}

func (a *api) join(t testing.TB, flight int64, key string, status int) ticket {
	t.Helper()
	return asTicket(t, data(t, a.do(http.MethodPost, fmt.Sprintf("/flights/%d/queue", flight), key, nil), status))
}

func (a *api) ticket(t testing.TB, flight int64, key, id string) ticket {
	t.Helper()
	return asTicket(t, data(t, a.do(http.MethodGet, fmt.Sprintf("/flights/%d/queue/%s", flight, id), key, nil), 200))
}

func (a *api) holdWith(flight int64, key, token string) response {
	a.t.Helper()
	h := []string{"Idempotency-Key", idem()}
	if token != "" {
		h = append(h, "Queue-Token", token)
	}
	return a.do(http.MethodPost, "/holds", key, strings.NewReader(fmt.Sprintf(`{"flight_id": %d, "cabin": "economy", "quantity": 1}`, flight)), h...)
}

func TestWaitingRoomContract(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, a *api) {
		fl := a.flight(t)
		salePath := fmt.Sprintf("/flights/%d/sale", fl)
		for _, body := range []string{`{}`, `{"opens_at": "2026-12-01T10:00:00Z", "admit_per_second": 0, "admission_ttl": "10m"}`,
			`{"opens_at": "2026-12-01T10:00:00Z", "admit_per_second": 5, "admission_ttl": "ten minutes"}`,
			`{"opens_at": "2026-12-01T10:00:00Z", "admit_per_second": 5, "admission_ttl": "1ms"}`} {
			wantError(t, a.do(http.MethodPut, salePath, a.admin, strings.NewReader(body)), 422, "invalid_request")
		}
		ok := `{"opens_at": "2026-12-01T10:00:00Z", "admit_per_second": 5, "admission_ttl": "10m"}`
		wantError(t, a.do(http.MethodPut, salePath, a.client, strings.NewReader(ok)), 403, "forbidden")
		wantError(t, a.do(http.MethodPut, "/flights/424242/sale", a.admin, strings.NewReader(ok)), 404, "flight_not_found")
		wantError(t, a.do(http.MethodDelete, salePath, a.admin, nil), 404, "not_found")
		wantError(t, a.do(http.MethodPost, fmt.Sprintf("/flights/%d/queue", fl), a.client, nil), 404, "not_found")

		sale := data(t, a.do(http.MethodPut, salePath, a.admin, strings.NewReader(ok)), 200)
		if fmt.Sprint(sale) != fmt.Sprintf("map[admission_ttl:10m0s admit_per_second:5 flight_id:%d opens_at:2026-12-01T10:00:00Z]", fl) {
			t.Errorf("sale = %v", sale)
		}
		wantError(t, a.holdWith(fl, a.client, ""), 403, "queue_token_required")

		// The sale opened in the past and nobody waits: admitted at once.
		first := a.join(t, fl, a.client, 201)
		if !strings.HasPrefix(first.ID, "qtk_") || first.Status != waitroom.StatusAdmitted || first.Token == nil {
			t.Fatalf("join = %+v, want an admitted qtk_ ticket with a token", first)
		}
		if again := a.join(t, fl, a.client, 200); again.ID != first.ID {
			t.Errorf("second join: ticket %s, want %s", again.ID, first.ID)
		}
		if got := a.ticket(t, fl, a.client, first.ID); got.ID != first.ID || got.Status != waitroom.StatusAdmitted || *got.Token != *first.Token {
			t.Errorf("GET ticket = %+v", got)
		}
		bob := a.key("bob", false)
		wantError(t, a.do(http.MethodGet, fmt.Sprintf("/flights/%d/queue/%s", fl, first.ID), bob, nil), 404, "not_found")
		wantError(t, a.do(http.MethodGet, fmt.Sprintf("/flights/%d/queue/qtk_nope", fl), a.client, nil), 404, "not_found")

		// Refused: another customer's token, a forged one, an expired one
		// signed with the real secret.
		wantError(t, a.holdWith(fl, bob, *first.Token), 403, "queue_token_invalid")
		tok := *first.Token
		forged := tok[:len(tok)-2] + map[bool]string{true: "AA", false: "AB"}[!strings.HasSuffix(tok, "AA")]
		wantError(t, a.holdWith(fl, a.client, forged), 403, "queue_token_invalid")
		wantError(t, a.holdWith(fl, a.client, "not-a-token"), 403, "queue_token_invalid")
		secret, err := a.store.SaleSecret(t.Context(), make([]byte, 32))
		if err != nil {
			t.Fatalf("SaleSecret: %v", err)
		}
		signer, err := waitroom.NewSigner(secret)
		if err != nil {
			t.Fatal(err)
		}
		aliceID := a.keyID(t, a.client)
		opensAt := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		expired := signer.Sign(waitroom.Claims{TicketID: first.ID, FlightID: fl, KeyID: aliceID, SaleOpensAt: opensAt, ExpiresAt: time.Now().Add(-time.Second)})
		wantError(t, a.holdWith(fl, a.client, expired), 403, "queue_token_invalid")
		otherSale := signer.Sign(waitroom.Claims{TicketID: first.ID, FlightID: fl, KeyID: aliceID, SaleOpensAt: opensAt.Add(-time.Hour), ExpiresAt: time.Now().Add(time.Minute)})
		wantError(t, a.holdWith(fl, a.client, otherSale), 403, "queue_token_invalid")
		live := signer.Sign(waitroom.Claims{TicketID: first.ID, FlightID: fl, KeyID: aliceID, SaleOpensAt: opensAt, ExpiresAt: time.Now().Add(time.Minute)})
		data(t, a.holdWith(fl, a.client, live), 201) // the same secret signs alike: the check is not vacuous
		data(t, a.holdWith(fl, a.client, *first.Token), 201)
		// A 403 is not kept under the Idempotency-Key: the same request
		// with the token runs, rather than replaying the refusal.
		key := idem()
		body := fmt.Sprintf(`{"flight_id": %d, "cabin": "economy", "quantity": 1}`, fl)
		wantError(t, a.do(http.MethodPost, "/holds", a.client, strings.NewReader(body), "Idempotency-Key", key), 403, "queue_token_required")
		data(t, a.do(http.MethodPost, "/holds", a.client, strings.NewReader(body), "Idempotency-Key", key, "Queue-Token", *first.Token), 201)

		// Another flight is not behind the queue; this one is not after DELETE.
		other := a.flight(t)
		data(t, a.holdWith(other, bob, ""), 201)
		if got := data(t, a.do(http.MethodDelete, salePath, a.admin, nil), 200); got["flight_id"] != float64(fl) {
			t.Errorf("DELETE sale = %v", got)
		}
		data(t, a.holdWith(fl, bob, ""), 201)
		wantError(t, a.do(http.MethodGet, fmt.Sprintf("/flights/%d/queue/%s", fl, first.ID), a.client, nil), 404, "not_found")
	})
}

// keyID finds the id of an API key by asking the store who it is.
func (a *api) keyID(t testing.TB, key string) int64 {
	t.Helper()
	p, err := a.store.APIKeyPrincipal(t.Context(), apikey.Digest(key))
	if err != nil {
		t.Fatalf("APIKeyPrincipal: %v", err)
	}
	return p.KeyID
}

// TestWaitingRoomFairness: 500 customers join before opens_at and 500
// after. The first group is admitted in a random order, the second in
// arrival order behind it, at admit_per_second, all read from the
// admission timestamps the API reports.
func TestWaitingRoomFairness(t *testing.T) {
	t.Parallel()
	const n, rate = 500, 200
	iv := time.Second / rate
	forEachEngine(t, func(t *testing.T, a *api) {
		fl := a.flight(t)
		keys := make([]string, 2*n)
		for i := range keys {
			keys[i] = a.key(fmt.Sprintf("c%d", i), false)
		}
		// 500 joins take 1-3 s on a quiet machine; the margin is for a
		// loaded one (the test's premise fails loudly if it is not enough).
		opens := time.Now().Add(15 * time.Second).UTC().Truncate(time.Millisecond)
		a.putSale(t, fl, opens, rate, "10m")
		ids := make([]string, 2*n)
		// The first group joins eight at a time (its order is to be
		// shuffled anyway; eight in flight keep arrival order within a few
		// places, far from random).
		var wg sync.WaitGroup
		next := atomic.Int32{}
		for range 8 {
			wg.Go(func() {
				for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
					tk := a.join(t, fl, keys[i], 201)
					if tk.Status != waitroom.StatusWaiting || tk.Position != nil || !tk.AdmittedAt.IsZero() {
						t.Errorf("early join %d: %+v, want waiting with no position yet (did the first group take over 15s?)", i, tk)
						return
					}
					ids[i] = tk.ID
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		time.Sleep(time.Until(opens))
		// Right after opens_at the shuffled order has a position for all.
		var probe ticket
		for i := range n {
			if probe = a.ticket(t, fl, keys[i], ids[i]); probe.Position != nil && *probe.Position > n/2 {
				break
			}
		}
		if probe.Position == nil {
			t.Fatalf("no early ticket has a position over %d just after opens_at", n/2)
		}
		for i := n; i < 2*n; i++ {
			tk := a.join(t, fl, keys[i], 201)
			ids[i] = tk.ID
		}
		// Positions move: the probed ticket is further ahead, or admitted.
		for i := range n {
			if ids[i] == probe.ID {
				later := a.ticket(t, fl, keys[i], ids[i])
				if later.Status == waitroom.StatusWaiting && *later.Position >= *probe.Position {
					t.Errorf("position %v then %v: it did not move", *probe.Position, *later.Position)
				}
			}
		}
		// Wait until the last late ticket's slot has passed, then read all.
		last := a.ticket(t, fl, keys[2*n-1], ids[2*n-1])
		if last.Position != nil {
			time.Sleep(time.Duration(*last.Position+1) * iv)
		}
		at := make([]time.Time, 2*n)
		for i := range at {
			tk := a.ticket(t, fl, keys[i], ids[i])
			if tk.Status != waitroom.StatusAdmitted {
				t.Fatalf("ticket %d: %+v, want admitted by now", i, tk)
			}
			at[i] = tk.AdmittedAt
		}

		// The first group takes the first n slots, one interval apart.
		early := append([]time.Time(nil), at[:n]...)
		sort.Slice(early, func(i, j int) bool { return early[i].Before(early[j]) })
		for k, got := range early {
			if want := opens.Add(time.Duration(k) * iv); !got.Equal(want) {
				t.Fatalf("early slot %d at opens+%v, want opens+%v", k, got.Sub(opens), want.Sub(opens))
			}
		}
		// In a random order: about half of all pairs keep their arrival
		// order (arrival order would keep all, reversed none).
		kept, pairs := 0, 0
		for i := range n {
			for j := i + 1; j < n; j++ {
				pairs++
				if at[i].Before(at[j]) {
					kept++
				}
			}
		}
		if frac := float64(kept) / float64(pairs); math.Abs(frac-0.5) > 0.1 {
			t.Errorf("%.2f of early pairs admitted in arrival order, want about 0.5 (random)", frac)
		}
		// The second group: behind the first, in arrival order, >= one interval apart.
		if !at[n].After(early[n-1]) {
			t.Errorf("first late ticket at opens+%v, not after the last early one at opens+%v", at[n].Sub(opens), early[n-1].Sub(opens))
		}
		for i := n + 1; i < 2*n; i++ {
			if gap := at[i].Sub(at[i-1]); gap < iv {
				t.Fatalf("late tickets %d and %d admitted %v apart, want >= %v in arrival order", i-1, i, gap, iv)
			}
		}
		// The rate: in every one-second window starting at an admission, at
		// most admit_per_second (+1 for the tick at its edge); and while the
		// first group drains, exactly that many each second.
		all := append([]time.Time(nil), at...)
		sort.Slice(all, func(i, j int) bool { return all[i].Before(all[j]) })
		for i := range all {
			j := sort.Search(len(all), func(j int) bool { return !all[j].Before(all[i].Add(time.Second)) })
			if j-i > rate+1 {
				t.Fatalf("%d admitted in the second from opens+%v, want <= %d", j-i, all[i].Sub(opens), rate+1)
			}
		}
		for s := range n / rate {
			from, to := opens.Add(time.Duration(s)*time.Second), opens.Add(time.Duration(s+1)*time.Second)
			c := 0
			for _, x := range all {
				if !x.Before(from) && x.Before(to) {
					c++
				}
			}
			if c < rate-1 || c > rate+1 {
				t.Errorf("second %d after opens_at: %d admitted, want %d ± 1", s, c, rate)
			}
		}
	})
}

// TestFlashSaleThroughQueue: more customers than seats go through the
// queue; exactly the flight's seats are booked, none twice.
func TestFlashSaleThroughQueue(t *testing.T) {
	t.Parallel()
	const customers, seats = 40, 18 // economy rows 10–12
	forEachEngine(t, func(t *testing.T, a *api) {
		fl := a.flight(t)
		a.putSale(t, fl, time.Now().Add(-time.Second), 100, "1m")
		keys := make([]string, customers)
		for i := range keys {
			keys[i] = a.key(fmt.Sprintf("fan%d", i), false)
		}
		var booked, soldOut atomic.Int32
		var wg sync.WaitGroup
		for _, k := range keys {
			wg.Go(func() {
				tk := a.join(t, fl, k, 201)
				for tk.Status == waitroom.StatusWaiting {
					time.Sleep(10 * time.Millisecond)
					tk = a.ticket(t, fl, k, tk.ID)
				}
				if tk.Token == nil {
					t.Errorf("ticket %+v has no token", tk)
					return
				}
				if r := a.holdWith(fl, k, ""); r.status != 403 {
					t.Errorf("hold without a token = %d %s", r.status, r.body)
				}
				r := a.holdWith(fl, k, *tk.Token)
				if r.status == 409 {
					soldOut.Add(1)
					return
				}
				if r.status != 201 {
					t.Errorf("hold = %d %s", r.status, r.body)
					return
				}
				hid := r.json(t)["data"].(map[string]any)["id"].(string)
				b := a.post("/bookings", k, idem(), fmt.Sprintf(`{"hold_id": %q, "payment": {"token": "tok_visa"}}`, hid))
				if b.status != 201 {
					t.Errorf("booking = %d %s", b.status, b.body)
					return
				}
				booked.Add(1)
			})
		}
		wg.Wait()
		if booked.Load() != seats || soldOut.Load() != customers-seats {
			t.Errorf("booked %d, sold out %d; want %d and %d", booked.Load(), soldOut.Load(), seats, customers-seats)
		}
		n := 0
		for seat, st := range a.seatStatus(t, fl) {
			if strings.HasPrefix(seat, "1") && len(seat) == 3 && st == "booked" {
				n++
			}
		}
		if n != seats {
			t.Errorf("%d economy seats booked, want %d", n, seats)
		}
	})
}

// TestWaitingRoomReplicas: three servers on one PostgreSQL database agree
// on every ticket's admission, keep the rate between them, and accept each
// other's tokens.
func TestWaitingRoomReplicas(t *testing.T) {
	t.Parallel()
	const n, rate = 60, 40
	iv := time.Second / rate
	url := testdb.PostgresURL(t)
	var replicas []*api
	for i := range 3 {
		st, err := postgres.Open(t.Context(), url)
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(t.Context()); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		gw := payment.NewTestGateway()
		r := start(t, testConfig(t), app.Overrides{Store: st, Gateway: gw, Providers: noProviders}, nil)
		r.gateway = gw
		if i == 0 {
			r.admin, r.client = r.key("ops", true), r.key("alice", false)
		} else {
			r.admin, r.client = replicas[0].admin, replicas[0].client
		}
		replicas = append(replicas, r)
	}
	a := replicas[0]
	fl := a.flight(t)
	keys := make([]string, 2*n)
	for i := range keys {
		keys[i] = a.key(fmt.Sprintf("c%d", i), false)
	}
	opens := time.Now().Add(3 * time.Second).UTC().Truncate(time.Millisecond)
	replicas[1].putSale(t, fl, opens, rate, "10m")
	ids := make([]string, 2*n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ids[i] = replicas[i%3].join(t, fl, keys[i], 201).ID })
	}
	wg.Wait()
	time.Sleep(time.Until(opens))
	for i := n; i < 2*n; i++ {
		ids[i] = replicas[i%3].join(t, fl, keys[i], 201).ID
	}
	last := a.ticket(t, fl, keys[2*n-1], ids[2*n-1])
	if last.Position != nil {
		time.Sleep(time.Duration(*last.Position+1) * iv)
	}
	var at []time.Time
	for i := range 2 * n {
		var seen []ticket
		for _, r := range replicas {
			seen = append(seen, r.ticket(t, fl, keys[i], ids[i]))
		}
		for _, tk := range seen[1:] {
			if tk.Status != waitroom.StatusAdmitted || !tk.AdmittedAt.Equal(seen[0].AdmittedAt) || *tk.Token != *seen[0].Token {
				t.Fatalf("ticket %d: replicas disagree: %+v and %+v", i, seen[0], tk)
			}
		}
		at = append(at, seen[0].AdmittedAt)
	}
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	for k := 1; k < len(at); k++ {
		if at[k].Sub(at[k-1]) < iv {
			t.Fatalf("admissions %d and %d only %v apart across replicas, want >= %v", k-1, k, at[k].Sub(at[k-1]), iv)
		}
	}
	if !at[0].Equal(opens) {
		t.Errorf("first admission at opens%+v, want at opens_at", at[0].Sub(opens))
	}
	// A token one replica issued holds seats through another.
	tk := replicas[0].ticket(t, fl, keys[0], ids[0])
	data(t, replicas[2].holdWith(fl, keys[0], *tk.Token), 201)
	wantError(t, replicas[1].holdWith(fl, keys[1], *tk.Token), 403, "queue_token_invalid")
}
