package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/provider/registry"
	"github.com/reservd/reservd/internal/provider/simkit"
	"github.com/reservd/reservd/internal/provider/simset"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/testdb"
	"github.com/reservd/reservd/internal/trips"
)

// process is reservd running as an OS process of its own (this test binary
// re-executed as main, see TestMain), so that a test can kill -9 it.
type process struct {
	cmd    *exec.Cmd
	addr   string
	stderr *syncBuffer
	done   chan struct{}
}

func startProcess(t *testing.T, env map[string]string) *process {
	t.Helper()
	p := &process{addr: freeAddr(t), stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0])
	p.cmd.Env = []string{"RESERVD_TEST_MAIN=1", "ADDR=" + p.addr, "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.stderr, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start reservd process: %v", err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.kill)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if res, err := http.Get("http://" + p.addr + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("reservd process exited while starting:\n%s", p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("reservd process did not become healthy:\n%s", p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL: no shutdown, no flushing, nothing finishes.
func (p *process) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *process) url() string { return "http://" + p.addr }

// waitNoWork waits until no payment, refund or trip is left for recovery.
func waitNoWork(t *testing.T, st store.Store) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		depth, err := st.WorkDepth(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if depth[store.QueuePayments] == 0 && depth[store.QueueRefunds] == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("work left after recovery had time: %v", depth)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestKill9MidStorm kills one of two instances in the middle of a storm,
// starts it again, and audits: every acknowledged hold and booking is
// intact, interrupted bookings completed or failed cleanly, no seat is sold
// twice, and no card was charged twice or charged without a booking to show
// (or a refund) — counted from the payment records both processes wrote,
// since each process has a test gateway of its own. Only requests to the
// killed instance may end without an answer.
func TestKill9MidStorm(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": testdb.PostgresURL(t), "REDIS_URL": testdb.RedisURL(t), "REDIS_PREFIX": testdb.UniquePrefix(t), "LOG_LEVEL": "error",
		"RATE_LIMIT": "0", "PAYMENT_LEASE": "1s", "SWEEP_INTERVAL": "500ms"}
	a, b := startProcess(t, env), startProcess(t, env)
	c := newClient(t)
	c.killed = a.url()
	c.setURLs(a.url(), b.url())
	flight := stormFlight(t, c, createKey(t, env, "ops", true), 8)
	keys := customerKeys(t, env, 4)
	var restarted *process
	log := storm(t, c, keys, flight, 8, 16, 40, func() {
		a.kill()
		c.setURLs(b.url())
		restarted = startProcess(t, env)
		c.setURLs(b.url(), restarted.url())
	})
	st := openPostgres(t, env["DATABASE_URL"])
	waitNoWork(t, st)
	audit(t, st, flight, log)
	auditHolds(t, st, flight, log)
	auditCharges(t, env["DATABASE_URL"], flight, log)
	if restarted == nil {
		t.Fatal("the storm never reached its middle")
	}
	// Every payment ended: completed ones have their booking, nothing pending.
	all, err := st.BookingListByFlight(t.Context(), flight)
	if err != nil {
		t.Fatal(err)
	}
	for _, bk := range all {
		p, err := st.PaymentGet(t.Context(), bk.HoldID)
		if err != nil || (p.State != store.PaymentCompleted && p.State != store.PaymentRefunding && p.State != store.PaymentRefunded) || p.ChargeID == "" {
			t.Errorf("booking %s has payment %+v, %v", bk.ID, p, err)
		}
		if p.BookingID != bk.ID {
			t.Errorf("booking %s recorded under payment for %s", bk.ID, p.BookingID)
		}
	}
	if log.unknown.Load() == 0 {
		t.Log("no request was cut off by the kill this time (it fell between requests)")
	}
}

// withSimulators configures every registered provider in env, pointed at
// its simulator in sims, with placeholder credentials (the simulators take
// any), and returns env.
func withSimulators(env map[string]string, sims *simset.Set) map[string]string {
	for _, p := range registry.All() {
		for _, s := range p.Settings {
			if s.Required {
				env[s.Env] = "simulated"
			}
		}
		env[p.BaseURLEnv] = sims.URLs[p.Name]
	}
	return env
}

// TestKill9MidTrip kills the instance booking a trip while its order call
// is unanswered (the provider created the order; the answer never came).
// A new instance takes the trip over after its lease, looks the order up
// by our reference, and confirms it: one trip, one order.
func TestKill9MidTrip(t *testing.T) {
	t.Parallel()
	sims, err := simset.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sims.Close() })
	for _, k := range sims.Kits() {
		k.Update(func(k *simkit.Knobs) { k.LoseOrderResponse = true })
	}
	env := withSimulators(map[string]string{"DATABASE_URL": testdb.PostgresURL(t), "LOG_LEVEL": "error", "RATE_LIMIT": "0", "TRIP_LEASE": "2s"}, sims)
	a := startProcess(t, env)
	key := createKey(t, env, "traveller", false)
	c := newClient(t)
	c.setURLs(a.url())
	date := time.Now().UTC().AddDate(0, 0, 30).Format(time.DateOnly)
	r, err := c.do("POST", "/trips", key, "trip-1", fmt.Sprintf(`{"origin": "SFO", "destination": "JFK", "departure_date": %q,
		"currency": "USD", "passengers": [{"given_name": "Ada", "family_name": "Lovelace", "born_on": "1990-12-10", "title": "ms", "gender": "f"}],
		"contact": {"email": "ada@example.com", "phone_number": "+14155550100"}}`, date))
	if err != nil || r.status != 202 {
		t.Fatalf("POST /trips = %d %s %v", r.status, r.raw, err)
	}
	id := r.data()["id"].(string)
	orders := func() int {
		n := 0
		for _, k := range sims.Kits() {
			n += len(k.Orders())
		}
		return n
	}
	deadline := time.Now().Add(30 * time.Second)
	for orders() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no order was placed; reservd said:\n%s", a.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.kill() // mid-call: the order exists, reservd never heard back
	for _, k := range sims.Kits() {
		k.Update(func(k *simkit.Knobs) { k.LoseOrderResponse = false })
	}
	b := startProcess(t, env)
	c.setURLs(b.url())
	var trip map[string]any
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		r, err := c.do("GET", "/trips/"+id, key, "", "")
		if err != nil || r.status != 200 {
			t.Fatalf("GET /trips = %d %s %v", r.status, r.raw, err)
		}
		if trip = r.data(); trip["status"] != string(trips.Pending) {
			break
		}
	}
	if trip["status"] != string(trips.Confirmed) {
		t.Fatalf("trip after the crash = %v", trip)
	}
	if n := orders(); n != 1 {
		t.Errorf("%d orders for one trip across a crash, want 1", n)
	}
	var ordered string
	for name, k := range sims.Kits() {
		if len(k.Orders()) == 1 {
			ordered = name
		}
	}
	if trip["provider"] != ordered {
		t.Errorf("trip confirmed at %v, the order is at %s", trip["provider"], ordered)
	}
}

