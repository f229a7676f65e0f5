// Command loadgen is a load generator for reservd's benchmarks. It drives
// holds, a flash sale, seat conflicts and offer searches against one or more
// reservd instances over plain net/http and prints, per kind of request, the
// latency percentiles (p50, p90, p99, max), requests per second and the
// count of each status code, as a table or (-json) as one JSON object.
// The scripts in bench/ run it; docs/PERFORMANCE.md has their results.
//
// Usage:
//
//	loadgen mkflights -url U -admin-key K -n 3 -seats 1000   # prints the new flight ids
//	loadgen holds     -url U -keys K1,K2 -flights 1,2,3 -c 64 -d 15s
//	loadgen flashsale -url U -keys K1,K2 -flight 4 -clients 2000
//	loadgen conflicts -url U1,U2 -keys K1,K2 -flight 5 -c 64 -d 15s
//	loadgen offers    -url U -keys K -c 32 -d 15s [-same]
//	loadgen get       -url http://host/path -c 32 -d 15s [-keys K]
//	loadgen seatstream -url U -keys K -flight 6 -clients 1000 -rounds 20 [-pid P]
//	loadgen holds     -url U -keys K -flights 1,2,3 -c 16 -d 10s -rate 500   # paced
//	loadgen webhook-receiver -url U -keys K -listen 127.0.0.1:9000
//
// Every request carries its own Idempotency-Key where the API needs one, and
// an API key taken round-robin from -keys by worker. -url takes several
// comma-separated base URLs; worker i talks to the i-th modulo their number.
// Latencies are kept per request in memory (no histogram buckets), so the
// percentiles are exact; a run of a few minutes costs a few MB.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

const usage = `usage: loadgen COMMAND [flags]

commands:
  mkflights  create flights with generated seat maps through the API; prints their ids
  holds      hold distinct seats, one per request, for a duration
  flashsale  many clients at once each hold a seat of one flight and book it; verifies the outcome
  conflicts  hold every seat of a flight, then race for those seats (every answer should be 409)
  offers     search offers, each search distinct (cache misses) or the same one (-same)
  get        GET one URL repeatedly
  seatstream open many seat-map streams, hold seats, measure fan-out latency and memory per stream
  webhook-receiver  register a webhook endpoint, receive and verify its deliveries, report their latency

Run "loadgen COMMAND -h" for a command's flags.
`

// run is the whole program, callable from tests: args without the program
// name, and the output streams.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	cmd, args := args[0], args[1:]
	commands := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"mkflights": mkflights, "holds": holdsCmd, "flashsale": flashsale, "conflicts": conflicts,
		"offers": offers, "get": getCmd, "seatstream": seatStreamCmd, "webhook-receiver": webhookReceiverCmd,
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	f, ok := commands[cmd]
	if !ok {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	if err := f(ctx, args, stdout, stderr); !errors.Is(err, flag.ErrHelp) {
		return err
	}
	return nil
}

// options are the flags that most commands share.
type options struct {
	urls    []string
	keys    []string
	conc    int
	dur     time.Duration
	warmup  time.Duration
	timeout time.Duration
	json    bool
}

// registerTarget adds the flags that say where to send requests and how to print.
// loadFlags starts the flags of a command that puts load on a target: the
// target's flags, and the load's with conc connections for 15 s by default.
func loadFlags(name string, stderr io.Writer, conc int) (*flag.FlagSet, *options) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	o.registerTarget(fs)
	o.registerLoad(fs, conc, 15*time.Second)
	return fs, o
}

func (o *options) registerTarget(fs *flag.FlagSet) {
	fs.Func("url", "reservd base URL(s), comma-separated (default http://127.0.0.1:8080)", func(v string) error {
		o.urls = splitList(v)
		return nil
	})
	fs.Func("keys", "customer API key(s), comma-separated; worker i uses the i-th modulo their number", func(v string) error {
		o.keys = splitList(v)
		return nil
	})
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "per-request timeout")
	fs.BoolVar(&o.json, "json", false, "print one JSON object instead of a table")
}

// registerLoad adds the flags of a timed run.
func (o *options) registerLoad(fs *flag.FlagSet, conc int, dur time.Duration) {
	fs.IntVar(&o.conc, "c", conc, "concurrent workers (and connections per host)")
	fs.DurationVar(&o.dur, "d", dur, "measured duration")
	fs.DurationVar(&o.warmup, "warmup", 0, "unmeasured warm-up before the measured duration")
}

func (o *options) check(needKeys bool) error {
	if len(o.urls) == 0 {
		o.urls = []string{"http://127.0.0.1:8080"}
	}
	for i, u := range o.urls {
		o.urls[i] = strings.TrimRight(u, "/")
	}
	if needKeys && len(o.keys) == 0 {
		return errors.New("-keys is required")
	}
	if o.conc < 1 || o.dur < 0 || o.warmup < 0 {
		return errors.New("-c must be positive, -d and -warmup not negative")
	}
	return nil
}

