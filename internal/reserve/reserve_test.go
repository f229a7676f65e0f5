package reserve_test

import (
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/cache"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/idempotency"
	"github.com/reservd/reservd/internal/jobs"
	"github.com/reservd/reservd/internal/payment"
	"github.com/reservd/reservd/internal/reserve"
	"github.com/reservd/reservd/internal/seatlock"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"))
}

type env struct {
	st     store.Store
	gw     *payment.TestGateway
	svc    *reserve.Service
	reg    *prometheus.Registry
	flight int64
	alice  apikey.Principal
	cfg    reserve.Config
}

func newEnv(t *testing.T, newStore storetest.NewStore, locks seatlock.Locker, tune func(*reserve.Config)) *env {
	t.Helper()
	return newEnvWithCache(t, newStore, locks, nil, tune)
}

// newEnvWithCache is newEnv with reads as the shared read cache (nil: in process).
func newEnvWithCache(t *testing.T, newStore storetest.NewStore, locks seatlock.Locker, reads cache.Cache, tune func(*reserve.Config)) *env {
	t.Helper()
	e := &env{st: newStore(t), gw: payment.NewTestGateway(), reg: prometheus.NewRegistry(), cfg: reserve.DefaultConfig()}
	if tune != nil {
		tune(&e.cfg)
	}
	if locks == nil {
		locks = seatlock.NewMemory(nil)
	}
	if reads == nil {
		reads = cache.NewMemory(nil)
	}
	e.svc = reserve.New(e.st, locks, reads, e.gw, nil, e.reg, e.cfg)
	f, err := e.st.FlightCreate(t.Context(), storetest.Flight("RV1", "SFO", "JFK", time.Date(2036, 12, 24, 8, 0, 0, 0, time.UTC), 2, 10))
	if err != nil {
		t.Fatal(err)
	}
	e.flight = f.ID
	_, digest := apikey.Generate()
	id, err := e.st.APIKeyCreate(t.Context(), store.APIKeyCreateParams{Name: "alice", Digest: digest, Admin: false})
	if err != nil {
		t.Fatal(err)
	}
	e.alice = apikey.Principal{KeyID: id, Name: "alice"}
	return e
}

// replica is another service instance on the same database and gateway.
func (e *env) replica() *reserve.Service {
	return reserve.New(e.st, seatlock.NewMemory(nil), cache.NewMemory(nil), e.gw, nil, nil, e.cfg)
}

func (e *env) hold(t *testing.T, seats ...string) holds.Hold {
	t.Helper()
	h, err := e.svc.Hold(t.Context(), e.alice, holds.Request{FlightID: e.flight, Seats: seats}, nil)
	if err != nil {
		t.Fatalf("Hold %v: %v", seats, err)
	}
	return h
}

// intent records a booking intent the way a request does, then "dies":
// nothing drives the payment further.
func (e *env) intent(t *testing.T, h holds.Hold, token string) store.Payment {
	t.Helper()
	p, err := e.st.PaymentBegin(t.Context(), store.PaymentBeginParams{KeyID: e.alice.KeyID, HoldID: h.ID, Token: token,
		BookingID: bookings.NewID(), Lease: e.cfg.PaymentLease, Pin: e.cfg.PaymentPin})
	if err != nil {
		t.Fatalf("BeginBooking: %v", err)
	}
	return p
}

func shortLease(c *reserve.Config) { c.PaymentLease = 700 * time.Millisecond }

func forEachEngine(t *testing.T, f func(t *testing.T, newStore storetest.NewStore)) {
	for name, newStore := range storetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, newStore)
		})
	}
}

// TestCrashAfterIntent: the request recorded its intent and died before
// charging. Recovery charges once and books.
func TestCrashAfterIntent(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, newStore storetest.NewStore) {
		e := newEnv(t, newStore, nil, shortLease)
		h := e.hold(t, "10A", "10B")
		p := e.intent(t, h, payment.TokenVisa)
		if n, _ := e.svc.RecoverPayments(t.Context()); n != 0 {
			t.Fatalf("recovered %d payments while their lease was live", n)
		}
		time.Sleep(2 * e.cfg.PaymentLease)
		n, err := e.svc.RecoverPayments(t.Context())
		if err != nil || n != 1 {
			t.Fatalf("RecoverPayments = %d, %v; want 1", n, err)
		}
		got, _ := e.st.HoldGet(t.Context(), e.alice.KeyID, h.ID)
		if got.Status != holds.Booked || got.BookingID != p.BookingID {
			t.Errorf("hold after recovery = %+v, want booked as %s", got, p.BookingID)
		}
		if e.gw.Succeeded() != 1 || e.gw.ChargedFor("charge_"+h.ID) != 1 {
			t.Errorf("gateway charged %d times, want once", e.gw.Succeeded())
		}
		time.Sleep(2 * e.cfg.PaymentLease)
		if n, _ := e.svc.RecoverPayments(t.Context()); n != 0 {
			t.Errorf("a settled payment was recovered again")
		}
		if e.gw.Succeeded() != 1 {
			t.Errorf("charged again")
		}
	})
}