// auditCharges counts, from the payment records in the database, the
// charges every process made for the flight's bookings, since no one
// process's gateway saw them all: each charge is recorded once under one
// charge id, a charged payment either has its booking (completed, or
// refunded once canceled) or was refunded because the seats were lost, and
// nothing is left pending or refunding once recovery has run.
func auditCharges(t *testing.T, databaseURL string, flight int64, log *stormLog) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(t.Context()))
	rows, err := conn.Query(t.Context(), `
		SELECT p.hold_id, p.state, coalesce(p.charge_id, ''), coalesce(p.refund_id, ''), p.booking_id, coalesce(b.status, '')
		FROM payments p LEFT JOIN bookings b ON b.id = p.booking_id
		WHERE p.flight_id = $1`, flight)
	if err != nil {
		t.Fatal(err)
	}
	type record struct{ hold, state, charge, refund, booking, bookingStatus string }
	recs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (record, error) {
		var x record
		return x, r.Scan(&x.hold, &x.state, &x.charge, &x.refund, &x.booking, &x.bookingStatus)
	})
	if err != nil {
		t.Fatal(err)
	}
	charges := map[string]string{} // charge id → hold
	booked, lost := 0, 0
	for _, r := range recs {
		if r.charge == "" {
			if r.state != string(store.PaymentDeclined) {
				t.Errorf("payment for %s is %s with no charge after recovery; want declined", r.hold, r.state)
			}
			if r.bookingStatus != "" {
				t.Errorf("booking %s exists for hold %s whose card was never charged", r.booking, r.hold)
			}
			continue
		}
		if other, dup := charges[r.charge]; dup {
			t.Errorf("charge %s recorded for holds %s and %s", r.charge, other, r.hold)
		}
		charges[r.charge] = r.hold
		switch {
		case r.bookingStatus == string(bookings.Confirmed) && r.state == string(store.PaymentCompleted):
			booked++
		case r.bookingStatus == string(bookings.Canceled) && r.state == string(store.PaymentRefunded) && r.refund != "":
			booked++
		case r.bookingStatus == "" && r.state == string(store.PaymentRefunded) && r.refund != "":
			lost++ // charged, the seats were gone: refunded
		default:
			t.Errorf("hold %s: payment %s (charge %s, refund %q) with booking %s %q", r.hold, r.state, r.charge, r.refund, r.booking, r.bookingStatus)
		}
	}
	t.Logf("storm: %d charges across both processes: %d for bookings, %d refunded for lost seats; %d bookings acknowledged", len(charges), booked, lost, len(log.booked))
	if booked < len(log.booked) {
		t.Errorf("%d charges for bookings, fewer than the %d bookings acknowledged", booked, len(log.booked))
	}
	if extra := booked - len(log.booked); int64(extra) > log.unknown.Load() {
		t.Errorf("%d charged bookings beyond the %d acknowledged, only %d outcomes unknown", extra, len(log.booked), log.unknown.Load())
	}
}
