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
	idem    idemUse
}

// routes is every route of the API, in one place. The OpenAPI document is
// checked against this list by TestOpenAPIMatchesRoutes.
func (s *Server) routes() []route {
	return []route{
		// Seed parity with the original Flask service.
		{http.MethodGet, "/ping", public, s.ping, idemNone},
		{http.MethodGet, "/flights/{id}", public, s.getFlight, idemNone},

		// Inventory.
		{http.MethodGet, "/flights", public, s.listFlights, idemNone},
		{http.MethodGet, "/flights/{id}/seats", public, s.listSeats, idemNone},
		{http.MethodPost, "/flights", admin, s.createFlight, idemOptional},

		// Holds and bookings.
		{http.MethodPost, "/holds", customer, s.createHold, idemRequired},
		{http.MethodGet, "/holds/{id}", customer, s.getHold, idemNone},
		{http.MethodPost, "/holds/{id}/extend", customer, s.extendHold, idemOptional},
		{http.MethodDelete, "/holds/{id}", customer, s.releaseHold, idemOptional},
		{http.MethodPost, "/bookings", customer, s.createBooking, idemRequired},
		{http.MethodGet, "/bookings", customer, s.listBookings, idemNone},
		{http.MethodGet, "/bookings/{id}", customer, s.getBooking, idemNone},
		{http.MethodPost, "/bookings/{id}/cancel", customer, s.cancelBooking, idemOptional},

		// Offers and trips (third-party flights).
		{http.MethodGet, "/offers", customer, s.listOffers, idemNone},
		{http.MethodPost, "/trips", customer, s.createTrip, idemRequired},
		{http.MethodGet, "/trips/{id}", customer, s.getTrip, idemNone},

		// Operations.
		{http.MethodGet, "/healthz", public, s.healthz, idemNone},
		{http.MethodGet, "/readyz", public, s.readyz, idemNone},
		{http.MethodGet, "/metrics", public, s.metricsHandler, idemNone},
		{http.MethodGet, "/openapi.json", public, s.openAPI, idemNone},
		{http.MethodGet, "/{$}", public, s.webUI, idemNone},
	}
}
