package httpapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/reservd/reservd/internal/httpapi"
)

// TestUIPage checks the embedded web UI: it is served at / as HTML, calls the
// API paths it needs, and loads nothing from another origin.
func TestUIPage(t *testing.T) {
	a := newAPI(t, engines["sqlite"])
	r := a.get("/")
	if r.status != 200 {
		t.Fatalf("GET / = %d, want 200", r.status)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type = %q, want text/html", ct)
	}
	page := string(r.body)
	if !regexp.MustCompile(`<title>[^<]*reservd[^<]*</title>`).MatchString(page) {
		t.Errorf("page has no <title> naming reservd")
	}
	// The waiting room: a refused hold joins the queue, polls the ticket
	// and sends the admitted ticket's token with the next hold.
	for _, want := range []string{"'/queue'", "'/queue/'", "'Queue-Token'", "'queue_token_required'", "'queue_token_invalid'", `id="queuePos"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s, which the waiting room needs", want)
		}
	}
	for _, path := range []string{"'/flights", "'/holds", "'/bookings"} {
		if !strings.Contains(page, path) {
			t.Errorf("page does not use the API path %s", strings.Trim(path, "'"))
		}
	}
	// Every absolute URL must be same-origin, which for a static page means there are none.
	for _, m := range regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s"'<>)]*`).FindAllString(page, -1) {
		if u, err := url.Parse(m); err == nil && u.Host != "" {
			t.Errorf("page references another origin: %s", m)
		}
	}
	if regexp.MustCompile(`(?i)https?://`).MatchString(page) {
		t.Errorf("page contains an http(s):// URL")
	}
	if regexp.MustCompile(`(?i)<(script|link|img|iframe)[^>]+(src|href)=`).MatchString(page) {
		t.Errorf("page loads an external asset")
	}
	if strings.Contains(page, ".innerHTML") || strings.Contains(page, "insertAdjacentHTML") {
		t.Errorf("page builds HTML from strings; use textContent/createElement")
	}
}

// TestSecurityHeaders: every answer, the UI's and the API's, forbids MIME
// sniffing, framing and Referer leaks; the UI's policy runs only its own
// inline script (by hash) and talks only to its own origin.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	a := newAPI(t, engines["sqlite"])
	for _, path := range []string{"/", "/flights", "/ping", "/holds/hld_x", "/nowhere"} {
		r := a.get(path)
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
			if got := r.header.Get(h); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, h, got, want)
			}
		}
		csp := r.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("GET %s: Content-Security-Policy = %q", path, csp)
		}
	}
	r := a.get("/")
	csp := r.header.Get("Content-Security-Policy")
	_, rest, _ := strings.Cut(string(r.body), "<script>")
	script, _, _ := strings.Cut(rest, "</script>")
	sum := sha256.Sum256([]byte(script))
	if want := "script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, want) {
		t.Errorf("the UI's policy %q does not allow its script by hash (%s)", csp, want)
	}
	if !strings.Contains(csp, "connect-src 'self'") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "script-src 'unsafe-inline'") {
		t.Errorf("the UI's policy = %q", csp)
	}
	if n := strings.Count(string(r.body), "<script"); n != 1 {
		t.Errorf("the page has %d scripts; the policy allows exactly one", n)
	}
}

// TestUIKeepsKeyInSessionStorage: the API key lives in the tab's
// sessionStorage, never in localStorage, where it would outlive the tab
// and be readable by every later page of the origin.
func TestUIKeepsKeyInSessionStorage(t *testing.T) {
	t.Parallel()
	page := string(newAPI(t, engines["sqlite"]).get("/").body)
	if strings.Contains(page, "localStorage") {
		t.Error("the page uses localStorage")
	}
	if !strings.Contains(page, "sessionStorage.setItem(KEY_STORE") {
		t.Error("the page does not keep the key in sessionStorage")
	}
}

// TestUIScriptsListed: every script under ui/ is joined into the page, in
// the order webUIScripts gives, and each exactly once.
func TestUIScriptsListed(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("ui/*.js")
	if err != nil || len(files) == 0 {
		t.Fatalf("glob ui/*.js: %v, %d files", err, len(files))
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	listed := slices.Clone(httpapi.WebUIScripts)
	slices.Sort(listed)
	if !slices.Equal(names, slices.Compact(listed)) || len(listed) != len(httpapi.WebUIScripts) {
		t.Errorf("ui/*.js = %v, but webUIScripts lists %v", names, httpapi.WebUIScripts)
	}
	page := string(newAPI(t, engines["sqlite"]).get("/").body)
	at := 0
	for _, name := range httpapi.WebUIScripts {
		src, err := os.ReadFile("ui/" + name)
		if err != nil {
			t.Fatal(err)
		}
		i := strings.Index(page, string(src))
		if i < 0 || i < at {
			t.Errorf("ui/%s is not in the page after the script before it", name)
		}
		at = i
	}
}

// TestFavicon: browsers ask every page for /favicon.ico; it is served from
// the binary, so the UI's loads log no 404.
func TestFavicon(t *testing.T) {
	t.Parallel()
	r := newAPI(t, engines["sqlite"]).get("/favicon.ico")
	if r.status != 200 {
		t.Fatalf("GET /favicon.ico = %d, want 200", r.status)
	}
	if ct := r.header.Get("Content-Type"); ct != "image/x-icon" {
		t.Errorf("Content-Type = %q, want image/x-icon", ct)
	}
	// An ICO header (reserved 0, type 1, one image) holding a PNG.
	if len(r.body) < 30 || !bytes.HasPrefix(r.body, []byte{0, 0, 1, 0, 1, 0}) || !bytes.Contains(r.body, []byte("\x89PNG")) {
		t.Errorf("GET /favicon.ico is not an ICO file with a PNG (%d bytes)", len(r.body))
	}
}
