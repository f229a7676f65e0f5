package httpapi

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"io"
	"net/http"
	"strings"
)

// redocVersion is the version of the vendored bundle (redoc/README.md);
// TestAPIReferenceRenderer checks it against the bundle's own banner.
const redocVersion = "2.5.4"

// redocBundle is Redoc's standalone bundle, stored gzip-compressed: a
// third of the size in the binary, and what almost every browser asks for.
//
//go:embed redoc/redoc.standalone.js.gz
var redocBundle []byte

// apiReferencePage renders /openapi.json with the bundle. Both URLs are
// relative to /docs, so the page also works behind a path prefix; the spec
// is fetched by the bundle itself, so no inline script is needed.
const apiReferencePage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>reservd API reference</title>
<style>body { margin: 0; }</style>
</head>
<body>
<redoc spec-url="openapi.json" expand-responses="200,201,202" required-props-first="true"></redoc>
<script src="docs/redoc.standalone.js"></script>
</body>
</html>
`

// apiReferencePolicy lets the page load only from this server. Redoc's
// sidebar footer shows a logo from Redocly's CDN; under this policy the
// browser never asks for it (and Redoc hides the image). Redoc styles with
// injected <style> elements and searches in a worker made from a blob: URL.
const apiReferencePolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

func (s *Server) apiReference(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", apiReferencePolicy)
	io.WriteString(w, apiReferencePage) // #nosec G104 -- the status is sent; a failed write means the client went away and there is no one left to tell
	return nil
}

// apiReferenceRenderer sends the bundle compressed when the client accepts
// gzip, and inflates it for the rare one that does not.
func (s *Server) apiReferenceRenderer(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("Vary", "Accept-Encoding")
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		w.Write(redocBundle) // #nosec G104 -- the status is sent; a failed write means the client went away and there is no one left to tell
		return nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(redocBundle))
	if err != nil {
		return err
	}
	_, err = io.Copy(w, zr) // #nosec G110 -- redocBundle is embedded at build time, not client input
	return err
}

// acceptsGzip reports whether Accept-Encoding lists gzip without refusing
// it (q=0).
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
