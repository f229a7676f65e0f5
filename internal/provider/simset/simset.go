// Package simset runs a simulator of every registered provider (Duffel,
// Amadeus, Kiwi) on loopback HTTP listeners inside the process and builds
// the real adapters pointed at them. It is the embedded default's flight
// providers and what aggregator tests run against: every call is real HTTP
// in the provider's own wire format.
package simset

import (
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/registry"
	"github.com/reservd/reservd/internal/provider/simkit"
)

// Set is a simulator of every registered provider, each behind its own listener.
type Set struct {
	// URLs are the simulators' base URLs by provider name.
	URLs    map[string]string
	sims    map[string]registry.Simulator
	servers []*http.Server
}

// Start serves the simulators on 127.0.0.1 ports chosen by the system.
func Start() (*Set, error) {
	s := &Set{URLs: map[string]string{}, sims: map[string]registry.Simulator{}}
	for _, p := range registry.All() {
		sim := p.NewSimulator()
		s.sims[p.Name] = sim
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.Close() // #nosec G104 -- already returning the listen error; stopping what started is best effort
			return nil, err
		}
		srv := &http.Server{Handler: Mux(sim.API, sim.Admin), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		s.servers = append(s.servers, srv)
		s.URLs[p.Name] = "http://" + ln.Addr().String()
	}
	return s, nil
}

// Mux serves a simulator's API with its knobs and counters under /_sim/.
func Mux(api, admin http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/_sim/", admin)
	mux.Handle("/", api)
	return mux
}

// Kits returns each simulator's fault knobs and counters by provider name.
func (s *Set) Kits() map[string]*simkit.Sim {
	out := make(map[string]*simkit.Sim, len(s.sims))
	for name, sim := range s.sims {
		out[name] = sim.Kit
	}
	return out
}

// Providers returns the real adapters pointed at the simulators, in the
// registry's order (duffel, amadeus, kiwi).
func (s *Set) Providers(hc *http.Client) []provider.Provider {
	var out []provider.Provider
	for _, p := range registry.All() {
		out = append(out, p.NewSimulated(s.URLs[p.Name], hc))
	}
	return out
}

// Close stops the simulators, releasing any request they hold.
func (s *Set) Close() error {
	for _, sim := range s.sims {
		sim.Close()
	}
	var errs []error
	for _, srv := range s.servers {
		errs = append(errs, srv.Close())
	}
	return errors.Join(errs...)
}
