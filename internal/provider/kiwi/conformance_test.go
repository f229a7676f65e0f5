package kiwi

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/kiwi/kiwisim"
	"github.com/reservd/reservd/internal/provider/providertest"
)

// TestConformance runs the provider conformance suite against the Kiwi
// simulator.
func TestConformance(t *testing.T) {
	t.Parallel()
	providertest.Run(t, providertest.Harness{Name: "kiwi", Start: func(t *testing.T) providertest.Env {
		sim := kiwisim.New()
		sim.APIKey = "test-key"
		srv := httptest.NewServer(sim.Handler())
		t.Cleanup(srv.Close)
		t.Cleanup(sim.Close) // runs first: releases held requests so srv.Close can finish
		client := func(key string) provider.Provider {
			return New(Config{BaseURL: srv.URL, APIKey: key, PollInterval: 5 * time.Millisecond}, srv.Client())
		}
		return providertest.Env{
			Kit:            sim.Kit,
			Client:         func() provider.Provider { return client("test-key") },
			BadCredentials: func() []provider.Provider { return []provider.Provider{client(""), client("wrong")} },
			Carriers:       kiwisim.Carriers,
			// save_booking's booking is an order once confirm_payment pays it.
			OrderNeedsPayment: true,
		}
	}})
}
