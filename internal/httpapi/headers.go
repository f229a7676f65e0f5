package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// apiPolicy is the Content-Security-Policy of every answer but the web
// UI's: JSON loads nothing and is framed by no one.
const apiPolicy = "default-src 'none'; frame-ancestors 'none'"

// webUIPolicy lets the web UI run its own inline script (by hash, so that
// no injected script runs), call this origin's API, and nothing else; it
// is framed by no one (clickjacking). Inline styles are allowed: the page
// sets a few style attributes, and styles cannot run code.
var webUIPolicy = "default-src 'none'; script-src '" + scriptHash(webUIPage) + "'; style-src 'unsafe-inline'; " +
	"connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// scriptHash is the CSP source of the page's one inline script.
func scriptHash(page []byte) string {
	_, rest, _ := bytes.Cut(page, []byte("<script>"))
	script, _, _ := bytes.Cut(rest, []byte("</script>"))
	sum := sha256.Sum256(script)
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// securityHeaders are sent with every answer: no MIME sniffing, no
// framing, no Referer leaking paths (with their ids) to other sites.
func securityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", apiPolicy)
}
