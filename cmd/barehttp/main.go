// Command barehttp is the baseline for reservd's HTTP benchmarks: a bare
// net/http server, with no middleware, no database and no logging, that
// answers GET /flights/{id} with a flight of the same JSON shape and size as
// reservd's, encoded per request with encoding/json the way a real handler
// would. bench/flights.sh measures reservd against it on the same machine in
// the same run, so "fraction of bare net/http" is a number that means
// something whatever the hardware.
//
// Usage:
//
//	barehttp [-addr 127.0.0.1:8090]
//
// The address defaults to $ADDR, or :8090. GET /healthz answers
// {"status":"ok"} so that scripts can wait for it like for reservd.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

type money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// flight mirrors the view reservd returns for GET /flights/{id}.
type flight struct {
	ID             int64     `json:"id"`
	Number         string    `json:"number"`
	Origin         string    `json:"origin"`
	Destination    string    `json:"destination"`
	DepartsAt      time.Time `json:"departs_at"`
	ArrivesAt      time.Time `json:"arrives_at"`
	SeatsTotal     int       `json:"seats_total"`
	SeatsAvailable int       `json:"seats_available"`
	LowestPrice    *money    `json:"lowest_price"`
}

type envelope struct {
	Data any `json:"data"`
}

var (
	departs = time.Date(2026, 12, 24, 15, 0, 0, 0, time.UTC)
	arrives = departs.Add(5*time.Hour + 35*time.Minute)
)

func getFlight(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Flight not found", "code": "not_found"})
		return
	}
	f := flight{
		ID: id, Number: "RV100", Origin: "SFO", Destination: "JFK",
		DepartsAt: departs, ArrivesAt: arrives,
		SeatsTotal: 138, SeatsAvailable: 138,
		LowestPrice: &money{Amount: 12900, Currency: "USD"},
	}
	writeJSON(w, http.StatusOK, envelope{Data: f})
}

func healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n')) // #nosec G104 -- the status is sent; a failed write means the client went away and there is no one left to tell
}

func main() {
	def := os.Getenv("ADDR")
	if def == "" {
		def = ":8090"
	}
	addr := flag.String("addr", def, "listen address (default $ADDR, or :8090)")
	flag.Parse()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /flights/{id}", getFlight)
	mux.HandleFunc("GET /healthz", healthz)
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Fprintln(os.Stderr, "barehttp: listening on", *addr)
	select {
	case err := <-errc:
		log.Fatalf("barehttp: %v", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("barehttp: shutdown: %v", err)
	}
}
