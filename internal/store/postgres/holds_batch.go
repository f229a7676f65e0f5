package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/idempotency"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/store"
)

var _ store.HoldBatcher = (*Store)(nil)

// HoldCreateBatch implements store.HoldBatcher. The transaction takes two
// round trips, three when the batch has best-available requests: BEGIN,
// the reads (flights, idempotency keys and keyed hold ids already taken) and
// the locking read of every seat travel together; the write of every winner
// travels with COMMIT. A best-available request picks from a snapshot read
// in the first round trip; should its pick turn out taken under the lock, it
// runs alone after the commit (CreateHold), as it would have retried.
func (s *Store) HoldCreateBatch(ctx context.Context, reqs []store.BatchHold) ([]store.BatchResult, error) {
	for deadlocks := 0; ; {
		out, stale, err := s.holdBatch(ctx, reqs)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001") && deadlocks < 4 {
			deadlocks++
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("create holds: %w", err)
		}
		for _, i := range stale {
			out[i].Hold, out[i].Err = s.HoldCreate(reqs[i].Ctx, reqs[i].HoldCreateParams, reqs[i].Done)
		}
		return out, nil
	}
}

// seatKey names a seat across flights.
type seatKey struct {
	flight int64
	label  string
}

// lockedSeat is a seat as the batch's locking read found it.
type lockedSeat struct {
	price  int64
	free   bool
	holder string // hold id on the seat, live or lapsed
	lapsed bool   // a hold's seat past held_until: free, its expiry not yet recorded
}

// idemName names an idempotency key.
type idemName struct {
	keyID int64
	key   string
}

// batchWrite gathers the winners' rows as columns, for unnest.
type batchWrite struct {
	seatFlights []int64
	seatLabels  []string
	seatHolds   []string
	seatUntil   []time.Time

	evFlights []int64
	evSeats   []string
	evKinds   []string
	evHolds   []string

	holdIDs, holdSeats, holdCurrency []string
	holdKeys, holdFlights, holdTotal []int64
	holdExpires, holdMaxExpires      []time.Time

	claimKeyIDs         []int64
	claimKeys, claimFPs []string
	claimStatus         []int32
	claimBodies         [][]byte
	doneKeyIDs          []int64
	doneKeys            []string
	doneStatus          []int32
	doneBodies          [][]byte

	outbox []events.Event // each winner's hold.created
}

var batchWriteSQL = `
	WITH seats_held AS (
		UPDATE seats s SET hold_id = x.hold_id, held_until = x.until
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[]) AS x(flight_id, label, hold_id, until)
		WHERE s.flight_id = x.flight_id AND s.label = x.label
	), events AS (
		INSERT INTO seat_events (flight_id, seat, event, hold_id)
		SELECT flight_id, seat, event, hold_id
		FROM unnest($5::bigint[], $6::text[], $7::text[], $8::text[]) WITH ORDINALITY AS e(flight_id, seat, event, hold_id, n)
		ORDER BY n
	), new_holds AS (
		INSERT INTO holds (id, api_key_id, flight_id, seats, status, total_amount, currency, created_at, expires_at, max_expires_at)
		SELECT id, key_id, flight_id, seats, 'active', total, currency, now(), expires, max_expires
		FROM unnest($9::text[], $10::bigint[], $11::bigint[], $12::text[], $13::bigint[], $14::text[], $15::timestamptz[], $16::timestamptz[])
			AS h(id, key_id, flight_id, seats, total, currency, expires, max_expires)
	), claimed AS (
		INSERT INTO idempotency_keys (api_key_id, key, fingerprint, state, lease_until, status, body)
		SELECT key_id, key, fp, 'done', now(), status, body
		FROM unnest($17::bigint[], $18::text[], $19::text[], $20::int[], $21::bytea[]) AS c(key_id, key, fp, status, body)
	), completed AS (
		UPDATE idempotency_keys i SET state = 'done', status = c.status, body = c.body
		FROM unnest($22::bigint[], $23::text[], $24::int[], $25::bytea[]) AS c(key_id, key, status, body)
		WHERE i.api_key_id = c.key_id AND i.key = c.key AND i.state = 'running'
			AND cardinality($22::bigint[]) > 0 -- mostly empty: no scan then, whatever the plan
	), outbox AS (` + insertEventsFrom(26) + `
	)
	SELECT 1`

