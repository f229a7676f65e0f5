// Package amadeus is the adapter to the Amadeus for Developers Self-Service
// flight APIs, implementing provider.Provider by speaking Amadeus's own wire
// format. Configuration follows the official SDKs: AMADEUS_BASE_URL (default
// https://test.api.amadeus.com), AMADEUS_CLIENT_ID and AMADEUS_CLIENT_SECRET.
//
// What of the Amadeus API it uses:
//
//   - Authentication: OAuth2 client credentials. POST
//     /v1/security/oauth2/token with the form grant_type=client_credentials,
//     client_id, client_secret answers {"type": "amadeusOAuth2Token",
//     "token_type": "Bearer", "access_token", "expires_in": 1799, "state"};
//     every other call carries "Authorization: Bearer <access_token>". The
//     token is cached and refreshed 10 seconds before it expires (the
//     SDKs' TOKEN_BUFFER), one refresh at a time, and once more when a call
//     answers 401 with 38190 (invalid access token), 38191 (invalid HTTP
//     header), 38192 (expired) or 38193 (revoked); the call is then repeated
//     once, which is safe because a 401 means it was never processed. Token
//     errors use the OAuth envelope {"error", "error_description", "code":
//     38187, "title"}.
//     https://developers.amadeus.com/self-service/apis-docs/guides/authorization-262
//     https://github.com/amadeus4dev/developer-guides (docs/API-Keys/authorization.md, docs/common-errors.md)
//     https://github.com/amadeus4dev/amadeus-python (amadeus/client/access_token.py)
//   - Search (Flight Offers Search v2), in its POST form (the one that takes
//     passenger types): POST /v2/shopping/flight-offers with the header
//     X-HTTP-Method-Override: GET and the body {currencyCode,
//     originDestinations: [{id, originLocationCode, destinationLocationCode,
//     departureDateTimeRange: {date}}] (a second, back, for a round trip),
//     travelers: [{id, travelerType: ADULT | CHILD | HELD_INFANT,
//     associatedAdultId (a held infant's adult), fareOptions}], sources,
//     searchCriteria: {maxFlightOffers}}. Travelers are numbered 1.. adults
//     first, then children, then infants, the n-th infant held by the n-th
//     adult; an order's travelers take the same ids. The answer is {"meta": {"count", "links"},
//     "data": [flight-offer…], "dictionaries"}. A flight-offer has an id
//     (a sequence number within the answer), lastTicketingDate,
//     itineraries[].segments[] (one itinerary per originDestination: the
//     second is Segment.Slice 1) with departure/arrival {iataCode, at} in the
//     airport's local time without offset, carrierCode (marketing carrier)
//     and number, and price {currency, total, base, grandTotal} as decimal
//     strings. Offer.Price is price.grandTotal, Offer.Raw the flight-offer
//     object exactly as received: pricing and booking send it back whole.
//     https://developers.amadeus.com/self-service/category/air/api-doc/flight-offers-search
//     https://github.com/amadeus4dev/amadeus-open-api-specification (spec/yaml/FlightOffersSearch_v2_swagger_specification.yaml)
//   - Price (Flight Offers Price v1): POST /v1/shopping/flight-offers/pricing
//     with the header X-HTTP-Method-Override: GET and the body {"data":
//     {"type": "flight-offers-pricing", "flightOffers": [<flight-offer>]}};
//     the answer's data.flightOffers[0] carries the confirmed price and
//     becomes the new Offer.Raw. A gone offer answers 400 with 4926 INVALID
//     DATA RECEIVED "No fare applicable".
//     https://developers.amadeus.com/self-service/category/air/api-doc/flight-offers-price
//     (spec/yaml/FlightOffersPrice_v1_swagger_specification.yaml)
//   - Book (Flight Create Orders v1): POST /v1/booking/flight-orders with
//     {"data": {"type": "flight-order", "flightOffers": [<priced offer>],
//     "travelers": [{id, dateOfBirth, name {firstName, lastName}, gender,
//     contact {emailAddress, phones [{deviceType, countryCallingCode,
//     number}]}}], "remarks": {"general": [{"subType":
//     "GENERAL_MISCELLANEOUS", "text": "CLIENT REF <reference>"}]}}}.
//     The answer (201) is the flight-order with its id and
//     associatedRecords[{reference, originSystemCode}]: reference is the
//     PNR, our Order.BookingReference. Refusals are 400 with 37200 PRICE
//     DISCREPANCY, 34651 SEGMENT SELL FAILURE, 34107 NOT APPLICABLE FARE or
//     38034 ONE OR MORE SERVICES ARE NOT AVAILABLE.
//     https://developers.amadeus.com/self-service/category/air/api-doc/flight-create-orders
//     (spec/yaml/FlightCreateOrders_v1_swagger_specification.yaml)
//   - FindOrder (Flight Order Management v1): GET
//     /v1/booking/flight-orders/{id}; 404 with 1797 NOT FOUND when the order
//     is gone.
//     https://developers.amadeus.com/self-service/category/air/api-doc/flight-order-management
//     (spec/yaml/FlightOrderManagement_v1_swagger_specification.yaml)
//   - Cancel (Flight Order Management v1): DELETE
//     /v1/booking/flight-orders/{id}, 204 without a body (so no refund
//     amount); CancelStatus reads the order by id, 404 meaning deleted.
//   - Errors: {"errors": [{"status", "code", "title", "detail", "source"}]};
//     code and status are numbers in the specifications but strings in some
//     documented answers, so both are read.
//
// How our reference travels, and how FindOrder finds it. Amadeus has no
// client-supplied order key: an order is known by its id and its PNR, both
// of which Amadeus makes up and which we only learn from the answer — the
// very answer that is missing after an ambiguous timeout. Self-Service can
// only read an order by id (Enterprise also reads one by PNR,
// /v1/booking/flight-orders/by-reference, still not by anything of ours).
// The one place Amadeus keeps free text of ours is the PNR's general
// remarks, so Book writes the reference there as "CLIENT REF <reference>",
// where every retrieval of the order shows it. FindOrder then works in two
// steps:
//
//  1. When this process saw Book's answer for the reference, it remembers
//     the order id and reads the order by id (documented).
//  2. Otherwise it asks GET /v1/booking/flight-orders?remark=CLIENT%20REF%20<reference>
//     for the orders carrying that remark. This search is NOT part of the
//     documented Self-Service API: it stands for the office's own back-office
//     search over PNR remarks (in Amadeus Enterprise, queue placement through
//     queuingOfficeId/automatedProcess and the office queue list). The
//     simulator (package amadeussim) serves it. Against the real API the
//     path answers 404 38196 "Resource not found"; FindOrder then returns
//     ErrLookupUnsupported, never provider.ErrNotFound, so that an
//     ambiguous booking is not mistaken for an absent one and booked twice.
//
// Error mapping: 429 becomes *provider.RateLimitedError (Retry-After when
// sent, else one second: the documented limits are 10 requests a second in
// test, 40 in production); 37200 becomes *provider.PriceChangedError, with
// the new price read from the error's detail when it carries one ("Current
// grandTotal price (X) is different from request one (Y)") and otherwise
// from a fresh pricing call; sold-out codes become provider.ErrUnavailable;
// other 4xx wrap both provider.ErrRejected and *provider.HTTPError; 5xx are
// *provider.HTTPError (Temporary).
//
// The adapter never retries on its own: retries, backoff and circuit
// breaking belong to the aggregator. Its only follow-up calls are the
// protocol's: fetching a token, repeating a call once after a 401 that
// asked for a new token, and re-pricing after a price discrepancy whose
// detail does not name the new price.
package amadeus
