package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// phase is where the storm stands relative to the fault. A request counts
// in the phase it started in, except that one that started before the fault
// and ended once it had begun counts as during it.
type phase int32

const (
	phaseBefore  phase = iota // warm-up, no fault
	phaseDuring               // the fault is on
	phaseHealing              // the fault is off; full service not yet proven
	phaseAfter                // full service proven
	numPhases
)

func (p phase) String() string { return [...]string{"before", "during", "healing", "after"}[p] }

// class separates offer searches (which may answer 503 no_providers when no
// provider answers, by design) from everything else.
type class int

const (
	classCore   class = iota // holds, bookings, releases, cancels, seat maps, trips
	classSearch              // GET /offers
	numClasses
)

func (c class) String() string { return [...]string{"core", "search"}[c] }

// counts are the answers of one phase and class.
type counts struct {
	total, ok, client, server, transport int
	took                                 []time.Duration
	statuses                             map[int]int
}

// quantile returns the q-quantile of the requests' durations.
func (c counts) quantile(q float64) time.Duration {
	if len(c.took) == 0 {
		return 0
	}
	d := slices.Clone(c.took)
	slices.Sort(d)
	return d[min(len(d)-1, int(q*float64(len(d))))]
}

// failed is the number of requests that failed: 5xx or transport error.
func (c counts) failed() int { return c.server + c.transport }

func (c counts) rate() float64 {
	if c.total == 0 {
		return 0
	}
	return float64(c.failed()) / float64(c.total)
}

func (c counts) String() string {
	var codes []int
	for s := range c.statuses {
		codes = append(codes, s)
	}
	sort.Ints(codes)
	var parts []string
	for _, s := range codes {
		parts = append(parts, fmt.Sprintf("%d:%d", s, c.statuses[s]))
	}
	if c.transport > 0 {
		parts = append(parts, fmt.Sprintf("transport:%d", c.transport))
	}
	return fmt.Sprintf("%d requests, %.0f%% failed, p50 %v p95 %v max %v (%s)", c.total, 100*c.rate(),
		c.quantile(0.5).Round(time.Millisecond), c.quantile(0.95).Round(time.Millisecond), c.quantile(1).Round(time.Millisecond), strings.Join(parts, " "))
}

// ledger is what the storm's clients were told, to audit the data against,
// and how the answers went in each phase.
type ledger struct {
	phase atomic.Int32

	mu     sync.Mutex
	counts [numPhases][numClasses]counts
	// booked: acknowledged bookings (201) → their seats.
	booked map[string][]string
	// canceled: acknowledged cancellations; cancelUnknown: cancellations
	// whose answer was a 5xx or never came.
	canceled, cancelUnknown map[string]bool
	// bookUnknown counts booking requests whose outcome the client could
	// not know (5xx or transport error): each may have booked.
	bookUnknown int
	// retries are those requests (bookings and cancellations), to be sent
	// again with the same Idempotency-Key once the fault has healed, as the
	// API tells clients to.
	retries []retry
	// bookedIn counts acknowledged bookings by phase.
	bookedIn [numPhases]int
	// trips: acknowledged trips (202); tripUnknown: trip requests with an
	// unknown outcome.
	trips       map[string]bool
	tripUnknown int
	// failures keeps a few failed (or slow) requests, to explain a failure.
	failures []string
}

// retry is a request whose outcome the client does not know.
type retry struct {
	key, method, path, idem, body string
	booking                       string // the booking a cancellation is for
}

func newLedger() *ledger {
	return &ledger{booked: map[string][]string{}, canceled: map[string]bool{}, cancelUnknown: map[string]bool{}, trips: map[string]bool{}}
}

func (l *ledger) current() phase { return phase(l.phase.Load()) }

func (l *ledger) enter(t testing.TB, p phase) {
	l.phase.Store(int32(p))
	if os.Getenv("FAULTS_LOG") != "" {
		fmt.Fprintf(os.Stderr, "%s ===== %s: phase %s\n", time.Now().Format("15:04:05.000"), t.Name(), p)
	}
}

