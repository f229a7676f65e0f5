package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func msDurations(vals ...int) []time.Duration {
	out := make([]time.Duration, len(vals))
	for i, v := range vals {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value", msDurations(7), 99, 7 * time.Millisecond},
		{"one value p100", msDurations(7), 100, 7 * time.Millisecond},
		{"median of 1..100", hundred, 50, 50 * time.Millisecond},
		{"p90 of 1..100", hundred, 90, 90 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"max of 1..100", hundred, 100, 100 * time.Millisecond},
		{"tiny p is the minimum", hundred, 0.001, 1 * time.Millisecond},
		// Nearest rank: the smallest value that at least p% do not exceed.
		{"median of four", msDurations(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of four is the max", msDurations(1, 2, 3, 4), 99, 4 * time.Millisecond},
		{"p75 of four", msDurations(1, 2, 3, 4), 75, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	// 1..200 ms in a shuffled order; the 200 ms one failed with no answer,
	// the 199 ms one was a 409, the rest 201.
	var samples []Sample
	for i := 1; i <= 200; i++ {
		s := Sample{Latency: time.Duration(i) * time.Millisecond, Status: 201}
		switch i {
		case 199:
			s.Status = 409
		case 200:
			s.Status = 0
		}
		samples = append(samples, s)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(samples), func(i, j int) { samples[i], samples[j] = samples[j], samples[i] })
	orig := slices.Clone(samples)

	got := Summarize("holds", samples, 4*time.Second)
	want := Summary{
		Name: "holds", Requests: 200, Seconds: 4, RPS: 50,
		P50MS: 100, P90MS: 180, P99MS: 198, MaxMS: 200,
		Status: map[string]int{"201": 198, "409": 1, "error": 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Summarize =\n%+v\nwant\n%+v", got, want)
	}
	if !slices.Equal(samples, orig) {
		t.Error("Summarize reordered its input")
	}
	if r := got.PerSecond(201); r != 49.5 {
		t.Errorf("PerSecond(201) = %v, want 49.5", r)
	}
	if r := got.PerSecond(500); r != 0 {
		t.Errorf("PerSecond(500) = %v, want 0", r)
	}
}

func TestSummarizeEmpty(t *testing.T) {
	t.Parallel()
	got := Summarize("none", nil, 0)
	if got.Requests != 0 || got.RPS != 0 || got.P99MS != 0 || got.MaxMS != 0 || len(got.Status) != 0 || got.PerSecond(200) != 0 {
		t.Errorf("Summarize(nil) = %+v", got)
	}
}

func TestByTag(t *testing.T) {
	t.Parallel()
	samples := []Sample{
		{Latency: 3 * time.Second, Status: 200, Tag: "duffel=timeout"},
		{Latency: 10 * time.Millisecond, Status: 200, Tag: "duffel=circuit_open"},
		{Latency: 20 * time.Millisecond, Status: 200, Tag: "duffel=circuit_open"},
	}
	got := ByTag("offers", samples, time.Second)
	if len(got) != 2 {
		t.Fatalf("ByTag gave %d summaries, want 2: %+v", len(got), got)
	}
	if got[0].Name != "offers[duffel=circuit_open]" || got[0].Requests != 2 || got[0].MaxMS != 20 {
		t.Errorf("first = %+v", got[0])
	}
	if got[1].Name != "offers[duffel=timeout]" || got[1].Requests != 1 || got[1].P50MS != 3000 {
		t.Errorf("second = %+v", got[1])
	}
}

func TestReportOutput(t *testing.T) {
	t.Parallel()
	r := report{Command: "holds", Summaries: []Summary{Summarize("holds", []Sample{{Latency: time.Millisecond, Status: 201}}, time.Second)},
		Extra: map[string]any{"holds_per_sec": 1.0}}
	var js bytes.Buffer
	if err := r.write(&js, true); err != nil {
		t.Fatal(err)
	}
	var back report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("JSON output does not parse: %v\n%s", err, js.String())
	}
	if back.Summaries[0].Status["201"] != 1 || back.Extra["holds_per_sec"] != 1.0 {
		t.Errorf("JSON round trip lost data: %+v", back)
	}
	var table bytes.Buffer
	if err := r.write(&table, false); err != nil {
		t.Fatal(err)
	}
	if out := table.String(); !strings.Contains(out, "201:1") || !strings.Contains(out, "holds_per_sec: 1") {
		t.Errorf("table lacks the status counts or extras:\n%s", out)
	}
}

func TestStatusText(t *testing.T) {
	t.Parallel()
	if got := statusText(map[string]int{"409": 5, "201": 90, "error": 5}); got != "201:90 409:5 error:5" {
		t.Errorf("statusText = %q", got)
	}
}

func TestDistinctSearch(t *testing.T) {
	t.Parallel()
	today := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	const n = 3 * 380
	for i := range int64(n) {
		o, d, date := distinctSearch(i, today)
		if o == d {
			t.Fatalf("search %d goes from %s to itself", i, o)
		}
		if !date.After(today) {
			t.Fatalf("search %d is not in the future: %s", i, date)
		}
		seen[o+d+date.Format(time.DateOnly)] = true
	}
	if len(seen) != n {
		t.Errorf("%d searches, %d distinct", n, len(seen))
	}
}

func TestSeatLabel(t *testing.T) {
	t.Parallel()
	for i, want := range map[int]string{0: "1A", 7: "1H", 8: "1J", 9: "1K", 10: "2A", 999: "100K"} {
		if got := seatLabel(i); got != want {
			t.Errorf("seatLabel(%d) = %q, want %q", i, got, want)
		}
	}
}
