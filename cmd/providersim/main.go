// Command providersim serves a simulator of every registered provider's API
// (Duffel, Amadeus and Kiwi), each in its provider's own wire format, for
// load tests and for pointing a reservd at (DUFFEL_BASE_URL=http://127.0.0.1:9101
// and so on). Each simulator's address is a flag named after its provider
// (-duffel 127.0.0.1:9101).
// Each simulator's fault knobs and counters are under /_sim/ on its port:
//
//	curl -X PUT localhost:9101/_sim/knobs -d '{"black_hole": true}'
//	curl localhost:9101/_sim/stats
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/reservd/reservd/internal/provider/registry"
	"github.com/reservd/reservd/internal/provider/simset"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "providersim:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("providersim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	providers := registry.All()
	addrs := make([]*string, len(providers))
	for i, p := range providers {
		addrs[i] = fs.String(p.Name, p.SimAddr, p.Title+" simulator address")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	servers := map[string]*http.Server{}
	for i, p := range providers {
		sim := p.NewSimulator()
		defer sim.Close()
		servers[*addrs[i]] = &http.Server{Handler: simset.Mux(sim.API, sim.Admin), ReadHeaderTimeout: 5 * time.Second}
	}
	errc := make(chan error, len(servers))
	var wg sync.WaitGroup
	for addr, srv := range servers {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		log.Info("simulator listening", "addr", ln.Addr().String())
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	for _, srv := range servers {
		srv.Close() // #nosec G104 -- shutting down: the listener and its connections are dropped either way
	}
	wg.Wait()
	return nil
}
