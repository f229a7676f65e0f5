// Package faults proves reservd's integrity and availability claims under
// network faults, without Docker: Shopify's toxiproxy runs inside the test
// process, in front of PostgreSQL, Redis and each of the three provider
// simulators (Duffel, Amadeus, Kiwi), and injects faults while a storm of
// customers holds, books, releases and cancels seats and books third-party
// trips through two in-process reservd instances (three with CHAOS_FULL=1).
//
// The package holds tests only; this file is its documentation.
//
// # Set-up
//
// Every subtest is independent (t.Parallel) and has its own toxiproxy
// server (its HTTP API on a loopback port, driven through toxiproxy's own
// client package), its own proxies and ports, its own PostgreSQL database,
// its own Redis key prefix and its own provider simulators. Its reservd
// instances are built by app.New, as cmd/reservd's serve builds one (pgx
// pool, Redis seat locks, cache and rate limiter, aggregator, trip service,
// every background job, the HTTP API behind an http.Server), except that
// their database, Redis and provider addresses are the proxies', that their
// breakers reopen sooner, and that they share one payment.TestGateway so
// that charges can be counted exactly.
//
// # Faults
//
// Each fault is applied to one target for a few seconds (about 2.5 s; 10 s
// with CHAOS_FULL=1) in the middle of the storm, then removed:
//
//   - latency: 200 ms ± 50 ms on every answer (downstream);
//   - bandwidth: answers squeezed to a few KB/s;
//   - reset_peer: answers dropped and connections reset (half of the
//     connections to PostgreSQL and the providers, so that some calls work
//     and some lose their answer after the server acted, e.g. a COMMIT or an
//     order; every connection to Redis);
//   - timeout: a black hole, data swallowed and no answer until the fault
//     is removed (then the connections are closed);
//   - down: the proxy disabled (connections cut and refused), then enabled
//     again on the same port.
//
// The targets are PostgreSQL, Redis, and the three providers at once.
//
// # What each proves
//
// Under every fault, whatever it is and whatever its target, once the
// background jobs have finished what the fault interrupted (no payment,
// refund or trip left pending within 20 s), and once the clients have
// retried every request whose outcome they could not know with its
// Idempotency-Key (as the API tells them to; none may fail then), an audit
// made through a direct (unproxied) connection proves:
//
//   - no oversell: no seat is in two live bookings, and the seats marked
//     booked are exactly the seats of the confirmed bookings;
//   - no lost acknowledged booking: every booking a client was answered 201
//     for exists with the seats it was told, and is canceled exactly when a
//     cancellation was acknowledged (or its answer was lost); bookings no
//     client heard of are bounded by the booking requests whose outcome the
//     client could not know (5xx or transport error);
//   - no double charge: every booked hold was charged exactly once at the
//     gateway, the gateway's successful charges are exactly the payments
//     that completed (or are refunded), every refund is recorded, and no
//     payment is left pending;
//   - no double provider order: every trip has at most one order across the
//     three simulators (matched by our reference, "<trip id>-<n>"), a
//     confirmed trip has exactly its order, a failed one has none, no order
//     belongs to no trip, every acknowledged trip exists, and none is left
//     pending.
//
// And about availability, from the answers the storm's clients got in each
// phase (before, during, and after the fault; a request that straddles the
// fault's start counts as during it), with latencies logged phase by phase:
//
//   - before the fault and once full service is proven, no request fails
//     (no 5xx, no transport error);
//   - after the fault is removed, full service is back within a bounded
//     wait: a round of probes started within 10 s passes on every instance
//     at once (/readyz, a hold and its release, the seat map, and an offer
//     search, with every provider answering for the provider faults);
//   - while the fault lasts, the share of failed requests is bounded: a
//     PostgreSQL outage (reset_peer, timeout, down) may fail requests (the
//     database is the arbiter: nothing is acknowledged that is not
//     committed); a slow one (latency, bandwidth) may fail none with a 5xx,
//     though requests queue behind it and a client may give up (10 s);
//     Redis is only a fast path, so no Redis fault may cause a 5xx or a
//     transport error at all; a provider fault may not fail any seat or
//     trip request (trips are booked in the background and wait), only
//     offer searches, which answer 503 no_providers when no provider
//     answers within the search budget;
//   - the service keeps working through Redis and provider faults: requests
//     succeed while they last (how many bookings is logged).
//
// The storm clients count a transport error (or a 5xx) as an indeterminate
// outcome, never as a lost booking: the audit allows for those.
//
// # Running
//
// go test -race ./internal/faults/ runs every fault for a few seconds,
// the package in well under a minute on two cores; CHAOS_FULL=1 runs
// longer phases and three instances (make chaos). PostgreSQL and Redis are
// required (internal/testdb): a missing server fails the tests, it never
// skips them. FAULTS_LOG=1 writes the instances' logs to stderr.
package faults
