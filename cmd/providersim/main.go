// Command providersim serves a simulator of every registered provider's API
// (Duffel, Amadeus and Kiwi), each in its provider's own wire format, for
// load tests and for pointing a reservd at (DUFFEL_BASE_URL=http://127.0.0.1:9101
// and so on). Each simulator's address is a flag named after its provider
// (-duffel 127.0.0.1:9101).
//
// -names prints the providers' names, one a line, and exits. -env FILE
// writes FILE, once every simulator listens and before any answers, with
// the settings that point reservd at them, NAME=VALUE one a line: each
// provider's base URL and placeholder credentials its simulator accepts
// (registry.Provider.SimulatedSettings). bench/offers.sh reads both, so
// that it names no provider.
//
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
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/reservd/reservd/internal/provider/registry"
	"github.com/reservd/reservd/internal/provider/simset"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "providersim:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("providersim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	providers := registry.All()
	addrs := make([]*string, len(providers))
	for i, p := range providers {
		addrs[i] = fs.String(p.Name, p.SimAddr, p.Title+" simulator address")
	}
	names := fs.Bool("names", false, "print the providers' names, one a line, and exit")
	envFile := fs.String("env", "", "once the simulators listen, write to this file the settings that point reservd at them, NAME=VALUE one a line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *names {
		for _, p := range providers {
			if _, err := fmt.Fprintln(stdout, p.Name); err != nil {
				return err
			}
		}
		return nil
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	// Every listener first, then the settings file, then serving: once
	// any simulator answers, the file is whole.
	listeners := make([]net.Listener, len(providers))
	defer func() {
		for _, ln := range listeners {
			if ln != nil {
				ln.Close() // #nosec G104 -- closing what Serve may already have closed
			}
		}
	}()
	var env strings.Builder
	for i, p := range providers {
		ln, err := net.Listen("tcp", *addrs[i])
		if err != nil {
			return err
		}
		listeners[i] = ln
		v := p.SimulatedSettings("http://" + ln.Addr().String())
		for _, s := range p.Settings {
			if val, ok := v[s.Env]; ok {
				fmt.Fprintf(&env, "%s=%s\n", s.Env, val)
			}
		}
	}
	if *envFile != "" {
		if err := writeFile(*envFile, env.String()); err != nil {
			return err
		}
	}
	servers := make([]*http.Server, len(providers))
	errc := make(chan error, len(providers))
	var wg sync.WaitGroup
	for i, p := range providers {
		sim := p.NewSimulator()
		defer sim.Close()
		srv := &http.Server{Handler: simset.Mux(sim.API, sim.Admin), ReadHeaderTimeout: 5 * time.Second}
		servers[i] = srv
		log.Info("simulator listening", "provider", p.Name, "addr", listeners[i].Addr().String())
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(listeners[i]); !errors.Is(err, http.ErrServerClosed) {
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

// writeFile writes data to name through a temporary file renamed over it,
// so that a reader never sees part of it.
func writeFile(name, data string) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}
