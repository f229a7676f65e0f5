// Package registry is the one list of flight providers: for each, its name,
// its settings (environment variables, which of them are secrets, their
// defaults), how to build its adapter from those settings, and how to build
// its simulator. Configuration, the embedded simulators (simset),
// cmd/providersim, the service's wiring and the fault suite all read this
// list, so that adding a provider is adding an entry here (and the
// provider's own package); see the package doc of internal/provider.
//
// The registry imports every adapter and simulator; they never import it
// (nor each other).
package registry

import (
	"net/http"
	"strings"
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

// Setting is one environment variable of a provider.
type Setting struct {
	Env string // the variable's name, DUFFEL_ACCESS_TOKEN
	// Secret settings are never logged.
	Secret bool
	// Required settings must all be set for the provider to be configured.
	Required bool
	// Default is the value when the variable is unset or blank. An empty
	// default leaves the choice to the adapter (its documented base URL).
	Default string
	// Simulated is the value the provider's simulator accepts (a
	// placeholder credential), which SimulatedSettings gives the setting;
	// "" leaves it out. The base URL's is the simulator's URL instead.
	Simulated string
}

// Values are a provider's settings by variable name.
type Values map[string]string

// Get returns the value of a variable; "" when unset.
func (v Values) Get(env string) string { return v[env] }

// Simulator is a running simulator of a provider's API.
type Simulator struct {
	// Kit holds the simulator's fault knobs, counters and orders.
	Kit *simkit.Sim
	// API serves the provider's wire format; Admin serves the knobs and
	// counters under /_sim/.
	API, Admin http.Handler
}

// Close releases every request the simulator holds.
func (s Simulator) Close() { s.Kit.Close() }

// Provider is one entry of the registry.
type Provider struct {
	// Name is the adapter's Name(): "duffel".
	Name string
	// Title is the provider's name for people: "Duffel".
	Title string
	// BaseURLEnv names the setting holding the API's base URL, which
	// configuration logs (masked) and tests point at a simulator.
	BaseURLEnv string
	// Settings are every environment variable the provider reads.
	Settings []Setting
	// SimAddr is the address cmd/providersim serves the simulator on by default.
	SimAddr string
	// New builds the adapter from its settings; hc carries the transport
	// and its timeouts.
	New func(v Values, hc *http.Client) provider.Provider
	// NewSimulated builds the adapter pointed at a simulator at baseURL,
	// with credentials the simulator accepts and tuning fit for it.
	NewSimulated func(baseURL string, hc *http.Client) provider.Provider
	// NewSimulator builds a simulator of the provider's API.
	NewSimulator func() Simulator
}

// Load reads the provider's settings through getenv: trimmed, with defaults.
func (p Provider) Load(getenv func(string) string) Values {
	v := Values{}
	for _, s := range p.Settings {
		val := strings.TrimSpace(getenv(s.Env))
		if val == "" {
			val = s.Default
		}
		v[s.Env] = val
	}
	return v
}

// SimulatedSettings returns the settings that point the provider's adapter
// at a simulator at baseURL: the base URL, and every setting with a
// Simulated value. cmd/providersim -env writes them for reservd.
func (p Provider) SimulatedSettings(baseURL string) Values {
	v := Values{p.BaseURLEnv: baseURL}
	for _, s := range p.Settings {
		if s.Simulated != "" && s.Env != p.BaseURLEnv {
			v[s.Env] = s.Simulated
		}
	}
	return v
}

// Configured reports whether every required setting is set.
func (p Provider) Configured(v Values) bool {
	for _, s := range p.Settings {
		if s.Required && v[s.Env] == "" {
			return false
		}
	}
	return true
}

// The contact that stands in for a passenger's missing email and phone at
// the Duffel simulator, which requires both as Duffel does.
const (
	simContactEmail = "travel@reservd.invalid"
	simContactPhone = "+14155550100"
)

// providers is the registry, in the order searches list them.
var providers = []Provider{
	{
		Name: "duffel", Title: "Duffel", BaseURLEnv: "DUFFEL_BASE_URL", SimAddr: "127.0.0.1:9101",
		Settings: []Setting{
			{Env: "DUFFEL_BASE_URL"},
			{Env: "DUFFEL_ACCESS_TOKEN", Secret: true, Required: true, Simulated: "duffel_test_simulated"},
		},
		New: func(v Values, hc *http.Client) provider.Provider {
			return duffel.New(duffel.ConfigFromEnv(v.Get), hc)
		},
		NewSimulated: func(baseURL string, hc *http.Client) provider.Provider {
			return duffel.New(duffel.Config{BaseURL: baseURL, AccessToken: "duffel_test_simulated",
				ContactEmail: simContactEmail, ContactPhone: simContactPhone}, hc) // #nosec G101 -- a placeholder the local Duffel simulator accepts, not a credential
		},
		NewSimulator: func() Simulator {
			s := duffelsim.New()
			return Simulator{Kit: s.Kit, API: s.Handler(), Admin: s.AdminHandler()}
		},
	},
	{
		Name: "amadeus", Title: "Amadeus", BaseURLEnv: "AMADEUS_BASE_URL", SimAddr: "127.0.0.1:9102",
		Settings: []Setting{
			{Env: "AMADEUS_BASE_URL"},
			{Env: "AMADEUS_CLIENT_ID", Required: true, Simulated: "simulated"},
			{Env: "AMADEUS_CLIENT_SECRET", Secret: true, Required: true, Simulated: "simulated"},
		},
		New: func(v Values, hc *http.Client) provider.Provider {
			return amadeus.New(amadeus.ConfigFromEnv(v.Get), hc)
		},
		NewSimulated: func(baseURL string, hc *http.Client) provider.Provider {
			return amadeus.New(amadeus.Config{BaseURL: baseURL, ClientID: "simulated", ClientSecret: "simulated"}, hc)
		},
		NewSimulator: func() Simulator {
			s := amadeussim.New()
			return Simulator{Kit: s.Kit, API: s.Handler(), Admin: s.AdminHandler()}
		},
	},
	{
		Name: "kiwi", Title: "Kiwi", BaseURLEnv: "KIWI_BASE_URL", SimAddr: "127.0.0.1:9103",
		Settings: []Setting{
			{Env: "KIWI_BASE_URL"},
			{Env: "KIWI_API_KEY", Secret: true, Required: true, Simulated: "simulated"},
		},
		New: func(v Values, hc *http.Client) provider.Provider {
			return kiwi.New(kiwi.ConfigFromEnv(v.Get), hc)
		},
		NewSimulated: func(baseURL string, hc *http.Client) provider.Provider {
			// The simulator has checked the flights by the second poll: poll
			// sooner than the 2 s Kiwi asks of real clients.
			return kiwi.New(kiwi.Config{BaseURL: baseURL, APIKey: "simulated", PollInterval: 100 * time.Millisecond}, hc)
		},
		NewSimulator: func() Simulator {
			s := kiwisim.New()
			return Simulator{Kit: s.Kit, API: s.Handler(), Admin: s.AdminHandler()}
		},
	},
}

// All returns every provider, in a fixed order (duffel, amadeus, kiwi).
func All() []Provider { return append([]Provider(nil), providers...) }

// Names returns every provider's name, in All's order.
func Names() []string {
	out := make([]string, len(providers))
	for i, p := range providers {
		out[i] = p.Name
	}
	return out
}

// Lookup returns the provider named name.
func Lookup(name string) (Provider, bool) {
	for _, p := range providers {
		if p.Name == name {
			return p, true
		}
	}
	return Provider{}, false
}
