package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/reservd/reservd/internal/aggregator"
	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/app"
	"github.com/reservd/reservd/internal/config"
	"github.com/reservd/reservd/internal/provider/simset"
	"github.com/reservd/reservd/internal/store"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// stepTimeout bounds one step of a test (a navigation, a wait for the page).
const stepTimeout = 20 * time.Second

var (
	browserOnce sync.Once
	browserCtx  context.Context // one browser for the package; each test opens its own browser contexts in it
	browserErr  error
	stopBrowser = func() {}
)

func TestMain(m *testing.M) {
	code := m.Run()
	stopBrowser()
	os.Exit(code)
}

// browser starts Chromium once for the package. A missing browser fails the
// test, naming how to install it.
func browser(t *testing.T) context.Context {
	t.Helper()
	browserOnce.Do(func() {
		if _, err := os.Stat(chromiumPath); err != nil {
			browserErr = fmt.Errorf("%s is missing (%v): the browser tests need Debian's chromium package; install it with bin/install_tools.sh", chromiumPath, err)
			return
		}
		profile, err := os.MkdirTemp("", "reservd-chromium-")
		if err != nil {
			browserErr = err
			return
		}
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(chromiumPath),
			chromedp.Flag("headless", true),
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.Flag("disable-quic", true),
			chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.Flag("lang", "en-US"),
			chromedp.WindowSize(1400, 1000),
			chromedp.UserDataDir(profile),
		)
		ctx, cancel := chromedp.NewContext(alloc)
		stopBrowser = func() { cancel(); cancelAlloc(); os.RemoveAll(profile) }
		if err := chromedp.Do(ctx); err != nil {
			browserErr = fmt.Errorf("start %s: %w", chromiumPath, err)
			return
		}
		browserCtx = ctx
	})
	if browserErr != nil {
		t.Fatal(browserErr)
	}
	return browserCtx
}

// server is a whole reservd service over real HTTP, with a customer key and
// one flight departing in 2036.
type server struct {
	t      *testing.T
	url    string
	key    string // a customer key
	admin  string
	flight int64
	app    *app.App
	sims   *simset.Set // the provider simulators the service searches
}

// startServer builds the service from the default configuration on a fresh
// embedded database and the provider simulators, with env's settings on top, runs its background jobs
// (the hold sweeper, the trip worker) and serves it, through wrap when
// given.
func startServer(t *testing.T, env map[string]string, wrap ...func(http.Handler) http.Handler) *server {
	t.Helper()
	vars := map[string]string{"DATA_DIR": t.TempDir(), "SEED_DEMO": "false", "RATE_LIMIT": "0", "API_KEY_CACHE_TTL": "0"}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatalf("configuration: %v", err)
	}
	// The built-in provider simulators, as the embedded default runs them,
	// but started here so that a test can turn their knobs.
	sims, err := simset.Start()
	if err != nil {
		t.Fatalf("start the provider simulators: %v", err)
	}
	t.Cleanup(func() { sims.Close() })
	a, err := app.New(context.Background(), cfg, app.Env{}, app.Overrides{Providers: func(hc *http.Client) []aggregator.Source {
		var sources []aggregator.Source
		for _, p := range sims.Providers(hc) {
			sources = append(sources, aggregator.Source{Provider: p, Simulated: true})
		}
		return sources
	}})
	if err != nil {
		t.Fatalf("build the service: %v", err)
	}
	t.Cleanup(a.Close)
	jobsCtx, stopJobs := context.WithCancel(context.Background())
	jobsDone := make(chan struct{})
	go func() { defer close(jobsDone); a.RunJobs(jobsCtx) }()
	t.Cleanup(func() { stopJobs(); <-jobsDone })
	h := a.Handler()
	for _, w := range wrap {
		h = w(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s := &server{t: t, url: srv.URL, app: a, sims: sims}
	s.key, s.admin = s.newKey("browser", false), s.newKey("ops", true)
	s.flight = s.createFlight()
	return s
}

func (s *server) newKey(name string, admin bool) string {
	s.t.Helper()
	key, digest := apikey.Generate()
	if _, err := s.app.Store.APIKeyCreate(s.t.Context(), store.APIKeyCreateParams{Name: name, Digest: digest, Admin: admin}); err != nil {
		s.t.Fatalf("create key: %v", err)
	}
	return key
}

// The test flight's seat map: business row 1 (AC DF) at $899, economy row
// 10 (extra legroom) at $159 and rows 11-14 at $129, 34 seats in all.
const (
	seatsTotal    = 34
	businessPrice = 89900
	legroomPrice  = 15900
	economyPrice  = 12900
)

func (s *server) createFlight() int64 {
	s.t.Helper()
	type money struct {
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	}
	type seat struct {
		Seat  string `json:"seat"`
		Cabin string `json:"cabin"`
		Price money  `json:"price"`
	}
	var seats []seat
	for _, l := range "ACDF" {
		seats = append(seats, seat{fmt.Sprintf("1%c", l), "business", money{businessPrice, "USD"}})
	}
	for row := 10; row <= 14; row++ {
		price := int64(economyPrice)
		if row == 10 {
			price = legroomPrice
		}
		for _, l := range "ABCDEF" {
			seats = append(seats, seat{fmt.Sprintf("%d%c", row, l), "economy", money{price, "USD"}})
		}
	}
	body := map[string]any{
		"number": "RV612", "origin": "SFO", "destination": "JFK",
		"departs_at": "2036-03-14T15:00:00Z", "arrives_at": "2036-03-14T20:35:00Z",
		"seats": seats, "layout": map[string]string{"business": "AC DF", "economy": "ABC DEF"},
	}
	var f struct {
		Data struct {
			ID int64 `json:"id"`
		} `json:"data"`
	}
	s.call(http.MethodPost, "/flights", s.admin, body, http.StatusCreated, &f)
	return f.Data.ID
}

// call sends a JSON request and decodes the answer into out (when not nil),
// failing the test on any other status than want.
func (s *server) call(method, path, key string, body any, want int, out any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(s.t.Context(), method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", fmt.Sprintf("browsertest-%d", time.Now().UnixNano()))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		s.t.Fatalf("%s %s = %d, want %d: %s", method, path, res.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// tab is one page in a browser context of its own (its own storage and
// cache, as a second browser would have), recording what the page's
// network requests were answered and every uncaught exception.
type tab struct {
	t    *testing.T
	name string
	ctx  context.Context

	mu         sync.Mutex
	responses  map[string]int64 // URL -> last status
	failed     []string         // "STATUS URL" of each answer >= 400
	exceptions []string
}

func newTab(t *testing.T, name string) *tab {
	t.Helper()
	tb := &tab{t: t, name: name, responses: map[string]int64{}}
	ctx, cancel := chromedp.NewContext(browser(t), chromedp.WithNewBrowserContext(), chromedp.WithListener(tb.listen))
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("open a tab: %v", err)
	}
	tb.ctx = ctx
	t.Cleanup(func() {
		tb.screenshot("last")
		cancel()
	})
	return tb
}

// listen runs in the tab's event loop: it only records.
func (tb *tab) listen(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventResponseReceived:
		tb.responses[ev.Response.URL] = ev.Response.Status
		if ev.Response.Status >= 400 {
			tb.failed = append(tb.failed, fmt.Sprintf("%d %s", ev.Response.Status, ev.Response.URL))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		tb.exceptions = append(tb.exceptions, text)
	}
}

func (tb *tab) uncaught() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.exceptions...)
}