// record counts one answer (status 0: transport error).
func (l *ledger) record(p phase, cl class, what string, status int, err error, took time.Duration, raw []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &l.counts[p][cl]
	c.total++
	c.took = append(c.took, took)
	switch {
	case err != nil:
		c.transport++
	case status >= 500:
		c.server++
	case status >= 400:
		c.client++
	default:
		c.ok++
	}
	if err == nil {
		if c.statuses == nil {
			c.statuses = map[int]int{}
		}
		c.statuses[status]++
	}
	if (err != nil || status >= 500 || took > 2*time.Second) && len(l.failures) < 40 {
		msg := string(raw)
		if err != nil {
			msg = err.Error()
		}
		if len(msg) > 200 {
			msg = msg[:200]
		}
		l.failures = append(l.failures, fmt.Sprintf("[%s] %s → %d in %v %s", p, what, status, took.Round(time.Millisecond), strings.TrimSpace(msg)))
	}
}

func (l *ledger) get(p phase, cl class) counts {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[p][cl]
}

// client talks to the instances, spreading requests over them.
type client struct {
	http *http.Client
	urls []string
}

func newClient(t testing.TB, urls []string) *client {
	c := &client{urls: urls, http: &http.Client{
		// Longer than any fault: a request the fault swallowed comes back
		// (failed) when the fault is removed, before this.
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
	}}
	t.Cleanup(c.http.CloseIdleConnections)
	return c
}

type reply struct {
	status int
	body   map[string]any
	raw    []byte
}

func (r reply) data() map[string]any { d, _ := r.body["data"].(map[string]any); return d }

// do sends one request to base (an instance's URL; "" picks one at random).
func (c *client) do(base, method, path, key, idem, body string) (reply, error) {
	if base == "" {
		base = c.urls[rand.IntN(len(c.urls))]
	}
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return reply{}, err
	}
	r := reply{status: res.StatusCode, raw: raw}
	json.Unmarshal(raw, &r.body)
	return r, nil
}

// storm is customers hammering the instances until stopped.
type storm struct {
	c       *client
	keys    []string
	flight  int64
	rows    int
	log     *ledger
	stopped atomic.Bool
	wg      sync.WaitGroup
	// tripEvery is the pause between two trips of the trip customer.
	tripEvery time.Duration
}

// start launches seatWorkers seat customers, one trip customer and one
// offer searcher.
func (s *storm) start(seatWorkers int) {
	for w := range seatWorkers {
		s.wg.Go(func() { s.seats(w) })
	}
	s.wg.Go(s.tripper)
	s.wg.Go(s.searcher)
}

// stop waits for every customer's request in flight to finish.
func (s *storm) stop() {
	s.stopped.Store(true)
	s.wg.Wait()
}

// call sends one request and records its answer in the phase it started in.
// A request that started before the fault and ended after it began counts
// as during the fault.
//
//lint:ignore ST1008 call is do's (reply, error) with the phase appended; the phase is never needed without them.
func (s *storm) call(cl class, key, method, path, idem, body string) (reply, error, phase) {
	p := s.log.current()
	start := time.Now()
	r, err := s.c.do("", method, path, key, idem, body)
	if p == phaseBefore && s.log.current() != phaseBefore {
		p = phaseDuring
	}
	s.log.record(p, cl, method+" "+path, r.status, err, time.Since(start), r.raw)
	return r, err, p
}

func unknown(r reply, err error) bool { return err != nil || r.status >= 500 }

// think is a short pause between a customer's requests, to keep the load
// bounded on small machines under -race.
func think(rnd *rand.Rand) { time.Sleep(time.Duration(10+rnd.IntN(20)) * time.Millisecond) }

