package httpapi_test

import (
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
