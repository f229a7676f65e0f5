package httpapi

import "net/http"

type access int

const (
	public   access = iota // no key needed
	customer               // any valid API key
	admin                  // an admin API key
)

type route struct {
	method  string
	pattern string
	access  access
	handler apiHandler
}

// routes is every route of the API, in one place. The OpenAPI document is
// checked against this list by TestOpenAPIMatchesRoutes.
func (s *Server) routes() []route {
	return []route{
		// Seed parity with the original Flask service.
		{http.MethodGet, "/ping", public, s.ping},
		{http.MethodGet, "/flights/{id}", public, s.getFlight},

		// Inventory.
		{http.MethodGet, "/flights", public, s.listFlights},
		{http.MethodGet, "/flights/{id}/seats", public, s.listSeats},
		{http.MethodPost, "/flights", admin, s.createFlight},

		// Operations.
		{http.MethodGet, "/healthz", public, s.healthz},
		{http.MethodGet, "/readyz", public, s.readyz},
		{http.MethodGet, "/metrics", public, s.metricsHandler},
		{http.MethodGet, "/openapi.json", public, s.openAPI},
		{http.MethodGet, "/{$}", public, s.webUI},
	}
}