// seats is one customer: holds (by seat and by quantity), bookings (one in
// eight declined), releases, extensions, cancellations and seat maps.
func (s *storm) seats(w int) {
	rnd := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
	key := s.keys[w%len(s.keys)]
	var myHolds, myBookings []string
	drop := func(list []string, v string) []string {
		for i, x := range list {
			if x == v {
				return append(list[:i], list[i+1:]...)
			}
		}
		return list
	}
	for i := 0; !s.stopped.Load(); i++ {
		think(rnd)
		idem := fmt.Sprintf("storm-%d-%d-%d", w, i, rnd.Int64())
		switch op := rnd.IntN(100); {
		case op < 40 || len(myHolds) == 0:
			n := 1 + rnd.IntN(3)
			var body string
			if op < 34 || len(myHolds) == 0 && op >= 40 {
				var seats []string
				for range n {
					seats = append(seats, fmt.Sprintf(`"%d%c"`, 1+rnd.IntN(s.rows), "ABCDEF"[rnd.IntN(6)]))
				}
				body = fmt.Sprintf(`{"flight_id":%d,"seats":[%s]}`, s.flight, strings.Join(seats, ","))
			} else {
				body = fmt.Sprintf(`{"flight_id":%d,"cabin":"economy","quantity":%d}`, s.flight, n)
			}
			r, err, _ := s.call(classCore, key, "POST", "/holds", idem, body)
			if err == nil && r.status == 201 {
				myHolds = append(myHolds, r.data()["id"].(string))
				if len(myHolds) > 6 {
					myHolds = myHolds[1:]
				}
			}
		case op < 65:
			h := myHolds[rnd.IntN(len(myHolds))]
			token := "tok_visa"
			if rnd.IntN(8) == 0 {
				token = "tok_chargeDeclined"
			}
			body := fmt.Sprintf(`{"hold_id":%q,"payment":{"token":%q}}`, h, token)
			r, err, p := s.call(classCore, key, "POST", "/bookings", idem, body)
			switch {
			case unknown(r, err):
				s.log.mu.Lock()
				s.log.bookUnknown++
				s.log.retries = append(s.log.retries, retry{key: key, method: "POST", path: "/bookings", idem: idem, body: body})
				s.log.mu.Unlock()
			case r.status == 201:
				d := r.data()
				var seats []string
				for _, x := range d["seats"].([]any) {
					seats = append(seats, x.(string))
				}
				s.log.mu.Lock()
				s.log.booked[d["id"].(string)] = seats
				s.log.bookedIn[p]++
				s.log.mu.Unlock()
				myBookings = append(myBookings, d["id"].(string))
				myHolds = drop(myHolds, h)
			case r.status != 402:
				myHolds = drop(myHolds, h) // gone: expired, booked, released
			}
		case op < 80:
			h := myHolds[rnd.IntN(len(myHolds))]
			r, err, _ := s.call(classCore, key, "DELETE", "/holds/"+h, idem, "")
			if !unknown(r, err) {
				myHolds = drop(myHolds, h)
			}
		case op < 85:
			h := myHolds[rnd.IntN(len(myHolds))]
			s.call(classCore, key, "POST", "/holds/"+h+"/extend", idem, "")
		case op < 93:
			if len(myBookings) == 0 {
				continue
			}
			b := myBookings[rnd.IntN(len(myBookings))]
			r, err, _ := s.call(classCore, key, "POST", "/bookings/"+b+"/cancel", idem, "")
			s.log.mu.Lock()
			switch {
			case unknown(r, err):
				s.log.cancelUnknown[b] = true
				s.log.retries = append(s.log.retries, retry{key: key, method: "POST", path: "/bookings/" + b + "/cancel", idem: idem, booking: b})
			case r.status == 200:
				s.log.canceled[b] = true
			}
			s.log.mu.Unlock()
			if r.status == 200 {
				myBookings = drop(myBookings, b)
			}
		default:
			s.call(classCore, "", "GET", fmt.Sprintf("/flights/%d/seats", s.flight), "", "")
		}
	}
}

// tripRequest is a trip for one passenger SFO → JFK, days from today.
func tripRequest(days int) string {
	date := time.Now().UTC().AddDate(0, 0, days).Format(time.DateOnly)
	return fmt.Sprintf(`{"origin":"SFO","destination":"JFK","departure_date":%q,"currency":"USD",
		"passengers":[{"given_name":"Ada","family_name":"Lovelace","born_on":"1990-12-10","title":"ms","gender":"f"}],
		"contact":{"email":"ada@example.com","phone_number":"+14155550100"}}`, date)
}

