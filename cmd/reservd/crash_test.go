package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

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
// twice.
func TestKill9MidStorm(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": testdb.PostgresURL(t), "REDIS_URL": testdb.RedisURL(t), "REDIS_PREFIX": testdb.UniquePrefix(t), "LOG_LEVEL": "error",
		"RATE_LIMIT": "0", "PAYMENT_LEASE": "1s", "SWEEP_INTERVAL": "500ms"}
	a, b := startProcess(t, env), startProcess(t, env)
	c := newClient(t)
	c.tolerant = true
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
	env := map[string]string{"DATABASE_URL": testdb.PostgresURL(t), "LOG_LEVEL": "error", "RATE_LIMIT": "0", "TRIP_LEASE": "2s",
		"DUFFEL_BASE_URL": sims.URLs["duffel"], "DUFFEL_ACCESS_TOKEN": "duffel_test_x",
		"AMADEUS_BASE_URL": sims.URLs["amadeus"], "AMADEUS_CLIENT_ID": "id", "AMADEUS_CLIENT_SECRET": "secret",
		"KIWI_BASE_URL": sims.URLs["kiwi"], "KIWI_API_KEY": "key"}
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
