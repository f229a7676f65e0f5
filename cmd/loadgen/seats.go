package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// seatLetters are the letters of a generated row: ten seats, no I.
const seatLetters = "ABCDEFGHJK"

// seatLabel is the i-th (from 0) seat of a generated seat map: 1A … 1K, 2A …
func seatLabel(i int) string {
	return strconv.Itoa(i/len(seatLetters)+1) + string(seatLetters[i%len(seatLetters)])
}

// mkflights creates flights with generated seat maps and prints their ids.
func mkflights(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mkflights", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "http://127.0.0.1:8080", "reservd base URL")
	admin := fs.String("admin-key", "", "admin API key")
	n := fs.Int("n", 1, "how many flights")
	seats := fs.Int("seats", 100, "seats per flight, 1 to 1000, in rows of ten (1A…1K, 2A…)")
	origin := fs.String("origin", "SFO", "origin airport")
	dest := fs.String("destination", "JFK", "destination airport")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *admin == "" || *n < 1 || *seats < 1 || *seats > 1000 {
		return errors.New("mkflights needs -admin-key, -n >= 1 and -seats from 1 to 1000")
	}
	c := newClient(1, time.Minute, stderr)
	defer c.hc.CloseIdleConnections()
	departs := time.Now().UTC().Truncate(time.Hour).Add(30 * 24 * time.Hour)
	for i := range *n {
		var b strings.Builder
		dep := departs.Add(time.Duration(i) * time.Hour)
		fmt.Fprintf(&b, `{"number":"LG%d","origin":%q,"destination":%q,"departs_at":%q,"arrives_at":%q,"seats":[`,
			1+i%9999, *origin, *dest, dep.Format(time.RFC3339), dep.Add(5*time.Hour+30*time.Minute).Format(time.RFC3339))
		for s := range *seats {
			if s > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"seat":%q,"cabin":"economy","price":{"amount":12900,"currency":"USD"}}`, seatLabel(s))
		}
		b.WriteString("]}")
		var out struct {
			Data struct {
				ID int64 `json:"id"`
			} `json:"data"`
		}
		if s := c.call(ctx, http.MethodPost, strings.TrimRight(*base, "/")+"/flights", *admin, []byte(b.String()), false, &out); s.Status != http.StatusCreated {
			return fmt.Errorf("POST /flights answered %s", statusKey(s.Status))
		}
		fmt.Fprintln(stdout, out.Data.ID)
	}
	return nil
}

type seatView struct {
	Seat   string `json:"seat"`
	Cabin  string `json:"cabin"`
	Status string `json:"status"`
}

// seatMap reads a flight's seat map through the API.
func seatMap(ctx context.Context, c *client, base string, flight int64) ([]seatView, error) {
	var page struct {
		Data []seatView `json:"data"`
	}
	err := c.getJSON(ctx, fmt.Sprintf("%s/flights/%d/seats", base, flight), "", &page)
	return page.Data, err
}

func holdBody(flight int64, seat string) []byte {
	return fmt.Appendf(nil, `{"flight_id":%d,"seats":[%q]}`, flight, seat)
}

func parseIDs(v string) ([]int64, error) {
	var ids []int64
	for _, s := range splitList(v) {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id < 1 {
			return nil, fmt.Errorf("bad flight id %q", s)
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, errors.New("no flight ids")
	}
	return ids, nil
}

// holdsCmd holds distinct seats, one per request: every request is meant
// to succeed, so the run measures the full path of a granted hold.
func holdsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, o := loadFlags("holds", stderr, 64)
	flightList := fs.String("flights", "", "flight ids, comma-separated, whose available seats are held, one seat per request")
	rate := fs.Float64("rate", 0, "requests per second in all, paced (0: as fast as the workers go); -c must be large enough to keep up")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := o.check(true); err != nil {
		return err
	}
	if *rate < 0 {
		return errors.New("-rate must not be negative")
	}
	ids, err := parseIDs(*flightList)
	if err != nil {
		return err
	}
	c := newClient(o.conc, o.timeout, stderr)
	defer c.hc.CloseIdleConnections()
	var bodies [][]byte
	for _, id := range ids {
		seats, err := seatMap(ctx, c, o.urls[0], id)
		if err != nil {
			return err
		}
		for _, s := range seats {
			if s.Status == "available" {
				bodies = append(bodies, holdBody(id, s.Seat))
			}
		}
	}
	if len(bodies) == 0 {
		return errors.New("no available seat on those flights")
	}
	var next atomic.Int64
	pace := newPacer(*rate)
	samples, elapsed := runFor(ctx, o.conc, o.warmup, o.dur, func(ctx context.Context, w int) (Sample, bool) {
		i := next.Add(1) - 1
		if i >= int64(len(bodies)) {
			return Sample{}, false
		}
		if !pace.wait(ctx, i) {
			return Sample{}, false
		}
		return c.call(ctx, http.MethodPost, o.url(w)+"/holds", o.key(w), bodies[i], true, nil), true
	})
	sum := Summarize("holds", samples, elapsed)
	used := min(next.Load(), int64(len(bodies)))
	if used == int64(len(bodies)) {
		fmt.Fprintln(stderr, "loadgen: WARNING: the seats ran out before the duration was over; give it more flights")
	}
	return report{Command: "holds", Summaries: []Summary{sum}, Extra: map[string]any{
		"concurrency": o.conc, "seats_available": len(bodies), "seats_requested": used,
		"seats_ran_out": used == int64(len(bodies)), "holds_per_sec": sum.PerSecond(http.StatusCreated), "rate": *rate,
	}}.write(stdout, o.json)
}

// flashsale starts every client at once; each holds one seat of the flight
// (a random one by label, or by cabin and quantity 1) and, if it got it,
// books it. Afterwards it checks through the API that exactly the expected
// number of seats are booked, each once.
func flashsale(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flashsale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	o.registerTarget(fs)
	clients := fs.Int("clients", 2000, "concurrent clients, one connection each")
	flight := fs.Int64("flight", 0, "the flight on sale")
	byQuantity := fs.Bool("quantity", false, `hold {"cabin": CABIN, "quantity": 1} instead of a random seat label`)
	cabin := fs.String("cabin", "economy", "the cabin with -quantity")
	expect := fs.Int("expect", -1, "seats that must end up booked (default: every available seat)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.conc = *clients
	if err := o.check(true); err != nil {
		return err
	}
	if *flight < 1 {
		return errors.New("-flight is required")
	}
	c := newClient(*clients, o.timeout, stderr, http.StatusConflict)
	defer c.hc.CloseIdleConnections()
	seats, err := seatMap(ctx, c, o.urls[0], *flight)
	if err != nil {
		return err
	}
	var labels []string
	for _, s := range seats {
		if s.Status == "available" {
			labels = append(labels, s.Seat)
		}
	}
	if len(labels) == 0 {
		return errors.New("the flight has no available seat")
	}
	if *expect < 0 {
		*expect = len(labels)
	}

	type outcome struct {
		hold, book Sample
		booked     []string
	}
	results := make([]outcome, *clients)
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	for i := range *clients {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			body := holdBody(*flight, labels[rand.IntN(len(labels))]) // #nosec G404 -- the load generator picks which seat to ask for; nothing secret
			if *byQuantity {
				body = fmt.Appendf(nil, `{"flight_id":%d,"cabin":%q,"quantity":1}`, *flight, *cabin)
			}
			base, key, r := o.url(i), o.key(i), &results[i]
			ready.Done()
			<-start
			var h struct {
				Data struct {
					ID string `json:"id"`
				} `json:"data"`
			}
			if r.hold = c.call(ctx, http.MethodPost, base+"/holds", key, body, true, &h); r.hold.Status != http.StatusCreated {
				return
			}
			var b struct {
				Data struct {
					Seats []string `json:"seats"`
				} `json:"data"`
			}
			pay := fmt.Appendf(nil, `{"hold_id":%q,"payment":{"token":"tok_visa"}}`, h.Data.ID)
			r.book = c.call(ctx, http.MethodPost, base+"/bookings", key, pay, true, &b)
			r.booked = b.Data.Seats
		}()
	}
	ready.Wait()
	began := time.Now()
	close(start)
	done.Wait()
	elapsed := time.Since(began)

	var holdSamples, bookSamples []Sample
	answered := map[string]int{} // seat → bookings that named it
	for _, r := range results {
		holdSamples = append(holdSamples, r.hold)
		if r.hold.Status == http.StatusCreated {
			bookSamples = append(bookSamples, r.book)
		}
		if r.book.Status == http.StatusCreated {
			for _, s := range r.booked {
				answered[s]++
			}
		}
	}
	all := append(append([]Sample(nil), holdSamples...), bookSamples...)
	holdSum, bookSum := Summarize("flashsale holds", holdSamples, elapsed), Summarize("flashsale bookings", bookSamples, elapsed)

	// The seat map is cached for up to a second; wait it out so that the
	// check reads the database's state.
	time.Sleep(1100 * time.Millisecond)
	after, err := seatMap(ctx, c, o.urls[0], *flight)
	if err != nil {
		return err
	}
	booked := map[string]bool{}
	for _, s := range after {
		if s.Status == "booked" {
			booked[s.Seat] = true
		}
	}
	duplicates, unknown := 0, 0
	for s, n := range answered {
		if n > 1 {
			duplicates++
		}
		if !booked[s] {
			unknown++
		}
	}
	bookingsOK := bookSum.Status[statusKey(http.StatusCreated)]
	ok := len(booked) == *expect && len(answered) == *expect && bookingsOK == *expect && duplicates == 0 && unknown == 0
	rep := report{Command: "flashsale", Summaries: []Summary{holdSum, bookSum, Summarize("flashsale all", all, elapsed)}, Extra: map[string]any{
		"clients": *clients, "seats": len(labels), "expected_booked": *expect, "sale_seconds": round(elapsed.Seconds(), 3),
		"holds_granted": holdSum.Status[statusKey(http.StatusCreated)], "bookings_confirmed": bookingsOK,
		"booked_in_seat_map": len(booked), "seats_in_booking_answers": len(answered),
		"seats_booked_twice": duplicates, "answered_but_not_booked_in_map": unknown, "verified": ok,
	}}
	if err := rep.write(stdout, o.json); err != nil {
		return err
	}
	if !ok {
		return errors.New("flash sale verification failed: see the extra fields above")
	}
	return nil
}

// conflicts holds every seat of a flight through -hold-url, then races
// for those seats through -url: every answer should be 409. Comparing the
// instances' reservd_seat_fastpath_total before and after shows how many
// refusals the fast path answered without the database.
func conflicts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, o := loadFlags("conflicts", stderr, 64)
	flight := fs.Int64("flight", 0, "the flight whose seats are raced for (keep it small: 10 seats)")
	holdURL := fs.String("hold-url", "", "the instance that takes every seat first (default: the first -url)")
	holdKey := fs.String("hold-key", "", "the API key that takes every seat first (default: the first of -keys)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := o.check(true); err != nil {
		return err
	}
	if *flight < 1 {
		return errors.New("-flight is required")
	}
	if *holdURL == "" {
		*holdURL = o.urls[0]
	}
	if *holdKey == "" {
		*holdKey = o.keys[0]
	}
	c := newClient(o.conc, o.timeout, stderr, http.StatusConflict)
	defer c.hc.CloseIdleConnections()
	seats, err := seatMap(ctx, c, o.urls[0], *flight)
	if err != nil {
		return err
	}
	labels := make([]string, len(seats))
	held := 0
	for i, s := range seats {
		labels[i] = s.Seat
		if c.call(ctx, http.MethodPost, strings.TrimRight(*holdURL, "/")+"/holds", *holdKey, holdBody(*flight, s.Seat), true, nil).Status == http.StatusCreated {
			held++
		}
	}
	before, err := fastPathCounts(ctx, c, o.urls)
	if err != nil {
		return err
	}
	var sent atomic.Int64
	samples, elapsed := runFor(ctx, o.conc, o.warmup, o.dur, func(ctx context.Context, w int) (Sample, bool) {
		sent.Add(1)
		body := holdBody(*flight, labels[rand.IntN(len(labels))]) // #nosec G404 -- the load generator picks which seat to ask for; nothing secret
		return c.call(ctx, http.MethodPost, o.url(w)+"/holds", o.key(w), body, true, nil), true
	})
	after, err := fastPathCounts(ctx, c, o.urls)
	if err != nil {
		return err
	}
	sum := Summarize("conflicts", samples, elapsed)
	hits, misses, errs := after["hit"]-before["hit"], after["miss"]-before["miss"], after["error"]-before["error"]
	share := 0.0
	if hits+misses+errs > 0 {
		share = round(hits/(hits+misses+errs), 3)
	}
	return report{Command: "conflicts", Summaries: []Summary{sum}, Extra: map[string]any{
		"instances": len(o.urls), "concurrency": o.conc, "seats": len(labels), "seats_held_first": held,
		"conflicts_per_sec": sum.PerSecond(http.StatusConflict), "requests_sent_incl_warmup": sent.Load(),
		"fastpath_hits": hits, "fastpath_misses": misses, "fastpath_errors": errs, "fastpath_hit_share": share,
	}}.write(stdout, o.json)
}

// fastPathCounts sums reservd_seat_fastpath_total by result over the
// instances' /metrics.
func fastPathCounts(ctx context.Context, c *client, urls []string) (map[string]float64, error) {
	const metric = `reservd_seat_fastpath_total{result="`
	out := map[string]float64{}
	for _, u := range urls {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+"/metrics", nil)
		if err != nil {
			return nil, err
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("scrape %s/metrics: %w", u, err)
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			rest, ok := strings.CutPrefix(sc.Text(), metric)
			if !ok {
				continue
			}
			result, value, ok := strings.Cut(rest, `"} `)
			if v, err := strconv.ParseFloat(value, 64); ok && err == nil {
				out[result] += v
			}
		}
		err = sc.Err()
		resp.Body.Close() // #nosec G104 -- the scrape is over and its error is sc.Err(), checked below
		if err != nil {
			return nil, fmt.Errorf("scrape %s/metrics: %w", u, err)
		}
	}
	return out, nil
}
