package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// airports give 20 × 19 = 380 routes; with 330 dates, 125,400 distinct searches.
var airports = []string{
	"SFO", "JFK", "LAX", "ORD", "ATL", "BOS", "SEA", "DEN", "MIA", "LHR",
	"CDG", "FRA", "AMS", "MAD", "FCO", "NRT", "SIN", "SYD", "YYZ", "MEX",
}

// distinctSearch is the n-th (from 0) search of a run of distinct ones:
// every route once, then every route on the next date, and so on.
func distinctSearch(n int64, today time.Time) (origin, dest string, date time.Time) {
	routes := int64(len(airports) * (len(airports) - 1))
	r := n % routes
	o, d := r/int64(len(airports)-1), r%int64(len(airports)-1)
	if d >= o {
		d++
	}
	return airports[o], airports[d], today.AddDate(0, 0, int(1+(n/routes)%330))
}

// offers searches offers: each search distinct (a cache miss, so every
// provider is asked) or, with -same, one search repeated (cache hits). A
// distinct search's latency is also summarized by which providers did not
// answer "ok" (e.g. offers[duffel=timeout]).
func offers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, o := loadFlags("offers", stderr, 32)
	same := fs.Bool("same", false, "repeat one search (-origin, -destination, -date) instead of distinct ones")
	origin := fs.String("origin", "SFO", "origin with -same")
	dest := fs.String("destination", "JFK", "destination with -same")
	date := fs.String("date", time.Now().UTC().AddDate(0, 0, 30).Format(time.DateOnly), "departure date with -same")
	currency := fs.String("currency", "USD", "currency")
	returnDays := fs.Int("return-days", 0, "round trips returning this many days after departure (0: one way)")
	adults := fs.Int("adults", 1, "adults per search")
	children := fs.Int("children", 0, "children per search")
	infants := fs.Int("infants", 0, "infants per search")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *returnDays < 0 || *adults < 1 || *children < 0 || *infants < 0 {
		return fmt.Errorf("offers: -return-days, -children and -infants must not be negative, -adults at least 1")
	}
	if err := o.check(true); err != nil {
		return err
	}
	c := newClient(o.conc, o.timeout, stderr)
	defer c.hc.CloseIdleConnections()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	query := func(origin, dest, date string) string {
		q := url.Values{"origin": {origin}, "destination": {dest}, "departure_date": {date},
			"adults": {strconv.Itoa(*adults)}, "currency": {*currency}}
		if *children > 0 {
			q.Set("children", strconv.Itoa(*children))
		}
		if *infants > 0 {
			q.Set("infants", strconv.Itoa(*infants))
		}
		if *returnDays > 0 {
			if d, err := time.Parse(time.DateOnly, date); err == nil {
				q.Set("return_date", d.AddDate(0, 0, *returnDays).Format(time.DateOnly))
			}
		}
		return "/offers?" + q.Encode()
	}
	fixed := query(*origin, *dest, *date)
	var seq atomic.Int64
	samples, elapsed := runFor(ctx, o.conc, o.warmup, o.dur, func(ctx context.Context, w int) (Sample, bool) {
		if *same {
			// Not decoded: the client stays as light as for the bare handler.
			return c.call(ctx, http.MethodGet, o.url(w)+fixed, o.key(w), nil, false, nil), true
		}
		from, to, day := distinctSearch(seq.Add(1)-1, today)
		var res struct {
			Providers []struct {
				Name   string `json:"name"`
				Status string `json:"status"`
			} `json:"providers"`
		}
		s := c.call(ctx, http.MethodGet, o.url(w)+query(from, to, day.Format(time.DateOnly)), o.key(w), nil, false, &res)
		var failed []string
		for _, p := range res.Providers {
			if p.Status != "ok" {
				failed = append(failed, p.Name+"="+p.Status)
			}
		}
		slices.Sort(failed)
		s.Tag = strings.Join(failed, ",")
		if s.Tag == "" {
			s.Tag = "all ok"
		}
		if s.Status != http.StatusOK {
			s.Tag = "status " + statusKey(s.Status)
		}
		return s, true
	})
	name := "offers distinct"
	if *same {
		name = "offers same"
	}
	if *returnDays > 0 || *adults != 1 || *children > 0 || *infants > 0 {
		trip := "one-way"
		if *returnDays > 0 {
			trip = "round-trip"
		}
		name += fmt.Sprintf(" %s %dA", trip, *adults)
		if *children > 0 {
			name += fmt.Sprintf("+%dC", *children)
		}
		if *infants > 0 {
			name += fmt.Sprintf("+%dI", *infants)
		}
	}
	sums := []Summary{Summarize(name, samples, elapsed)}
	if !*same {
		sums = append(sums, ByTag(name, samples, elapsed)...)
	}
	return report{Command: "offers", Summaries: sums, Extra: map[string]any{
		"concurrency": o.conc, "searches_per_sec": sums[0].PerSecond(http.StatusOK),
	}}.write(stdout, o.json)
}

// getCmd GETs one URL (for example a bare net/http handler, as a baseline).
func getCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, o := loadFlags("get", stderr, 32)
	name := fs.String("name", "get", "the name of the run in the output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := o.check(false); err != nil {
		return err
	}
	if len(o.urls) == 0 || !strings.Contains(strings.TrimPrefix(o.urls[0], "http://"), "/") {
		return errors.New("-url must be a full URL with a path")
	}
	c := newClient(o.conc, o.timeout, stderr)
	defer c.hc.CloseIdleConnections()
	samples, elapsed := runFor(ctx, o.conc, o.warmup, o.dur, func(ctx context.Context, w int) (Sample, bool) {
		return c.call(ctx, http.MethodGet, o.url(w), o.key(w), nil, false, nil), true
	})
	sum := Summarize(*name, samples, elapsed)
	return report{Command: "get", Summaries: []Summary{sum}, Extra: map[string]any{
		"concurrency": o.conc, "ok_per_sec": sum.PerSecond(http.StatusOK),
	}}.write(stdout, o.json)
}
