package amadeus_test

import (
	"net/http/httptest"
	"testing"

	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/amadeus"
	"github.com/reservd/reservd/internal/provider/amadeus/amadeussim"
	"github.com/reservd/reservd/internal/provider/providertest"
)

// TestConformance runs the provider conformance suite against the Amadeus
// simulator.
func TestConformance(t *testing.T) {
	t.Parallel()
	providertest.Run(t, providertest.Harness{Name: "amadeus", Start: func(t *testing.T) providertest.Env {
		sim := amadeussim.New()
		sim.ClientID, sim.ClientSecret = "reservd-key", "reservd-secret"
		srv := httptest.NewServer(sim.Handler())
		t.Cleanup(srv.Close)
		t.Cleanup(sim.Close) // runs first: releases held requests so srv.Close returns
		client := func(id, secret string) provider.Provider {
			return amadeus.New(amadeus.Config{BaseURL: srv.URL, ClientID: id, ClientSecret: secret}, srv.Client())
		}
		return providertest.Env{
			Kit:           sim.Kit,
			NoOfferExpiry: true,
			Client:        func() provider.Provider { return client("reservd-key", "reservd-secret") },
			BadCredentials: func() []provider.Provider {
				return []provider.Provider{client("reservd-key", "wrong-secret"), client("wrong-key", "reservd-secret")}
			},
			Carriers:       amadeussim.Carriers,
			NoRefundAmount: true, // DELETE /v1/booking/flight-orders/{id} answers 204 without a body
		}
	}})
}