// TestCrashAfterCharge: the gateway took the money but its answer never
// arrived. The request fails without storing anything; recovery charges
// again with the same idempotency key, which the gateway answers with the
// first charge, and books.
func TestCrashAfterCharge(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, newStore storetest.NewStore) {
		e := newEnv(t, newStore, nil, shortLease)
		h := e.hold(t, "11C")
		var lost sync.Once
		e.gw.OnCharge = func(payment.Charge) error {
			err := errors.New("connection reset by peer")
			lost.Do(func() {})
			return err
		}
		_, err := e.svc.Book(t.Context(), e.alice, h.ID, payment.TokenVisa, nil)
		if !errors.Is(err, reserve.ErrPaymentUnavailable) {
			t.Fatalf("Book with a lost gateway answer: %v, want ErrPaymentUnavailable", err)
		}
		e.gw.OnCharge = nil
		if got, _ := e.st.HoldGet(t.Context(), e.alice.KeyID, h.ID); got.Status != holds.Active {
			t.Errorf("hold after the lost answer = %s, want active (its payment pins it)", got.Status)
		}
		if e.gw.Succeeded() != 1 {
			t.Fatalf("gateway recorded %d charges, want 1", e.gw.Succeeded())
		}
		time.Sleep(2 * e.cfg.PaymentLease)
		if n, err := e.svc.RecoverPayments(t.Context()); err != nil || n != 1 {
			t.Fatalf("RecoverPayments = %d, %v", n, err)
		}
		all, _ := e.st.BookingListByFlight(t.Context(), e.flight)
		if len(all) != 1 || all[0].HoldID != h.ID || all[0].Status != bookings.Confirmed {
			t.Errorf("bookings after recovery = %+v", all)
		}
		if e.gw.Succeeded() != 1 {
			t.Errorf("card charged %d times, want once", e.gw.Succeeded())
		}
	})
}

// TestRetryAfterLostAnswer: the client retries a booking whose gateway
// answer was lost; the retry takes the payment over and books with the
// first charge.
func TestRetryAfterLostAnswer(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, newStore storetest.NewStore) {
		e := newEnv(t, newStore, nil, nil)
		h := e.hold(t, "12A")
		e.gw.OnCharge = func(payment.Charge) error { return errors.New("connection reset by peer") }
		if _, err := e.svc.Book(t.Context(), e.alice, h.ID, payment.TokenVisa, nil); !errors.Is(err, reserve.ErrPaymentUnavailable) {
			t.Fatalf("Book with a lost answer: %v", err)
		}
		e.gw.OnCharge = nil
		b, err := e.svc.Book(t.Context(), e.alice, h.ID, payment.TokenVisa, nil)
		if err != nil || b.HoldID != h.ID {
			t.Fatalf("retried Book = %+v, %v", b, err)
		}
		if e.gw.Succeeded() != 1 {
			t.Errorf("card charged %d times, want once", e.gw.Succeeded())
		}
	})
}

// TestCrashAfterDeclinedIntent: a recovered declined payment leaves the hold active.
func TestCrashAfterDeclinedIntent(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, newStore storetest.NewStore) {
		e := newEnv(t, newStore, nil, shortLease)
		h := e.hold(t, "12D")
		e.intent(t, h, payment.TokenDeclined)
		time.Sleep(2 * e.cfg.PaymentLease)
		if n, err := e.svc.RecoverPayments(t.Context()); err != nil || n != 1 {
			t.Fatalf("RecoverPayments = %d, %v", n, err)
		}
		if got, _ := e.st.HoldGet(t.Context(), e.alice.KeyID, h.ID); got.Status != holds.Active {
			t.Errorf("hold after a recovered decline = %s, want active", got.Status)
		}
		if b, err := e.svc.Book(t.Context(), e.alice, h.ID, payment.TokenVisa, nil); err != nil || b.HoldID != h.ID {
			t.Errorf("booking after the decline = %+v, %v", b, err)
		}
	})
}

