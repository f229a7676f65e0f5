package faults

import (
	"net/http/httptest"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// startToxiproxy runs a toxiproxy server inside the test process, its HTTP
// API on a loopback port, and returns a client of that API. When the test
// ends every proxy is stopped (listeners closed, connections cut) and the
// API server closed.
func startToxiproxy(t testing.TB) *toxiclient.Client {
	t.Helper()
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	srv := httptest.NewServer(api.Routes())
	t.Cleanup(func() {
		if err := api.Collection.Clear(); err != nil {
			t.Errorf("stop toxiproxy proxies: %v", err)
		}
		srv.Close()
	})
	return toxiclient.NewClient(srv.URL)
}

// proxy creates a proxy named name on a free loopback port in front of
// upstream (host:port).
func proxy(t testing.TB, c *toxiclient.Client, name, upstream string) *toxiclient.Proxy {
	t.Helper()
	p, err := c.CreateProxy(name, "127.0.0.1:0", upstream)
	if err != nil {
		t.Fatalf("toxiproxy: create proxy %s → %s: %v", name, upstream, err)
	}
	return p
}

// faultKind is one kind of fault, applied to every proxy of a target.
type faultKind struct {
	name string
	// apply injects the fault into p; the returned function removes it.
	apply func(t testing.TB, p *toxiclient.Proxy, target string) (heal func())
}

// toxic returns a fault kind that adds one toxic to the downstream (the
// answers) of each proxy, with toxicity from toxicityFor.
func toxic(name, typ string, attrs toxiclient.Attributes, toxicityFor func(target string) float32) faultKind {
	return faultKind{name: name, apply: func(t testing.TB, p *toxiclient.Proxy, target string) func() {
		t.Helper()
		a := toxiclient.Attributes{}
		for k, v := range attrs {
			a[k] = v
		}
		if typ == "bandwidth" {
			a["rate"] = bandwidthKBps[target]
		}
		if _, err := p.AddToxic(name, typ, "downstream", toxicityFor(target), a); err != nil {
			t.Fatalf("toxiproxy: add %s to %s: %v", name, p.Name, err)
		}
		return func() {
			if err := p.RemoveToxic(name); err != nil {
				t.Errorf("toxiproxy: remove %s from %s: %v", name, p.Name, err)
			}
		}
	}}
}

// bandwidthKBps squeezes each target's answers: enough to slow every call
// down a lot, not enough to starve it forever.
var bandwidthKBps = map[string]int{targetPostgres: 8, targetRedis: 4, targetProviders: 8}

func always(string) float32 { return 1 }

// half of the connections to PostgreSQL and the providers, so that some calls
// go through and some lose their answer after the server acted; every
// connection to Redis.
func halfButRedis(target string) float32 {
	if target == targetRedis {
		return 1
	}
	return 0.5
}

// faultKinds are the faults every target goes through.
var faultKinds = []faultKind{
	toxic("latency", "latency", toxiclient.Attributes{"latency": 200, "jitter": 50}, always),
	toxic("bandwidth", "bandwidth", nil, always),
	toxic("reset_peer", "reset_peer", toxiclient.Attributes{"timeout": 0}, halfButRedis),
	// A black hole: nothing flows and nothing is closed until the toxic goes
	// (then toxiproxy closes the connections it swallowed).
	toxic("timeout", "timeout", toxiclient.Attributes{"timeout": 0}, always),
	{name: "down", apply: func(t testing.TB, p *toxiclient.Proxy, _ string) func() {
		t.Helper()
		if err := p.Disable(); err != nil {
			t.Fatalf("toxiproxy: disable %s: %v", p.Name, err)
		}
		return func() {
			if err := p.Enable(); err != nil {
				t.Errorf("toxiproxy: enable %s again: %v", p.Name, err)
			}
		}
	}},
}
