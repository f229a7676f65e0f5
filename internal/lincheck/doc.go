// Package lincheck is a model check of reservd's seat inventory: it records
// histories of concurrent, real HTTP clients and checks them for
// linearizability with porcupine (github.com/anishathalye/porcupine) against
// a sequential model of the seats.
//
// # What it proves
//
// For every history it records, that there is one total order of the
// operations, consistent with their real-time order (an operation that
// returned before another was called comes first), in which every answer a
// client got is the answer of the sequential model below. In particular: a
// seat is never granted to two holds at once, a hold is granted only seats
// that are free, a 409 names only seats that are taken (or contended: see
// below), a booking converts
// exactly the seats of one still-active hold, a released hold can never be
// booked (the hold is a fencing token) and a booked one never released, a
// canceled booking frees its seats, and every read (a hold, or the seat map)
// shows the state some instant between its call and its return. It proves it
// for the histories it sees, under the workload below — a model check, not a
// proof for all executions.
//
// # The model
//
// A flight's seats are split into groups of GroupSize adjacent seats (row r
// is group r-1: seats rA, rB, rC), and every hold asks for a non-empty subset
// of one group's seats. No write ever spans two groups, so each group is an
// independent object and, by the locality of linearizability (Herlihy and
// Wing), a history is linearizable if and only if every group's sub-history
// is: Model partitions by (flight, group) and the partitioning is exact, not
// an approximation. (A seat-map read covers a whole flight; it is recorded as
// one read per group, which checks each group and leaves the snapshot's
// atomicity across groups unchecked.) Keeping a hold within a group, rather
// than single-seat holds, lets the check also cover multi-seat
// all-or-nothing grants, which a per-seat partition could not see.
//
// A group's state is, per seat, free / held by hold H / booked through hold H,
// plus the end of every hold of the group that has ended (released, or
// booked — a booking's hold stays "booked" after the booking is canceled) and
// its seats. Holds are named by small aliases the recorder assigns when a hold
// is granted. The operations and the answers the model allows:
//
//   - hold(seats): 201 with exactly those seats iff all are free; 409
//     seats_unavailable iff one is taken, with details.seats a non-empty set of
//     requested seats that are all taken (or contended: see below).
//   - book(H): 201 confirmed, with H's seats, iff H is active and the card is
//     good; 402 payment_declined iff H is active and the card declines (H stays
//     active); 409 hold_not_active iff H was released or booked.
//   - release(H): 200 released iff H is active (its seats free up) or already
//     released; 409 hold_already_booked iff H was booked.
//   - extend(H): 200 active iff H is active; 409 hold_not_active otherwise.
//   - cancel(B of H): 200 canceled (again, for a canceled booking); frees the
//     seats H booked.
//   - read hold(H) (GET /holds/{id}): H's status and seats.
//   - read seats (GET /flights/{id}/seats, projected on one group): each seat
//     available, held or booked.
//
// 410 hold_expired and the status "expired" are never allowed: see Expiry.
//
// # The one relaxation: refusals by the fast path
//
// The seat fast path (seatlock: Redis shared by the instances, or in
// process) refuses a seat whose key is set without asking the database. Its
// keys run a little ahead of the database when a seat is taken (set before
// the hold's transaction) and a little behind it when a seat is freed
// (deleted after the release's or cancellation's transaction). So a refusal
// overlapping, in time, another client's hold attempt, release or
// cancellation on the same seat may name a seat the database shows free at
// every instant of the refusal — the service is not linearizable there, by
// design, and harmlessly so. Annotate marks those seats "contended" on each
// refusal and the model accepts them as if taken. Nothing else is relaxed:
// grants, bookings, releases and reads are the database's decisions and are
// held to the strict model, and a refusal with nothing in flight on its seats
// must name taken seats.
//
// What the relaxation cannot see — a key left behind after the request that
// set it is over, refusing a free seat until it expires — Probe checks at the
// end of every history: once no instance serves any request, every seat that
// reads available must be granted, through every instance.
//
// # Expiry
//
// Holds are given a HOLD_TTL (an hour) far longer than any history, so that
// no hold expires mid-history and expiry needs no model at all. Releases are
// explicit. This is the simple, exact choice: modelling expiry from the
// database times each response reports would need a tolerance and would
// weaken every check near an expiry. The premise is itself checked with the
// database's own clock: every expires_at a response reported must lie past
// the latest created_at any response reported, plus the history's length.
// Expiry has tests of its own elsewhere (TestStormShortTTL, the store suite).
//
// # Reads and the read cache
//
// GET /holds/{id} is not cached: it reads the database. GET
// /flights/{id}/seats goes through reserve.Service.Cached: a near cache in
// each process, single-flight loads and the shared cache (Redis), which is
// by design bounded-stale (reserve.Config.ReadCacheTTL, a second), not
// linearizable — a replica serves its own near copy for up to a second after
// another replica changed the seats. The instances under test are therefore
// built by app.New with Overrides.UncachedReads, whose flight and seat-map
// reads skip the cache and go to the database; every other part of them,
// the seat locks included, is the production wiring.
//
// # Concurrency, ownership and unknown outcomes
//
// Every client is a goroutine with an API key of its own; it acts only on its
// own holds and bookings, one request at a time, on random instances. Clients
// contend for the same seats, never for the same hold: the service pins a
// hold while its payment is in flight (a concurrent release or extend of that
// very hold is refused 409 even if the payment then declines), which is by
// design and which an atomic model would report.
//
// An operation whose outcome the client does not know — a transport error, a
// reset, a timeout, a request the client gave up on (Workload.GiveUp), a 5xx —
// is recorded as indeterminate: its output is Unknown, which the model accepts
// both as having taken effect and as not, and (unless the server answered) its
// return time is infinite, so it may take effect at any point after its call.
// A granted hold whose id the client never learned holds its seats for good
// in the model, as it would in the service until it expires. After an unknown
// outcome of a booking, release or cancellation the client forgets the hold
// concerned.
//
// Each request carries a fresh Idempotency-Key: replays are not part of the
// model.
//
// # Running
//
// The tests build three instances (each its own reserve.Service, PostgreSQL
// pool and Redis client, sharing one database and one Redis) and the embedded
// engine (SQLite, in-process locks), run a bounded history of a few hundred
// requests by default and a minute of requests with CHAOS_FULL=1, and check
// each. A history that is not linearizable fails the test with porcupine's
// visualization in artifacts/lincheck-<test>.html at the module root and the
// first failing group, step by step, in the test log.
package lincheck