// TestRecoveryAcrossReplicas: three replicas recover the same stale
// payments at once; each is charged and booked exactly once.
func TestRecoveryAcrossReplicas(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, newStore storetest.NewStore) {
		e := newEnv(t, newStore, nil, shortLease)
		var hs []holds.Hold
		for _, s := range []string{"10A", "10B", "10C", "10D", "10E", "10F", "11A", "11B"} {
			h := e.hold(t, s)
			e.intent(t, h, payment.TokenVisa)
			hs = append(hs, h)
		}
		time.Sleep(2 * e.cfg.PaymentLease)
		var wg sync.WaitGroup
		for _, svc := range []*reserve.Service{e.svc, e.replica(), e.replica()} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := svc.RecoverPayments(t.Context()); err != nil {
					t.Errorf("RecoverPayments: %v", err)
				}
			}()
		}
		wg.Wait()
		all, _ := e.st.BookingListByFlight(t.Context(), e.flight)
		if len(all) != len(hs) || e.gw.Succeeded() != len(hs) {
			t.Errorf("%d bookings, %d charges; want %d of each", len(all), e.gw.Succeeded(), len(hs))
		}
	})
}

func TestCancelRefundsOnceEvenWhenTheGatewayFails(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, newStore storetest.NewStore) {
		e := newEnv(t, newStore, nil, shortLease)
		b, err := e.svc.Book(t.Context(), e.alice, e.hold(t, "1A").ID, payment.TokenVisa, nil)
		if err != nil {
			t.Fatal(err)
		}
		e.gw.FailNext(1)
		if _, err := e.svc.Cancel(t.Context(), e.alice, b.ID, nil); err != nil {
			t.Fatalf("Cancel with a failing gateway: %v (the refund is deferred, the cancel stands)", err)
		}
		if e.gw.Refunded() != 0 {
			t.Fatal("refunded through a failing gateway")
		}
		if p, _ := e.st.PaymentGet(t.Context(), b.HoldID); p.State != store.PaymentRefunding {
			t.Fatalf("payment = %s, want refunding", p.State)
		}
		// Recovery retries the refund the cancel could not make.
		deadline := time.Now().Add(10 * time.Second)
		for e.gw.Refunded() == 0 && time.Now().Before(deadline) {
			if _, err := e.svc.RecoverRefunds(t.Context()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if e.gw.Refunded() != 1 {
			t.Fatalf("refunds = %d, want 1", e.gw.Refunded())
		}
		if p, _ := e.st.PaymentGet(t.Context(), b.HoldID); p.State != store.PaymentRefunded {
			t.Errorf("payment = %s, want refunded", p.State)
		}
		e.svc.RecoverRefunds(t.Context())
		if e.gw.Refunded() != 1 {
			t.Errorf("refunded twice")
		}
	})
}

func TestSweepReleasesFastPathKeys(t *testing.T) {
	t.Parallel()
	locks := seatlock.NewMemory(nil)
	e := newEnv(t, storetest.Engines["sqlite"], locks, func(c *reserve.Config) { c.HoldTTL = 200 * time.Millisecond })
	h := e.hold(t, "10A")
	// The fast-path key would lapse with the hold (its TTL is the hold's),
	// and then the test would pass with no release at all: stretch it, so
	// only the sweeper's release can free the seat below.
	if err := locks.Extend(t.Context(), e.flight, h.Seats, h.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	// Expired in the database at once; the fast path still remembers until
	// swept, and the sweeper tells it.
	if taken, err := locks.Acquire(t.Context(), e.flight, h.Seats, "hld_other", time.Minute); err != nil || len(taken) != 1 {
		t.Fatalf("fast path before the sweep: taken %v, %v; want 10A still taken", taken, err)
	}
	n, err := e.svc.SweepExpired(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("SweepExpired = %d, %v", n, err)
	}
	if taken, err := locks.Acquire(t.Context(), e.flight, h.Seats, "hld_other", time.Minute); err != nil || len(taken) != 0 {
		t.Errorf("fast path after the sweep: taken %v, %v", taken, err)
	}
	if got := testutil.ToFloat64(metric(t, e.reg, "reservd_hold_expiry_lag_seconds")); got != 0 {
		t.Errorf("expiry lag after the sweep = %v", got)
	}
}

func TestFastPathRefusesWithoutTheDatabase(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.Engines["sqlite"], nil, nil)
	e.hold(t, "10A", "10B")
	_, err := e.svc.Hold(t.Context(), e.alice, holds.Request{FlightID: e.flight, Seats: []string{"10C", "10B"}}, nil)
	var unavailable *holds.SeatsUnavailableError
	if !errors.As(err, &unavailable) || len(unavailable.Seats) != 1 || unavailable.Seats[0] != "10B" {
		t.Fatalf("Hold of a taken seat: %v", err)
	}
	if hits := testutil.ToFloat64(counter(t, e.reg, "reservd_seat_fastpath_total", "hit")); hits != 1 {
		t.Errorf("fast-path hits = %v, want 1", hits)
	}
	// The refused request left nothing behind: 10C is free in both places.
	if _, err := e.svc.Hold(t.Context(), e.alice, holds.Request{FlightID: e.flight, Seats: []string{"10C"}}, nil); err != nil {
		t.Errorf("10C after a refused request: %v", err)
	}
}

