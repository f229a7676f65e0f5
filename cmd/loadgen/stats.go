package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Sample is one request: how long it took and how it ended.
type Sample struct {
	Latency time.Duration
	Status  int    // the HTTP status; 0 when no answer came (a transport error)
	Tag     string // optional grouping, e.g. which providers failed an offer search
}

// Summary describes a set of samples measured over a wall-clock interval.
type Summary struct {
	Name     string         `json:"name"`
	Requests int            `json:"requests"`
	Seconds  float64        `json:"seconds"`
	RPS      float64        `json:"rps"`
	P50MS    float64        `json:"p50_ms"`
	P90MS    float64        `json:"p90_ms"`
	P99MS    float64        `json:"p99_ms"`
	MaxMS    float64        `json:"max_ms"`
	Status   map[string]int `json:"status"` // by HTTP status code; "error" for no answer
}

// Summarize computes a Summary of samples taken over elapsed. It does not
// modify samples.
func Summarize(name string, samples []Sample, elapsed time.Duration) Summary {
	s := Summary{Name: name, Requests: len(samples), Seconds: round(elapsed.Seconds(), 3), Status: map[string]int{}}
	if elapsed > 0 {
		s.RPS = round(float64(len(samples))/elapsed.Seconds(), 1)
	}
	lat := make([]time.Duration, len(samples))
	for i, x := range samples {
		lat[i] = x.Latency
		s.Status[statusKey(x.Status)]++
	}
	slices.Sort(lat)
	s.P50MS = ms(Percentile(lat, 50))
	s.P90MS = ms(Percentile(lat, 90))
	s.P99MS = ms(Percentile(lat, 99))
	s.MaxMS = ms(Percentile(lat, 100))
	return s
}

// ByTag summarizes each tag's samples separately, named name[tag], in tag order.
func ByTag(name string, samples []Sample, elapsed time.Duration) []Summary {
	groups := map[string][]Sample{}
	for _, x := range samples {
		groups[x.Tag] = append(groups[x.Tag], x)
	}
	var out []Summary
	for _, tag := range slices.Sorted(maps.Keys(groups)) {
		out = append(out, Summarize(name+"["+tag+"]", groups[tag], elapsed))
	}
	return out
}

// PerSecond is how many answers with this status came per second.
func (s Summary) PerSecond(status int) float64 {
	if s.Seconds <= 0 {
		return 0
	}
	return round(float64(s.Status[statusKey(status)])/s.Seconds, 1)
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value that at least p% of the values do
// not exceed. It returns 0 for no values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func statusKey(code int) string {
	if code == 0 {
		return "error"
	}
	return strconv.Itoa(code)
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 2) }

func round(x float64, digits int) float64 {
	f := math.Pow(10, float64(digits))
	return math.Round(x*f) / f
}

// statusText lists status counts compactly, most frequent first: "201:9800 409:12".
func statusText(m map[string]int) string {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// writeTable prints summaries as a fixed-width table.
func writeTable(w io.Writer, sums []Summary) {
	fmt.Fprintf(w, "%-28s %9s %8s %9s %9s %9s %9s %9s  %s\n", "name", "requests", "seconds", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "status")
	for _, s := range sums {
		fmt.Fprintf(w, "%-28s %9d %8.2f %9.1f %9.2f %9.2f %9.2f %9.2f  %s\n",
			s.Name, s.Requests, s.Seconds, s.RPS, s.P50MS, s.P90MS, s.P99MS, s.MaxMS, statusText(s.Status))
	}
}
