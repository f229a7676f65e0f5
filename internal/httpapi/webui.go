package httpapi

import (
	"bytes"
	"embed"
	"fmt"
	"net/http"
)

// webUIFiles are the web UI's sources: the page (markup and styles), its
// scripts and its icon.
//
//go:embed ui/index.html ui/*.js ui/favicon.ico
var webUIFiles embed.FS

// webUIScripts are the page's scripts in the order they run. They are
// joined into the page's one inline script when the package loads, so the
// page still loads nothing but itself and runs only that script (allowed
// by its hash, webUIPolicy). TestUIScriptsListed checks that every ui/*.js
// is listed here.
var webUIScripts = []string{
	"base.js",     // helpers, messages, the API client, the API key
	"flights.js",  // the flight list and its rows
	"seatmap.js",  // the seat map, price tiers, best available
	"live.js",     // live seat map: the seat stream, or polling without it
	"hold.js",     // the current hold, its countdown, booking it
	"bookings.js", // my bookings
	"trips.js",    // offers from other airlines and trips
	"main.js",     // views and start-up
}

// webUIPage is the page as served: ui/index.html with the scripts inside
// its empty <script></script>.
var webUIPage = mustBuildWebUI()

// webUIIcon is /favicon.ico, so that browsers asking for it get an icon,
// not a 404.
var webUIIcon = mustRead("ui/favicon.ico")

func mustBuildWebUI() []byte {
	page := mustRead("ui/index.html")
	const slot = "<script></script>"
	if bytes.Count(page, []byte(slot)) != 1 {
		panic("httpapi: ui/index.html must hold exactly one empty " + slot)
	}
	var js bytes.Buffer
	js.WriteString("<script>\n'use strict';\n")
	for _, name := range webUIScripts {
		js.WriteString("// ---- " + name + " ----\n")
		js.Write(mustRead("ui/" + name))
	}
	js.WriteString("</script>")
	return bytes.Replace(page, []byte(slot), js.Bytes(), 1)
}

func mustRead(name string) []byte {
	b, err := webUIFiles.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("httpapi: embedded web UI: %v", err))
	}
	return b
}

func (s *Server) webUI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", webUIPolicy)
	w.Write(webUIPage) // #nosec G104 -- the status is sent; a failed write means the client went away and there is no one left to tell
	return nil
}

func (s *Server) favicon(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "image/x-icon")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(webUIIcon) // #nosec G104 -- the status is sent; a failed write means the client went away and there is no one left to tell
	return nil
}
