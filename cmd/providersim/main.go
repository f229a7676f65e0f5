// Command providersim serves simulators of the Duffel, Amadeus and Kiwi
// APIs, each in its provider's own wire format, for load tests and for
// pointing a reservd at (DUFFEL_BASE_URL=http://127.0.0.1:9101 and so on).
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

	"github.com/reservd/reservd/internal/provider/amadeus/amadeussim"
	"github.com/reservd/reservd/internal/provider/duffel/duffelsim"
	"github.com/reservd/reservd/internal/provider/kiwi/kiwisim"
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
	duffelAddr := fs.String("duffel", "127.0.0.1:9101", "Duffel simulator address")
	amadeusAddr := fs.String("amadeus", "127.0.0.1:9102", "Amadeus simulator address")
	kiwiAddr := fs.String("kiwi", "127.0.0.1:9103", "Kiwi simulator address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	d, a, k := duffelsim.New(), amadeussim.New(), kiwisim.New()
	defer d.Close()
	defer a.Close()
	defer k.Close()
	servers := map[string]*http.Server{
		*duffelAddr:  {Handler: simset.Mux(d.Handler(), d.AdminHandler()), ReadHeaderTimeout: 5 * time.Second},
		*amadeusAddr: {Handler: simset.Mux(a.Handler(), a.AdminHandler()), ReadHeaderTimeout: 5 * time.Second},
		*kiwiAddr:    {Handler: simset.Mux(k.Handler(), k.AdminHandler()), ReadHeaderTimeout: 5 * time.Second},
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
		srv.Close()
	}
	wg.Wait()
	return nil
}