// do runs actions, failing the test (after a screenshot) on an error.
func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.screenshot("failed")
		tb.t.Fatalf("%s: %s: %v", tb.name, what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("%s: evaluate %s: %v", tb.name, expr, err)
	}
	return v
}

// waitFor polls a JavaScript predicate every 25 ms until it is true, and
// returns how long that took; past within it fails the test.
func (tb *tab) waitFor(what, predicate string, within time.Duration) time.Duration {
	tb.t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(tb.ctx, within+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](predicate,
		chromedp.WithPollingInterval(25*time.Millisecond), chromedp.WithPollingTimeout(within)))
	if err != nil {
		tb.screenshot("failed")
		tb.t.Fatalf("%s: %s: not within %s (%s): %v", tb.name, what, within, predicate, err)
	}
	return time.Since(start)
}

// waitResponse waits until the page's network log has an answer for url,
// and returns its status (0 when none came within).
func (tb *tab) waitResponse(url string, within time.Duration) int64 {
	for deadline := time.Now().Add(within); ; time.Sleep(25 * time.Millisecond) {
		tb.mu.Lock()
		status, ok := tb.responses[url]
		tb.mu.Unlock()
		if ok || time.Now().After(deadline) {
			return status
		}
	}
}

// open loads the page at path (with a #fragment) and saves the API key in
// the page's form, as a user would.
func (tb *tab) open(s *server, path, key string) {
	tb.t.Helper()
	tb.do("open "+path, chromedp.Navigate(s.url+path), chromedp.WaitVisible(chromedp.ID("apiKey")))
	if key == "" {
		return
	}
	// SetValue, not SendKeys: typing a 40-character key key by key costs
	// seconds on a loaded machine, and the form is what is tested.
	tb.do("save the key",
		chromedp.SetValue(chromedp.ID("apiKey"), key),
		chromedp.Click(chromedp.ID("saveKey")))
	tb.waitFor("the key is saved", `document.getElementById('banner').classList.contains('ok')`, 5*time.Second)
}

// artifacts is where screenshots go: TEST_ARTIFACTS, or .artifacts/ui at the
// repository's root.
func artifacts(t *testing.T) string {
	if d := os.Getenv("TEST_ARTIFACTS"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, ".artifacts", "ui")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(dir, ".artifacts", "ui")
		}
	}
}

// screenshot saves the whole page as <test>-<tab>-<label>.jpg (JPEG: a
// fraction of PNG's encoding time).
func (tb *tab) screenshot(label string) {
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	img, err := chromedp.Run(ctx, chromedp.FullScreenshot(85))
	if err != nil {
		tb.t.Logf("%s: screenshot %s: %v", tb.name, label, err)
		return
	}
	dir := artifacts(tb.t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Logf("screenshot: %v", err)
		return
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(tb.t.Name()) + "-" + tb.name + "-" + label + ".jpg"
	if err := os.WriteFile(filepath.Join(dir, name), img, 0o644); err != nil {
		tb.t.Logf("screenshot: %v", err)
		return
	}
	tb.t.Logf("screenshot: %s", filepath.Join(dir, name))
}