// tripper books trips every tripEvery and looks them up in between.
func (s *storm) tripper() {
	rnd := rand.New(rand.NewPCG(99, uint64(time.Now().UnixNano())))
	key := s.keys[0]
	var mine []string
	next := time.Now()
	for i := 0; !s.stopped.Load(); i++ {
		time.Sleep(50 * time.Millisecond)
		if time.Now().Before(next) {
			if len(mine) > 0 {
				s.call(classCore, key, "GET", "/trips/"+mine[rnd.IntN(len(mine))], "", "")
			}
			continue
		}
		next = time.Now().Add(s.tripEvery)
		r, err, _ := s.call(classCore, key, "POST", "/trips", fmt.Sprintf("trip-%d-%d", i, rnd.Int64()), tripRequest(20+rnd.IntN(40)))
		s.log.mu.Lock()
		switch {
		case unknown(r, err):
			s.log.tripUnknown++
		case r.status == 202:
			id := r.data()["id"].(string)
			s.log.trips[id] = true
			mine = append(mine, id)
		}
		s.log.mu.Unlock()
	}
}

// searcher searches offers on dates spread enough to miss the search cache
// most of the time.
func (s *storm) searcher() {
	rnd := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	key := s.keys[len(s.keys)-1]
	for !s.stopped.Load() {
		time.Sleep(time.Duration(100+rnd.IntN(100)) * time.Millisecond)
		date := time.Now().UTC().AddDate(0, 0, 20+rnd.IntN(300)).Format(time.DateOnly)
		s.call(classSearch, key, "GET", "/offers?origin=SFO&destination=JFK&currency=USD&departure_date="+date, "", "")
	}
}

// retryUnknown sends every request whose outcome was unknown again, with
// its Idempotency-Key, and records what it learns: a booking or a
// cancellation acknowledged now is audited like any other. It returns the
// answers by status and code, and what kept failing.
func retryUnknown(c *client, log *ledger) (map[string]int, []string) {
	log.mu.Lock()
	retries := slices.Clone(log.retries)
	log.mu.Unlock()
	answers := map[string]int{}
	var failed []string
	for _, rt := range retries {
		r, err := c.do("", rt.method, rt.path, rt.key, rt.idem, rt.body)
		answer := fmt.Sprint(r.status)
		if code, ok := r.body["code"].(string); ok {
			answer += " " + code
		}
		answers[answer]++
		if unknown(r, err) {
			failed = append(failed, fmt.Sprintf("%s %s → %d %v %s", rt.method, rt.path, r.status, err, r.raw))
			continue
		}
		log.mu.Lock()
		switch {
		case rt.booking == "" && r.status == 201:
			d := r.data()
			var seats []string
			for _, x := range d["seats"].([]any) {
				seats = append(seats, x.(string))
			}
			log.booked[d["id"].(string)] = seats
		case rt.booking != "" && r.status == 200:
			log.canceled[rt.booking] = true
		}
		log.mu.Unlock()
	}
	return answers, failed
}

// createFlight creates a flight of rows seat rows (A–F) through the API.
func createFlight(t testing.TB, c *client, admin, number string, rows int) int64 {
	t.Helper()
	var seats []string
	for r := 1; r <= rows; r++ {
		cabin := "economy"
		if r <= 2 {
			cabin = "business"
		}
		for _, l := range "ABCDEF" {
			seats = append(seats, fmt.Sprintf(`{"seat":"%d%c","cabin":%q,"price":{"amount":%d,"currency":"USD"}}`, r, l, cabin, 10000+r))
		}
	}
	body := `{"number":"` + number + `","origin":"SFO","destination":"JFK","departs_at":"2036-12-24T08:00:00Z","arrives_at":"2036-12-24T13:30:00Z","seats":[` + strings.Join(seats, ",") + `]}`
	r, err := c.do("", "POST", "/flights", admin, "", body)
	if err != nil || r.status != 201 {
		t.Fatalf("POST /flights = %d %s %v", r.status, r.raw, err)
	}
	return int64(r.data()["id"].(float64))
}

