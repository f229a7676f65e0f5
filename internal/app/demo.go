package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/config"
	"github.com/reservd/reservd/internal/demo"
	"github.com/reservd/reservd/internal/store"
)

// seedDemo loads the demo catalogue into an embedded database that has no
// flight still to depart (empty, or every flight departed) and, the first
// time, prints a customer key with a curl line to try it.
func seedDemo(ctx context.Context, cfg config.Config, st store.Store, fresh bool, log *slog.Logger, stdout io.Writer) error {
	n, err := demo.Ensure(ctx, st, time.Now())
	if err != nil || n == 0 {
		return err
	}
	log.Info("loaded the demo catalogue", "flights", n)
	if !fresh {
		return nil
	}
	key, digest := apikey.Generate()
	if _, err := st.APIKeyCreate(ctx, store.APIKeyCreateParams{Name: "demo", Digest: digest, Admin: false}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, `
A fresh embedded database was created with a demo catalogue and this customer API key
(shown once; only its hash is stored):

  %s

Hold two economy seats on flight 1 (10 minutes to book them):

  curl -s -X POST http://%s/holds -H 'Authorization: Bearer %s' -H 'Idempotency-Key: demo-1' -H 'Content-Type: application/json' -d '{"flight_id": 1, "cabin": "economy", "quantity": 2}'

`, key, curlHost(cfg.Addr), key)
	return nil
}

// curlHost turns a listen address into something curl can reach.
func curlHost(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