// key is worker w's API key ("" when there are none).
func (o *options) key(w int) string {
	if len(o.keys) == 0 {
		return ""
	}
	return o.keys[w%len(o.keys)]
}

func (o *options) url(w int) string { return o.urls[w%len(o.urls)] }

func splitList(v string) []string {
	var out []string
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// client sends the requests: one tuned Transport keeping up to conns idle
// connections per host, so that every worker keeps its connection.
type client struct {
	hc     *http.Client
	prefix string        // this run's prefix for Idempotency-Keys
	seq    atomic.Uint64 // the rest of the Idempotency-Key
	stderr io.Writer

	mu     sync.Mutex
	noted  map[string]bool // the unexpected answers already shown on stderr
	shown  int
	expect map[int]bool
}

// newClient returns a client; answers other than 2xx and the expected
// statuses are shown once per status on stderr.
func newClient(conns int, timeout time.Duration, stderr io.Writer, expected ...int) *client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        0, // no limit overall; per host below
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	var b [6]byte
	rand.Read(b[:])
	c := &client{
		hc:     &http.Client{Transport: tr, Timeout: timeout},
		prefix: "lg-" + hex.EncodeToString(b[:]) + "-", stderr: stderr,
		noted: map[string]bool{}, expect: map[int]bool{},
	}
	for _, code := range expected {
		c.expect[code] = true
	}
	return c
}

// call sends one request and reads the whole answer; with out != nil a 2xx
// body is decoded into it. idem adds a fresh Idempotency-Key.
func (c *client) call(ctx context.Context, method, url, key string, body []byte, idem bool, out any) Sample {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		c.note("request", err.Error())
		return Sample{}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if idem {
		req.Header.Set("Idempotency-Key", c.prefix+strconv.FormatUint(c.seq.Add(1), 10))
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			c.note("transport", err.Error())
		}
		return Sample{Latency: time.Since(start)}
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close() // #nosec G104 -- the body was read to its end just above; closing it has nothing left to report
	s := Sample{Latency: time.Since(start), Status: resp.StatusCode}
	if err != nil {
		c.note("read", err.Error())
		s.Status = 0
		return s
	}
	if s.Status/100 != 2 && !c.expect[s.Status] {
		c.note(strconv.Itoa(s.Status), string(b))
	}
	if out != nil && s.Status/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			c.note("decode", err.Error())
		}
	}
	return s
}

// note shows the first unexpected answer of each kind on stderr, to explain
// a run's status counts without flooding the terminal.
func (c *client) note(kind, detail string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.noted[kind] || c.shown >= 10 {
		return
	}
	c.noted[kind], c.shown = true, c.shown+1
	if len(detail) > 300 {
		detail = detail[:300] + "…"
	}
	fmt.Fprintf(c.stderr, "loadgen: first %s answer: %s\n", kind, strings.TrimSpace(detail))
}

// getJSON GETs url and decodes a 200 answer into out.
func (c *client) getJSON(ctx context.Context, url, key string, out any) error {
	s := c.call(ctx, http.MethodGet, url, key, nil, false, out)
	if s.Status != http.StatusOK {
		return fmt.Errorf("GET %s answered %s", url, statusKey(s.Status))
	}
	return nil
}

// runFor runs conc workers, each calling do in a loop, until the warm-up and
// the measured duration have passed or do reports that there is nothing
// left to do. It returns the samples of requests started after the warm-up,
// and the time from the warm-up's end until the last worker stopped.
func runFor(ctx context.Context, conc int, warmup, dur time.Duration, do func(ctx context.Context, worker int) (Sample, bool)) ([]Sample, time.Duration) {
	measureFrom := time.Now().Add(warmup)
	deadline := measureFrom.Add(dur)
	per := make([][]Sample, conc)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				began := time.Now()
				s, ok := do(ctx, w)
				if !ok {
					return
				}
				if !began.Before(measureFrom) {
					per[w] = append(per[w], s)
				}
			}
		})
	}
	wg.Wait()
	elapsed := max(time.Since(measureFrom), 0)
	var all []Sample
	for _, p := range per {
		all = append(all, p...)
	}
	return all, elapsed
}

// report is what a command prints: its summaries and other findings.
type report struct {
	Command   string         `json:"command"`
	Summaries []Summary      `json:"summaries"`
	Extra     map[string]any `json:"extra,omitempty"`
}

func (r report) write(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	writeTable(w, r.Summaries)
	for _, k := range slices.Sorted(maps.Keys(r.Extra)) {
		fmt.Fprintf(w, "%s: %v\n", k, r.Extra[k])
	}
	return nil
}