// probe checks full service on every instance, all at once: ready, a hold
// and its release, the seat map, and an offer search (with every provider
// answering when allProviders). It returns what failed, one problem a
// line, "" when nothing, and which answer came last.
func probe(c *client, key string, flight int64, allProviders bool, attempt int) (problem, slowest string) {
	var mu sync.Mutex
	var problems []string
	var wg sync.WaitGroup
	var slow time.Duration
	began := time.Now()
	for i, base := range c.urls {
		check := func(what string, r reply, err error, want int) bool {
			mu.Lock()
			if d := time.Since(began); d > slow {
				slow, slowest = d, fmt.Sprintf("%s after %v", what, d.Round(time.Millisecond))
			}
			mu.Unlock()
			if err == nil && r.status == want {
				return true
			}
			msg := string(r.raw)
			if err != nil {
				msg = err.Error()
			}
			if len(msg) > 160 {
				msg = msg[:160]
			}
			mu.Lock()
			problems = append(problems, fmt.Sprintf("%s %s = %d %s", base, what, r.status, strings.TrimSpace(msg)))
			mu.Unlock()
			return false
		}
		wg.Go(func() {
			r, err := c.do(base, "GET", "/readyz", "", "", "")
			check("GET /readyz", r, err, 200)
		})
		wg.Go(func() {
			r, err := c.do(base, "POST", "/holds", key, fmt.Sprintf("probe-%d-%d", attempt, rand.Int64()),
				fmt.Sprintf(`{"flight_id":%d,"cabin":"economy","quantity":1}`, flight))
			if check("POST /holds", r, err, 201) {
				r, err = c.do(base, "DELETE", "/holds/"+r.data()["id"].(string), key, "", "")
				if err == nil && r.status == 410 {
					return // expired already: slow, and right
				}
				check("DELETE /holds/{id}", r, err, 200)
			}
		})
		wg.Go(func() {
			r, err := c.do(base, "GET", fmt.Sprintf("/flights/%d/seats", flight), "", "", "")
			check("GET /flights/{id}/seats", r, err, 200)
		})
		wg.Go(func() {
			// A date of the probe's own, new on every attempt and instance:
			// the answer cannot come from the search cache they share.
			date := time.Now().UTC().AddDate(0, 0, 400+(attempt*len(c.urls)+i)%300).Format(time.DateOnly)
			r, err := c.do(base, "GET", "/offers?origin=SFO&destination=JFK&departure_date="+date, key, "", "")
			if !check("GET /offers", r, err, 200) || !allProviders {
				return
			}
			for _, p := range r.body["providers"].([]any) {
				if st := p.(map[string]any)["status"]; st != "ok" {
					mu.Lock()
					problems = append(problems, fmt.Sprintf("%s GET /offers: provider %v is %v", base, p.(map[string]any)["name"], st))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return strings.Join(problems, "\n"), slowest
}

// waitFullService probes until one round passes on every instance, or
// gives up after limit. It returns how long it took, which answer came
// last in the round that passed, and what the failed rounds found (each
// distinct problem once, with when it was first seen).
func waitFullService(ctx context.Context, c *client, key string, flight int64, allProviders bool, limit time.Duration) (took time.Duration, last, problem string, seen []string) {
	start := time.Now()
	known := map[string]bool{}
	for attempt := 0; ; attempt++ {
		began := time.Now()
		problem, last := probe(c, key, flight, allProviders, attempt)
		if problem == "" {
			return time.Since(start), last, "", seen
		}
		for _, p := range strings.Split(problem, "\n") {
			// Instances differ only by address: keep one of each.
			p = p[strings.Index(p, " ")+1:]
			if !known[p] {
				known[p] = true
				seen = append(seen, fmt.Sprintf("+%v %s", began.Sub(start).Round(time.Millisecond), p))
			}
		}
		if time.Since(start) > limit || ctx.Err() != nil {
			return time.Since(start), last, problem, seen
		}
		time.Sleep(100 * time.Millisecond)
	}
}
