package registry_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/registry"
	"github.com/reservd/reservd/internal/provider/simset"
)

// TestEntriesAreWhole checks every entry's settings and constructors: the
// adapter it builds answers to the entry's name, from its settings and
// against its own simulator.
func TestEntriesAreWhole(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, p := range registry.All() {
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			if p.Name == "" || p.Title == "" || p.SimAddr == "" || p.New == nil || p.NewSimulated == nil || p.NewSimulator == nil {
				t.Fatalf("entry is missing a field: %+v", p)
			}
			if got, ok := registry.Lookup(p.Name); !ok || got.Name != p.Name {
				t.Errorf("Lookup(%q) = %v, %v", p.Name, got.Name, ok)
			}
			hasBaseURL, required := false, 0
			for _, s := range p.Settings {
				if !strings.HasPrefix(s.Env, strings.ToUpper(p.Name)+"_") {
					t.Errorf("setting %s does not start with the provider's name", s.Env)
				}
				hasBaseURL = hasBaseURL || s.Env == p.BaseURLEnv
				if s.Required {
					required++
				}
				if s.Env == p.BaseURLEnv && s.Secret {
					t.Errorf("base URL %s is secret: configuration could not log it", s.Env)
				}
			}
			if !hasBaseURL || required == 0 {
				t.Errorf("settings %+v: want the base URL %q and at least one required setting", p.Settings, p.BaseURLEnv)
			}

			// Unset, the provider is not configured; with every required
			// setting, it is, and its adapter answers to its name.
			if p.Configured(p.Load(func(string) string { return "" })) {
				t.Error("configured with nothing set")
			}
			v := p.Load(func(env string) string { return " value-of-" + env + " " })
			if !p.Configured(v) || v[p.BaseURLEnv] != "value-of-"+p.BaseURLEnv {
				t.Errorf("Load = %v (configured %v), want trimmed values", v, p.Configured(v))
			}
			if a := p.New(v, nil); a.Name() != p.Name {
				t.Errorf("New(...).Name() = %q", a.Name())
			}

			sim := p.NewSimulator()
			srv := httptest.NewServer(simset.Mux(sim.API, sim.Admin))
			t.Cleanup(srv.Close)
			t.Cleanup(sim.Close)
			a := p.NewSimulated(srv.URL, srv.Client())
			offers, err := a.Search(t.Context(), provider.SearchRequest{Origin: "LHR", Destination: "JFK",
				DepartureDate: time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC), Adults: 1, Currency: "USD"})
			if a.Name() != p.Name || err != nil || len(offers) == 0 {
				t.Errorf("%s against its simulator: %d offers, %v", a.Name(), len(offers), err)
			}
			// Configured from SimulatedSettings, as cmd/providersim -env
			// configures reservd, the adapter searches the simulator too.
			v = p.Load(p.SimulatedSettings(srv.URL).Get)
			if !p.Configured(v) || v[p.BaseURLEnv] != srv.URL {
				t.Fatalf("SimulatedSettings = %v: not configured, or not pointed at %s", v, srv.URL)
			}
			a = p.New(v, srv.Client())
			offers, err = a.Search(t.Context(), provider.SearchRequest{Origin: "LHR", Destination: "JFK",
				DepartureDate: time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC), Adults: 1, Currency: "USD"})
			if err != nil || len(offers) == 0 {
				t.Errorf("%s from SimulatedSettings against its simulator: %d offers, %v", a.Name(), len(offers), err)
			}
			if st := sim.Kit.Stats(); st.Searches != 2 {
				t.Errorf("simulator stats = %+v, want two searches", st)
			}
		})
		for _, s := range p.Settings {
			if other, ok := seen[s.Env]; ok {
				t.Errorf("%s is a setting of both %s and %s", s.Env, other, p.Name)
			}
			seen[s.Env] = p.Name
		}
	}
	if names := registry.Names(); strings.Join(names, ",") != "duffel,amadeus,kiwi" {
		t.Errorf("Names = %v", names)
	}
	if _, ok := registry.Lookup("nosuch"); ok {
		t.Error("Lookup found an unregistered provider")
	}
}