// holdBatch runs the batch's transaction once. stale lists the
// best-available requests whose snapshot pick was taken meanwhile.
func (s *Store) holdBatch(ctx context.Context, reqs []store.BatchHold) (out []store.BatchResult, stale []int, err error) {
	out = make([]store.BatchResult, len(reqs))
	live := make([]bool, len(reqs))
	var (
		flightIDs          []int64
		claimKeyIDs        []int64
		claimKeys, keyedID []string
		cabinFlights       []int64
		cabins             []string
		byQuantity         bool
	)
	for i, r := range reqs {
		if err := r.Ctx.Err(); err != nil {
			out[i].Err = err
			continue
		}
		live[i] = true
		if !slices.Contains(flightIDs, r.FlightID) {
			flightIDs = append(flightIDs, r.FlightID)
		}
		if r.Done != nil && r.Done.Claim {
			claimKeyIDs, claimKeys = append(claimKeyIDs, r.Done.KeyID), append(claimKeys, r.Done.Key)
			keyedID = append(keyedID, r.ID)
		}
		if r.ByQuantity() {
			byQuantity = true
			cabinFlights, cabins = append(cabinFlights, r.FlightID), append(cabins, string(r.Cabin))
		}
	}
	if len(flightIDs) == 0 {
		return out, nil, nil
	}

	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	c := holdConn{Conn: pc, ctx: ctx}
	defer pc.Release()
	defer c.rollback()

	var (
		currency = map[int64]string{}
		departed = map[int64]bool{}
		keyTaken = map[idemName]bool{}
		idTaken  = map[string]bool{}
		cabinMap = map[seatKey][]holds.SeatSlot{} // (flight, cabin) → slots
		layouts  = map[seatKey]string{}           // (flight, cabin) → stated layout
		id       int64
		name     idemName
		cur      string
		gone     bool
	)
	var b pgx.Batch
	b.Queue("BEGIN")
	b.Queue(`SELECT f.id, f.currency, `+flightDeparted+` FROM flights f WHERE f.id = ANY($1)`, flightIDs).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&id, &cur, &gone}, func() error {
			currency[id], departed[id] = cur, gone
			return nil
		})
		return err
	})
	if len(claimKeys) > 0 {
		// These two look a handful of rows up by key in tables that grow
		// from empty. A cached generic plan made while a table was small
		// scans it whole, and keeps doing so as it grows until an ANALYZE
		// invalidates the plan (milliseconds a batch after a few thousand
		// holds on a fresh database): plan them for their arguments.
		b.Queue(`SET LOCAL plan_cache_mode = force_custom_plan`)
		b.Queue(`
			SELECT k.api_key_id, k.key FROM idempotency_keys k
			JOIN unnest($1::bigint[], $2::text[]) AS x(api_key_id, key) ON k.api_key_id = x.api_key_id AND k.key = x.key`,
			claimKeyIDs, claimKeys).Query(func(rows pgx.Rows) error {
			_, err := pgx.ForEachRow(rows, []any{&name.keyID, &name.key}, func() error { keyTaken[name] = true; return nil })
			return err
		})
		b.Queue(`SELECT id FROM holds WHERE id = ANY($1)`, keyedID).Query(func(rows pgx.Rows) error {
			_, err := pgx.ForEachRow(rows, []any{&cur}, func() error { idTaken[cur] = true; return nil })
			return err
		})
		b.Queue(`SET LOCAL plan_cache_mode = auto`)
	}
	if byQuantity {
		var (
			slot   holds.SeatSlot
			letter string
			cabin  string
			layout string
		)
		b.Queue(`
			SELECT s.flight_id, s.cabin, s.label, s.row_no, s.letter, s.price_amount, (`+freeSeat+`), coalesce(l.seats, '')
			FROM seats s JOIN (SELECT DISTINCT * FROM unnest($1::bigint[], $2::text[])) AS x(flight_id, cabin)
				ON s.flight_id = x.flight_id AND s.cabin = x.cabin
			LEFT JOIN cabin_layouts l ON l.flight_id = x.flight_id AND l.cabin = x.cabin`, cabinFlights, cabins).Query(func(rows pgx.Rows) error {
			_, err := pgx.ForEachRow(rows, []any{&id, &cabin, &slot.Label, &slot.Row, &letter, &slot.Price, &slot.Free, &layout}, func() error {
				slot.Letter = letter[0]
				k := seatKey{id, cabin}
				cabinMap[k] = append(cabinMap[k], slot)
				layouts[k] = layout
				return nil
			})
			return err
		})
		// The picks need the snapshot: the locking read waits for them.
		if err := c.SendBatch(ctx, &b).Close(); err != nil {
			return nil, nil, err
		}
		b = pgx.Batch{}
	}

	// Every request's labels: named, or picked in arrival order from the
	// snapshot minus what earlier requests of the batch asked for.
	labels := make([][]string, len(reqs))
	asked := map[seatKey]bool{}
	rnd := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())) // #nosec G404 -- spreads seat picks so concurrent holds collide less; a seat is no secret and guessing the pick wins nothing
	for i, r := range reqs {
		if !live[i] {
			continue
		}
		if !r.ByQuantity() {
			labels[i] = r.Seats
		} else if _, ok := currency[r.FlightID]; ok {
			ck := seatKey{r.FlightID, string(r.Cabin)}
			snap := cabinMap[ck]
			slots := make([]holds.SeatSlot, len(snap))
			for j, sl := range snap {
				sl.Free = sl.Free && !asked[seatKey{r.FlightID, sl.Label}]
				slots[j] = sl
			}
			if labels[i] = holds.Pick(slots, r.Quantity, layouts[ck], rnd); labels[i] == nil {
				out[i].Err, live[i] = holds.ErrNotEnoughSeats, false
				continue
			}
		}
		for _, l := range labels[i] {
			asked[seatKey{r.FlightID, l}] = true
		}
	}
	// The customers with a cap, locked (in id order) before any seat.
	var capped []int64
	for i, r := range reqs {
		if live[i] && r.Limits != (holds.Limits{}) && !slices.Contains(capped, r.KeyID) {
			capped = append(capped, r.KeyID)
		}
	}
	var held *heldCounts
	if len(capped) > 0 {
		held = queueLimitReads(&b, capped)
	}
	var lockFlights []int64
	var lockLabels []string
	for k := range asked {
		lockFlights, lockLabels = append(lockFlights, k.flight), append(lockLabels, k.label)
	}

	// Lock every seat of the batch in the global order, (flight_id, label),
	// and read the transaction's clock: now() stays fixed until COMMIT, so
	// the times computed from it are the ones the write stores.
	locked := map[seatKey]lockedSeat{}
	var now time.Time
	if len(lockFlights) > 0 {
		var (
			k  seatKey
			ls lockedSeat
		)
		b.Queue(`
			SELECT s.flight_id, s.label, s.price_amount, (`+freeSeat+`), coalesce(s.hold_id, ''),
				`+seatLapsed+`, now()
			FROM seats s JOIN unnest($1::bigint[], $2::text[]) AS x(flight_id, label)
				ON s.flight_id = x.flight_id AND s.label = x.label
			ORDER BY s.flight_id, s.label
			FOR UPDATE OF s`, lockFlights, lockLabels).Query(func(rows pgx.Rows) error {
			_, err := pgx.ForEachRow(rows, []any{&k.flight, &k.label, &ls.price, &ls.free, &ls.holder, &ls.lapsed, &now}, func() error {
				locked[k] = ls
				return nil
			})
			return err
		})
	}
	if b.Len() > 0 {
		if err := c.SendBatch(ctx, &b).Close(); err != nil {
			return nil, nil, err
		}
	}

	// Decide in arrival order; a winner's seats, key and id are taken for
	// the requests after it.
	var w batchWrite
	owner := map[seatKey]string{} // seats granted in this batch
	for i, r := range reqs {
		if !live[i] {
			continue
		}
		cur, ok := currency[r.FlightID]
		if !ok {
			out[i].Err = flights.ErrNotFound
			continue
		}
		if departed[r.FlightID] {
			out[i].Err = flights.ErrDeparted
			continue
		}
		var unknown, taken []string
		own := 0
		var total int64
		for _, l := range labels[i] {
			k := seatKey{r.FlightID, l}
			ls, found := locked[k]
			switch {
			case !found:
				unknown = append(unknown, l)
			case owner[k] != "":
				taken = append(taken, l)
				if owner[k] == r.ID {
					own++
				}
			case !ls.free:
				taken = append(taken, l)
				if ls.holder == r.ID {
					own++
				}
			}
			total += ls.price
		}
		claiming := r.Done != nil && r.Done.Claim
		switch {
		case len(unknown) > 0:
			slices.Sort(unknown)
			out[i].Err = &holds.UnknownSeatsError{Seats: unknown}
			continue
		case len(taken) > 0 && own == len(taken):
			// Our own id holds them: the keyed hold (idempotency.HoldID) exists,
			// made before or by a twin earlier in this batch.
			out[i].Err = idempotency.ErrKeyTaken
			continue
		case len(taken) > 0 && r.ByQuantity():
			stale = append(stale, i)
			continue
		case len(taken) > 0:
			slices.Sort(taken)
			out[i].Err = &holds.SeatsUnavailableError{Seats: taken}
			continue
		case claiming && (keyTaken[idemName{r.Done.KeyID, r.Done.Key}] || idTaken[r.ID]):
			out[i].Err = idempotency.ErrKeyTaken
			continue
		}
		// The caps count the live holds read under the customer's lock and
		// this batch's earlier winners.
		if r.Limits != (holds.Limits{}) {
			if err := held.check(r.HoldCreateParams, len(labels[i])); err != nil {
				out[i].Err = err
				continue
			}
		}

		ordered := flights.SortSeatLabels(labels[i])
		// pgx sends an interval in whole microseconds: so does this.
		expires := now.Add(r.TTL.Truncate(time.Microsecond))
		h := holds.Hold{
			ID: r.ID, KeyID: r.KeyID, FlightID: r.FlightID, Seats: ordered, Status: holds.Active,
			Total: money.Money{Amount: total, Currency: cur}, CreatedAt: now.UTC(), ExpiresAt: expires.UTC(),
		}
		if r.Done != nil {
			body, err := r.Done.Render(h)
			if err != nil {
				return nil, nil, fmt.Errorf("render idempotent response: %w", err)
			}
			if claiming {
				w.claimKeyIDs, w.claimKeys, w.claimFPs = append(w.claimKeyIDs, r.Done.KeyID), append(w.claimKeys, r.Done.Key), append(w.claimFPs, r.Done.Fingerprint)
				w.claimStatus, w.claimBodies = append(w.claimStatus, int32(r.Done.Status)), append(w.claimBodies, body) // #nosec G115 -- an HTTP status code the handler chose, 100 to 599
				keyTaken[idemName{r.Done.KeyID, r.Done.Key}] = true
			} else {
				w.doneKeyIDs, w.doneKeys = append(w.doneKeyIDs, r.Done.KeyID), append(w.doneKeys, r.Done.Key)
				w.doneStatus, w.doneBodies = append(w.doneStatus, int32(r.Done.Status)), append(w.doneBodies, body) // #nosec G115 -- an HTTP status code the handler chose, 100 to 599
			}
		}
		idTaken[r.ID] = true
		// A seat taken over from a lapsed hold closes that hold's story
		// first (in label order, as the lock read them), then the new
		// hold's events in seat order.
		sorted := slices.Clone(labels[i])
		slices.Sort(sorted)
		for _, l := range sorted {
			if ls := locked[seatKey{r.FlightID, l}]; ls.lapsed {
				w.evFlights, w.evSeats, w.evKinds, w.evHolds = append(w.evFlights, r.FlightID), append(w.evSeats, l), append(w.evKinds, "expired"), append(w.evHolds, ls.holder)
			}
		}
		for _, l := range ordered {
			owner[seatKey{r.FlightID, l}] = r.ID
			w.seatFlights, w.seatLabels, w.seatHolds, w.seatUntil = append(w.seatFlights, r.FlightID), append(w.seatLabels, l), append(w.seatHolds, r.ID), append(w.seatUntil, expires)
			w.evFlights, w.evSeats, w.evKinds, w.evHolds = append(w.evFlights, r.FlightID), append(w.evSeats, l), append(w.evKinds, "held"), append(w.evHolds, r.ID)
		}
		w.holdIDs, w.holdKeys, w.holdFlights = append(w.holdIDs, r.ID), append(w.holdKeys, r.KeyID), append(w.holdFlights, r.FlightID)
		w.holdSeats, w.holdTotal, w.holdCurrency = append(w.holdSeats, strings.Join(ordered, ",")), append(w.holdTotal, total), append(w.holdCurrency, cur)
		w.holdExpires, w.holdMaxExpires = append(w.holdExpires, expires), append(w.holdMaxExpires, now.Add(r.MaxLifetime.Truncate(time.Microsecond)))
		w.outbox = append(w.outbox, events.OfHold(events.HoldCreated, h))
		out[i].Hold = h
	}

	if len(w.holdIDs) == 0 {
		return out, stale, nil // the deferred rollback ends a transaction that wrote nothing
	}
	b = pgx.Batch{}
	args := []any{
		w.seatFlights, w.seatLabels, w.seatHolds, w.seatUntil,
		w.evFlights, w.evSeats, w.evKinds, w.evHolds,
		w.holdIDs, w.holdKeys, w.holdFlights, w.holdSeats, w.holdTotal, w.holdCurrency, w.holdExpires, w.holdMaxExpires,
		w.claimKeyIDs, w.claimKeys, w.claimFPs, w.claimStatus, w.claimBodies,
		w.doneKeyIDs, w.doneKeys, w.doneStatus, w.doneBodies}
	b.Queue(batchWriteSQL, append(args, eventArgs(w.outbox)...)...)
	b.Queue("COMMIT")
	if err := c.SendBatch(ctx, &b).Close(); err != nil {
		// Nothing stands: a key or keyed id inserted meanwhile by a request
		// outside the batch (unique violation) rolled everything back, and
		// the caller retries each request alone.
		return nil, nil, err
	}
	return out, stale, nil
}