func TestRedisDownFallsBackToTheDatabase(t *testing.T) {
	t.Parallel()
	rdb, err := seatlock.NewRedisClient("redis://127.0.0.1:1/0")
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	locks, err := seatlock.NewRedis(rdb)
	if err != nil {
		t.Fatal(err)
	}
	reads, err := cache.NewRedis(rdb)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWithCache(t, storetest.Engines["postgres"], locks, reads, nil)
	h := e.hold(t, "10A")
	if _, err := e.svc.Hold(t.Context(), e.alice, holds.Request{FlightID: e.flight, Seats: []string{"10A"}}, nil); err == nil {
		t.Fatal("the database granted a held seat with Redis down")
	}
	if _, err := e.svc.Book(t.Context(), e.alice, h.ID, payment.TokenVisa, nil); err != nil {
		t.Fatalf("Book with Redis down: %v", err)
	}
	if errs := testutil.ToFloat64(counter(t, e.reg, "reservd_seat_fastpath_total", "error")); errs < 2 {
		t.Errorf("fast-path errors counted = %v, want every fallback counted", errs)
	}
}

func metric(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	return gathered{t: t, reg: reg, name: name}
}

func counter(t *testing.T, reg *prometheus.Registry, name, label string) prometheus.Collector {
	t.Helper()
	return gathered{t: t, reg: reg, name: name, label: label}
}

// gathered exposes one series of a registry as a collector for testutil.
type gathered struct {
	t     *testing.T
	reg   *prometheus.Registry
	name  string
	label string
}

func (g gathered) Describe(chan<- *prometheus.Desc) {}

func (g gathered) Collect(ch chan<- prometheus.Metric) {
	mfs, err := g.reg.Gather()
	if err != nil {
		g.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != g.name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if g.label != "" && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != g.label) {
				continue
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(g.name, "", nil, nil), prometheus.UntypedValue, v)
			return
		}
	}
	g.t.Fatalf("metric %s{%s} not found", g.name, g.label)
}

// TestCleanIdempotencyKeysJob runs the cleanup job as the service schedules
// it (through a jobs.Runner pass): keys older than its retention go, younger
// ones stay. The job never ran in a test before, so a job that did nothing,
// or a store that deleted every key, went unnoticed.
func TestCleanIdempotencyKeysJob(t *testing.T) {
	if idempotency.Retention < 24*time.Hour {
		t.Errorf("idempotency.Retention = %v; API.md promises keys are kept at least 24 h", idempotency.Retention)
	}
	forEachEngine(t, func(t *testing.T, newStore storetest.NewStore) {
		e := newEnv(t, newStore, nil, nil)
		claim := func(key string) idempotency.Outcome {
			t.Helper()
			c, err := e.st.IdempotencyKeyClaim(t.Context(), idempotency.ClaimParams{KeyID: e.alice.KeyID, Key: key, Fingerprint: "fp", Lease: time.Minute})
			if err != nil {
				t.Fatalf("claim %s: %v", key, err)
			}
			return c.Outcome
		}
		claim("old")
		time.Sleep(1200 * time.Millisecond)
		claim("young")

		job := e.svc.CleanIdempotencyKeysJob(time.Hour, 600*time.Millisecond)
		reg := prometheus.NewRegistry()
		jobs.NewRunner(slog.New(slog.DiscardHandler), reg, job).Once(t.Context(), job)
		if got := testutil.ToFloat64(counter(t, reg, "reservd_job_items_total", job.Name)); got != 1 {
			t.Errorf("%s handled %v keys, want 1 (the old one)", job.Name, got)
		}
		if got := claim("old"); got != idempotency.Proceed {
			t.Errorf("old key after the job = %v, want forgotten (proceed)", got)
		}
		if got := claim("young"); got != idempotency.InFlight {
			t.Errorf("young key after the job = %v, want kept (in flight)", got)
		}
	})
}
