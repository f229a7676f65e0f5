// Package simset runs the three provider simulators (Duffel, Amadeus, Kiwi)
// on loopback HTTP listeners inside the process and builds the real
// adapters pointed at them. It is the embedded default's flight providers
// and what aggregator tests run against: every call is real HTTP in the
// provider's own wire format.
package simset

import (
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/amadeus"
	"github.com/reservd/reservd/internal/provider/amadeus/amadeussim"
	"github.com/reservd/reservd/internal/provider/duffel"
	"github.com/reservd/reservd/internal/provider/duffel/duffelsim"
	"github.com/reservd/reservd/internal/provider/kiwi"
	"github.com/reservd/reservd/internal/provider/kiwi/kiwisim"
	"github.com/reservd/reservd/internal/provider/simkit"
)

// Set is the three simulators, each behind its own listener.
type Set struct {
	Duffel  *duffelsim.Sim
	Amadeus *amadeussim.Sim
	Kiwi    *kiwisim.Sim
	// URLs are the simulators' base URLs by provider name.
	URLs    map[string]string
	servers []*http.Server
}

// Start serves the simulators on 127.0.0.1 ports chosen by the system.
func Start() (*Set, error) {
	s := &Set{Duffel: duffelsim.New(), Amadeus: amadeussim.New(), Kiwi: kiwisim.New(), URLs: map[string]string{}}
	for name, h := range map[string]http.Handler{
		"duffel":  Mux(s.Duffel.Handler(), s.Duffel.AdminHandler()),
		"amadeus": Mux(s.Amadeus.Handler(), s.Amadeus.AdminHandler()),
		"kiwi":    Mux(s.Kiwi.Handler(), s.Kiwi.AdminHandler()),
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.Close()
			return nil, err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		s.servers = append(s.servers, srv)
		s.URLs[name] = "http://" + ln.Addr().String()
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
	return map[string]*simkit.Sim{"duffel": s.Duffel.Kit, "amadeus": s.Amadeus.Kit, "kiwi": s.Kiwi.Kit}
}

// Providers returns the real adapters pointed at the simulators, in a
// fixed order (duffel, amadeus, kiwi).
func (s *Set) Providers(hc *http.Client) []provider.Provider {
	return []provider.Provider{
		duffel.New(duffel.Config{BaseURL: s.URLs["duffel"], AccessToken: "duffel_test_simulated",
			ContactEmail: "travel@reservd.invalid", ContactPhone: "+14155550100"}, hc),
		amadeus.New(amadeus.Config{BaseURL: s.URLs["amadeus"], ClientID: "simulated", ClientSecret: "simulated"}, hc),
		kiwi.New(kiwi.Config{BaseURL: s.URLs["kiwi"], APIKey: "simulated", PollInterval: 100 * time.Millisecond}, hc),
	}
}

// Close stops the simulators, releasing any request they hold.
func (s *Set) Close() error {
	for _, k := range []*simkit.Sim{s.Duffel.Kit, s.Amadeus.Kit, s.Kiwi.Kit} {
		k.Close()
	}
	var errs []error
	for _, srv := range s.servers {
		errs = append(errs, srv.Close())
	}
	return errors.Join(errs...)
}
