// Command webhook-receiver is a complete receiver of reservd's webhooks,
// written with the standard library only so that it can be copied into any
// Go project: it checks each delivery's Reservd-Signature, refuses
// signatures older than five minutes, drops repeats of an event it has
// already handled (delivery is at least once), and prints one line per
// event.
//
//	go run ./examples/webhook-receiver --addr 127.0.0.1:9090 --secret-file whsec.txt
//
// The signature rule, for receivers in other languages: the header is
// "t=<unix seconds>,v1=<hex>", and <hex> is the HMAC-SHA256, keyed with the
// endpoint's secret (the whole "whsec_…" string), of the timestamp, a dot
// and the raw request body: "<t>.<body>". Compare in constant time, and
// reject a t more than five minutes from your clock.
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tolerance is how old a signature may be.
const tolerance = 5 * time.Minute

// verify checks header (Reservd-Signature) for body under secret at now.
func verify(header string, body []byte, secret string, now time.Time) error {
	var (
		ts   int64
		sigs [][]byte
	)
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return errors.New("bad timestamp")
			}
			ts = n
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	if ts == 0 || len(sigs) == 0 {
		return errors.New("no timestamp or no v1 signature")
	}
	if age := now.Sub(time.Unix(ts, 0)); age > tolerance || age < -tolerance {
		return fmt.Errorf("signature made %s from now", age.Round(time.Second))
	}
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.", ts)
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return errors.New("signature does not match")
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9090", "address to listen on")
	secretFile := flag.String("secret-file", "", "file holding the endpoint's whsec_… secret (else $WEBHOOK_SECRET)")
	flag.Parse()
	secret := os.Getenv("WEBHOOK_SECRET")
	if *secretFile != "" {
		b, err := os.ReadFile(*secretFile)
		if err != nil {
			log.Fatal(err)
		}
		secret = strings.TrimSpace(string(b))
	}
	if secret == "" {
		log.Fatal("no secret: pass --secret-file or set WEBHOOK_SECRET")
	}

	var (
		mu   sync.Mutex
		seen = map[string]bool{}
	)
	http.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		if err := verify(r.Header.Get("Reservd-Signature"), body, secret, time.Now()); err != nil {
			log.Printf("refused a delivery: %v", err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var ev struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, "not an event", http.StatusBadRequest)
			return
		}
		mu.Lock()
		repeat := seen[ev.ID]
		seen[ev.ID] = true
		mu.Unlock()
		if !repeat {
			fmt.Printf("received %s %s (signature ok)\n", ev.Type, ev.ID)
		}
		w.WriteHeader(http.StatusNoContent) // any 2xx is delivered
	})
	log.Printf("listening on http://%s", *addr)
	srv := &http.Server{Addr: *addr, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
