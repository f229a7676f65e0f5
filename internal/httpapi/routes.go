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
	// idemTx marks a handler whose only effect is one store transaction
	// that takes its completion: the key is claimed in that transaction.
	// (POST /holds is one: the seat fast path in front of its transaction
	// lets a twin through, because a keyed hold's id is derived from the
	// key, see idempotency.HoldID.)
	idemTx bool
}

// routes is every route of the API, in one place. The OpenAPI document is
// checked against this list by TestOpenAPIMatchesRoutes.
func (s *Server) routes() []route {
	return []route{
		// Seed parity with the original Flask service.
		{http.MethodGet, "/ping", public, s.ping, idemNone, false},
		{http.MethodGet, "/flights/{id}", public, s.getFlight, idemNone, false},

		// Inventory.
		{http.MethodGet, "/flights", public, s.listFlights, idemNone, false},
		{http.MethodGet, "/flights/{id}/seats", public, s.listSeats, idemNone, false},
		{http.MethodGet, "/flights/{id}/seats/stream", public, s.seatStream, idemNone, false},
		{http.MethodPost, "/flights", admin, s.createFlight, idemOptional, false},

		// Flash sales behind a waiting room.
		{http.MethodPut, "/flights/{id}/sale", admin, s.putSale, idemNone, false},
		{http.MethodDelete, "/flights/{id}/sale", admin, s.deleteSale, idemNone, false},
		{http.MethodPost, "/flights/{id}/queue", customer, s.joinQueue, idemNone, false},
		{http.MethodGet, "/flights/{id}/queue/{ticket_id}", customer, s.getQueueTicket, idemNone, false},

		// Holds and bookings.
		{http.MethodPost, "/holds", customer, s.createHold, idemRequired, true},
		{http.MethodGet, "/holds/{id}", customer, s.getHold, idemNone, false},
		{http.MethodPost, "/holds/{id}/extend", customer, s.extendHold, idemOptional, true},
		{http.MethodDelete, "/holds/{id}", customer, s.releaseHold, idemOptional, true},
		{http.MethodPost, "/bookings", customer, s.createBooking, idemRequired, false},
		{http.MethodGet, "/bookings", customer, s.listBookings, idemNone, false},
		{http.MethodGet, "/bookings/{id}", customer, s.getBooking, idemNone, false},
		{http.MethodPost, "/bookings/{id}/cancel", customer, s.cancelBooking, idemOptional, true},

		// Offers and trips (third-party flights).
		{http.MethodGet, "/offers", customer, s.listOffers, idemNone, false},
		{http.MethodPost, "/trips", customer, s.createTrip, idemRequired, false},
		{http.MethodGet, "/trips/{id}", customer, s.getTrip, idemNone, false},
		{http.MethodGet, "/events/stream", customer, s.eventStream, idemNone, false},
		{http.MethodPost, "/trips/{id}/cancel", customer, s.cancelTrip, idemOptional, false},

		// Events.
		{http.MethodGet, "/events", customer, s.listEvents, idemNone, false},
		// Webhooks.
		{http.MethodPost, "/webhook_endpoints", customer, s.createWebhookEndpoint, idemOptional, false},
		{http.MethodGet, "/webhook_endpoints", customer, s.listWebhookEndpoints, idemNone, false},
		{http.MethodGet, "/webhook_endpoints/{id}", customer, s.getWebhookEndpoint, idemNone, false},
		{http.MethodDelete, "/webhook_endpoints/{id}", customer, s.deleteWebhookEndpoint, idemOptional, false},
		{http.MethodGet, "/webhook_endpoints/{id}/deliveries", customer, s.listWebhookDeliveries, idemNone, false},
		{http.MethodPost, "/events/{id}/redeliver", customer, s.redeliverEvent, idemOptional, false},

		// Operations.
		{http.MethodGet, "/healthz", public, s.healthz, idemNone, false},
		{http.MethodGet, "/readyz", public, s.readyz, idemNone, false},
		{http.MethodGet, "/metrics", public, s.metricsHandler, idemNone, false},
		{http.MethodGet, "/openapi.json", public, s.openAPI, idemNone, false},
		{http.MethodGet, "/docs", public, s.apiReference, idemNone, false},
		{http.MethodGet, "/docs/redoc.standalone.js", public, s.apiReferenceRenderer, idemNone, false},
		{http.MethodGet, "/{$}", public, s.webUI, idemNone, false},
		{http.MethodGet, "/favicon.ico", public, s.favicon, idemNone, false},
	}
}
