package httpapi_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"
	"testing"
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
