package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// seatStreamCmd opens many seat-map streams (GET /flights/{id}/seats/stream)
// on one flight, then holds a seat at a time and measures how long each
// change takes to reach the first and the last client, and, given the
// server's pid, its resident memory per open stream.
func seatStreamCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seatstream", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "http://127.0.0.1:8080", "reservd base URL")
	key := fs.String("keys", "", "a customer API key, for the holds")
	flight := fs.Int64("flight", 0, "the flight to watch (at least -rounds seats)")
	clients := fs.Int("clients", 1000, "streams to open")
	rounds := fs.Int("rounds", 20, "holds to make, one at a time, each at a random moment")
	pid := fs.Int("pid", 0, "reservd's process id: report its resident memory per stream")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *key == "" || *flight == 0 {
		return errors.New("-keys and -flight are required")
	}
	url := strings.TrimRight(*base, "/")
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}

	rssBefore := vmRSS(*pid)
	// arrivals[r][c] is when client c saw round r's seat held (ns since start).
	start := time.Now()
	arrivals := make([][]atomic.Int64, *rounds)
	for r := range arrivals {
		arrivals[r] = make([]atomic.Int64, *clients)
	}
	var (
		seatRound sync.Map // seat label → round
		labels    []string
		ended     atomic.Int64
		ready     sync.WaitGroup
		labelOnce sync.Once
	)
	ready.Add(*clients)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, 50) // connect 50 at a time
	var failed atomic.Int64
	for c := range *clients {
		sem <- struct{}{}
		go func() {
			readyDone := false
			defer func() {
				if !readyDone {
					ready.Done()
				}
				ended.Add(1)
			}()
			req, _ := http.NewRequestWithContext(sctx, http.MethodGet, fmt.Sprintf("%s/flights/%d/seats/stream", url, *flight), nil)
			res, err := hc.Do(req)
			<-sem
			if err != nil || res.StatusCode != http.StatusOK {
				failed.Add(1)
				if err == nil {
					res.Body.Close() // #nosec G104 -- a refused stream's body is closed unread; nothing to report
				}
				return
			}
			defer res.Body.Close()
			sc := bufio.NewScanner(res.Body)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			var event string
			for sc.Scan() {
				line := sc.Text()
				switch {
				case strings.HasPrefix(line, "event: "):
					event = line[7:]
				case strings.HasPrefix(line, "data: ") && event == "snapshot":
					labelOnce.Do(func() {
						var snap struct {
							Data []struct{ Seat, Status string }
						}
						if err := json.Unmarshal([]byte(line[6:]), &snap); err != nil {
							failed.Add(1)
						}
						for _, s := range snap.Data {
							if s.Status == "available" {
								labels = append(labels, s.Seat)
							}
						}
					})
					readyDone = true
					ready.Done()
				case strings.HasPrefix(line, "data: ") && event == "seats":
					at := time.Since(start).Nanoseconds()
					var changes []struct{ Seat, Status string }
					if err := json.Unmarshal([]byte(line[6:]), &changes); err != nil {
						continue // not a change list: counted as missed when its round ends
					}
					for _, ch := range changes {
						if r, ok := seatRound.Load(ch.Seat); ok && ch.Status == "held" {
							arrivals[r.(int)][c].CompareAndSwap(0, at)
						}
					}
				}
			}
		}()
	}
	ready.Wait()
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d of %d streams failed to open", n, *clients)
	}
	if len(labels) < *rounds {
		return fmt.Errorf("the flight has %d free seats, fewer than -rounds %d", len(labels), *rounds)
	}
	time.Sleep(2 * time.Second) // let the server settle before reading its memory
	rssAfter := vmRSS(*pid)

	var lastLat, firstLat []float64
	missed := 0
	for r := range *rounds {
		time.Sleep(time.Duration(rand.Int64N(int64(time.Second)))) // #nosec G404 -- a random phase against the poll; nothing secret
		seatRound.Store(labels[r], r)
		body := fmt.Sprintf(`{"flight_id": %d, "seats": [%q]}`, *flight, labels[r])
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/holds", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+*key)
		req.Header.Set("Idempotency-Key", fmt.Sprintf("seatstream-%d-%d", start.UnixNano(), r))
		res, err := hc.Do(req)
		if err != nil {
			return err
		}
		var hold struct{ Data struct{ ID string } }
		err = json.NewDecoder(res.Body).Decode(&hold)
		res.Body.Close() // #nosec G104 -- read to the end by the decoder; a close error changes nothing
		if res.StatusCode != http.StatusCreated || err != nil {
			return fmt.Errorf("POST /holds = %d (%v)", res.StatusCode, err)
		}
		committed := time.Since(start).Nanoseconds()
		deadline := time.Now().Add(5 * time.Second)
		for {
			first, last, got := int64(0), int64(0), 0
			for c := range arrivals[r] {
				if at := arrivals[r][c].Load(); at != 0 {
					got++
					if first == 0 || at < first {
						first = at
					}
					last = max(last, at)
				}
			}
			if got == *clients || time.Now().After(deadline) {
				missed += *clients - got
				if got > 0 {
					firstLat = append(firstLat, float64(first-committed)/1e6)
					lastLat = append(lastLat, float64(last-committed)/1e6)
				}
				break
			}
			time.Sleep(time.Millisecond)
		}
		del, _ := http.NewRequestWithContext(ctx, http.MethodDelete, url+"/holds/"+hold.Data.ID, nil)
		del.Header.Set("Authorization", "Bearer "+*key)
		if res, err := hc.Do(del); err == nil {
			res.Body.Close() // #nosec G104 -- the release's answer is not read; a close error changes nothing
		}
	}
	cancel()
	out := map[string]any{
		"clients": *clients, "rounds": *rounds, "missed_receipts": missed, "streams_ended_early": ended.Load(),
		"first_client_ms": pcts(firstLat), "last_client_ms": pcts(lastLat),
	}
	if *pid > 0 {
		out["rss_before_mb"], out["rss_after_mb"] = float64(rssBefore)/1024, float64(rssAfter)/1024
		out["rss_per_client_kb"] = float64(rssAfter-rssBefore) / float64(*clients)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(out)
	}
	fmt.Fprintf(stdout, "| clients | rounds | RSS before → after (MB) | RSS per client (KB) | commit → first client p50 / p99 / max (ms) | commit → last client p50 / p99 / max (ms) | missed |\n|---|---|---|---|---|---|---|\n")
	f, l := pcts(firstLat), pcts(lastLat)
	fmt.Fprintf(stdout, "| %d | %d | %.1f → %.1f | %.1f | %.1f / %.1f / %.1f | %.1f / %.1f / %.1f | %d |\n", *clients, *rounds,
		float64(rssBefore)/1024, float64(rssAfter)/1024, float64(rssAfter-rssBefore)/float64(*clients),
		f["p50"], f["p99"], f["max"], l["p50"], l["p99"], l["max"], missed)
	return nil
}

// pcts are the p50, p99 and max of v.
func pcts(v []float64) map[string]float64 {
	if len(v) == 0 {
		return map[string]float64{}
	}
	s := slices.Sorted(slices.Values(v))
	at := func(q float64) float64 { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return map[string]float64{"p50": at(0.5), "p99": at(0.99), "max": s[len(s)-1]}
}

// vmRSS is process pid's resident set in KB (0 without a pid).
func vmRSS(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
