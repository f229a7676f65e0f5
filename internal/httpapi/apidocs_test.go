package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestAPIReference checks the rendered reference: /docs is an HTML page that
// loads the renderer and the document from this server and nothing from
// anywhere else, and the renderer is served, compressed or not.
func TestAPIReference(t *testing.T) {
	t.Parallel()
	a := newAPI(t, engines["sqlite"])

	r := a.get("/docs")
	if r.status != 200 {
		t.Fatalf("GET /docs = %d, want 200", r.status)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("GET /docs Content-Type = %q, want text/html", ct)
	}
	page := string(r.body)
	if !regexp.MustCompile(`<title>[^<]*reservd[^<]*</title>`).MatchString(page) {
		t.Errorf("page has no <title> naming reservd")
	}
	// The page's URLs are relative to /docs; resolved, they must be the
	// document and the renderer of this server.
	base, _ := url.Parse(a.url + "/docs")
	want := map[string]string{`spec-url="([^"]+)"`: "/openapi.json", `<script src="([^"]+)"`: "/docs/redoc.standalone.js"}
	for pattern, path := range want {
		m := regexp.MustCompile(pattern).FindStringSubmatch(page)
		if m == nil {
			t.Errorf("page has no %s", pattern)
			continue
		}
		u, err := base.Parse(m[1])
		if err != nil || u.Host != base.Host || u.Path != path {
			t.Errorf("page loads %q, which resolves to %v; want %s on this server", m[1], u, path)
			continue
		}
		if got := a.get(u.Path); got.status != 200 {
			t.Errorf("GET %s (loaded by /docs) = %d, want 200", u.Path, got.status)
		}
	}
	// The policy keeps the browser on this server, whatever the bundle asks
	// for (Redoc's footer logo lives on Redocly's CDN).
	csp := r.header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "script-src 'self'", "img-src 'self' data:", "connect-src 'self'"} {
		if !strings.Contains(csp, d+";") && !strings.HasSuffix(csp, d) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, d)
		}
	}
	if strings.Contains(csp, "http") || strings.Contains(csp, "*") {
		t.Errorf("Content-Security-Policy %q allows another origin", csp)
	}
	if regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`).MatchString(page) {
		t.Errorf("page references another origin")
	}
	if regexp.MustCompile(`(?i)<script(\s[^>]*)?>[^<]*[^<\s][^<]*</script>`).MatchString(page) {
		t.Errorf("page has an inline script; a Content-Security-Policy of script-src 'self' would block it")
	}

	// A client that accepts gzip gets the stored bytes; one that does not,
	// the same script inflated.
	gz := a.do("GET", "/docs/redoc.standalone.js", "", nil, "Accept-Encoding", "gzip")
	if gz.status != 200 || gz.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("GET renderer with gzip = %d, Content-Encoding %q; want 200 gzip", gz.status, gz.header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz.body))
	if err != nil {
		t.Fatalf("renderer is not gzip: %v", err)
	}
	inflated, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("inflate renderer: %v", err)
	}
	plain := a.do("GET", "/docs/redoc.standalone.js", "", nil, "Accept-Encoding", "identity")
	if plain.status != 200 || plain.header.Get("Content-Encoding") != "" {
		t.Fatalf("GET renderer without gzip = %d, Content-Encoding %q; want 200 and none", plain.status, plain.header.Get("Content-Encoding"))
	}
	if !bytes.Equal(plain.body, inflated) {
		t.Errorf("renderer sent plain (%d bytes) differs from the gzip one inflated (%d bytes)", len(plain.body), len(inflated))
	}
	if ct := plain.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("renderer Content-Type = %q, want text/javascript", ct)
	}
	if v := gz.header.Get("Vary"); !strings.Contains(v, "Accept-Encoding") {
		t.Errorf("renderer Vary = %q; a cache must not give the gzip body to a client that did not ask for it", v)
	}
	if !bytes.Contains(inflated[:min(len(inflated), 4096)], []byte("license")) || !bytes.Contains(inflated, []byte("ReDoc")) {
		t.Errorf("renderer does not look like Redoc's standalone bundle: %.200q", inflated)
	}
}
