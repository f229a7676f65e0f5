package duffel

import (
	"net/http/httptest"
	"testing"

	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/duffel/duffelsim"
	"github.com/reservd/reservd/internal/provider/providertest"
)

// TestConformance runs the provider conformance suite against the Duffel
// simulator.
func TestConformance(t *testing.T) {
	t.Parallel()
	providertest.Run(t, providertest.Harness{Name: "duffel", Start: func(t *testing.T) providertest.Env {
		sim := duffelsim.New()
		sim.Token = "duffel_test_reservd"
		srv := httptest.NewServer(sim.Handler())
		t.Cleanup(srv.Close)
		t.Cleanup(sim.Close) // runs first: releases held requests so srv.Close can return
		client := func(token string) provider.Provider {
			return New(Config{BaseURL: srv.URL, AccessToken: token}, srv.Client())
		}
		return providertest.Env{
			Kit:    sim.Kit,
			Client: func() provider.Provider { return client("duffel_test_reservd") },
			BadCredentials: func() []provider.Provider {
				return []provider.Provider{client("duffel_test_wrong"), client(" ")}
			},
			Carriers: sim.Carriers,
		}
	}})
}
