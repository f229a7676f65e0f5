// Package duffel is the adapter to the Duffel flights API, implementing
// provider.Provider by speaking Duffel's own wire format (API version v2).
//
// What of Duffel's API it uses:
//
//   - Authentication: every request carries "Authorization: Bearer
//     <DUFFEL_ACCESS_TOKEN>", "Duffel-Version: v2", "Accept:
//     application/json" and "Content-Type: application/json".
//     https://duffel.com/docs/api/overview/making-requests/authentication
//   - Envelopes: request bodies are wrapped as {"data": {...}}; answers come
//     back as {"data": ...} (lists add "meta": {"limit", "after", "before"});
//     errors as {"errors": [{"type", "code", "title", "message",
//     "documentation_url"}], "meta": {"request_id", "status"}}.
//     https://duffel.com/docs/api/overview/response-handling
//     https://duffel.com/docs/api/overview/errors
//   - Search: POST /air/offer_requests?return_offers=true (plus
//     supplier_timeout in milliseconds when the context has a deadline)
//     with slices [{origin, destination, departure_date}] (a second slice,
//     back, for a round trip: Segment.Slice 1), passengers [{type: adult}]
//     then each child's and infant's {age} (or, age unknown, {type: child}
//     and {type: infant_without_seat}), and cabin_class. An order names
//     each offer passenger by its pas_ id, in the search's order, and an
//     adult holding an infant names it in infant_passenger_id. Each offer has total_amount and
//     total_currency as a decimal string and currency code, expires_at, the
//     offer's passengers (pas_ ids, needed to book), and slices[].segments[]
//     with departing_at / arriving_at in the local time of the origin /
//     destination airport (no offset; the airport objects carry time_zone),
//     marketing_carrier.iata_code and marketing_carrier_flight_number.
//     https://duffel.com/docs/api/offer-requests/create-offer-request
//     https://duffel.com/docs/api/overview/key-concepts
//   - Price: GET /air/offers/{id}?return_available_services=false returns the
//     offer's current total; a gone offer answers 422
//     offer_no_longer_available (or 404 not_found for an unknown id).
//     https://duffel.com/docs/api/v1/offers
//   - Book: POST /air/orders with type "instant", selected_offers [id],
//     passengers [{id, given_name, family_name, born_on, title, gender,
//     email, phone_number}] (ids from the offer), payments [{type: balance,
//     amount, currency}] equal to the offer's total, and metadata
//     {"reservd_reference": <our reference>}. Duffel stores an order's
//     metadata (string keys of at most 40 characters of letters, digits, "-"
//     and "_"; string values of at most 500) and returns it on every read.
//     A price that moved is refused with 422
//     payment_amount_does_not_match_order_amount; the error does not carry
//     the new price, so the adapter reads the offer once more to report it.
//     https://duffel.com/docs/api/orders (create order, update order by id)
//   - FindOrder: Duffel's order list cannot filter by metadata. GET
//     /air/orders filters by offer_id, booking_reference, user_id and
//     awaiting_payment and pages with limit (at most 200) and the opaque
//     meta.after cursor. FindOrder therefore matches
//     metadata.reservd_reference client-side: when this process booked the
//     reference it remembers the offer id and lists only that offer's orders
//     (?offer_id=); otherwise it pages through every order of the account.
//     https://duffel.com/docs/api/orders (list orders)
//   - Cancel: POST /air/order_cancellations {"order_id"} creates a quote
//     (refund_amount, refund_currency, confirmed_at null), then POST
//     /air/order_cancellations/{id}/actions/confirm confirms it; CancelStatus
//     lists GET /air/order_cancellations?order_id= for a confirmed one.
//     https://duffel.com/docs/api/order-cancellations,
//     https://duffel.com/docs/guides/cancelling-an-order
//   - Errors: 429 (rate_limit_exceeded) becomes *provider.RateLimitedError
//     from Retry-After, or from the ratelimit-reset HTTP date Duffel sends
//     on every answer; offer_no_longer_available, offer_expired and
//     offer_request_already_booked become provider.ErrUnavailable; price
//     mismatches become *provider.PriceChangedError; other 4xx (401
//     authentication_error included) wrap both provider.ErrRejected and
//     *provider.HTTPError; 5xx and 408 are *provider.HTTPError (Temporary).
//     Duffel documents that a 500 on order creation may leave an order
//     behind (FindOrder tells), while 502 order_not_created guarantees none.
//     https://changelog.duffel.com/announcements/we-ve-added-a-new-error-code-for-when-an-order-is-not-created
//
// The official client libraries this follows: duffel-api-javascript
// (src/Client.ts, src/booking/Orders), duffel-api-python
// (duffel_api/http_client.py, duffel_api/api/booking/orders.py) and
// duffel-api-ruby (middlewares/raise_duffel_errors.rb, rate_limiter.rb).
//
// The adapter never retries: retries, backoff and circuit breaking belong to
// the aggregator. The only follow-up calls are the protocol's own: reading
// the offer when a booking is refused for its price, or when the offer's
// passenger ids are not at hand, and paging through the order list.
package duffel
