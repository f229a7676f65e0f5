package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/idempotency"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/store"
)

// Lock order. Every transaction that changes seats locks the hold (or
// booking) row first, if any, then the seat rows in (flight_id, label) order
// with one ordered SELECT … FOR UPDATE. A total order means no deadlocks;
// should PostgreSQL still report one (or a serialization failure), inTx
// runs the transaction again.

// The liveness rule, stated once for this engine (internal/holds explains
// it): a hold is live while it is active and expires_at > the database's
// now(); a seat is free unless held by a live hold or booked. A seat's
// held_until is its hold's expires_at, pushed later while a payment pins it,
// so the seat side reads held_until. Every query that grants, reads back,
// derives a status, extends, fences a booking, sweeps or counts uses these
// fragments (aliases h for holds, s for seats); the lapsed forms are the
// exact complements, spelled out so the planner sees the same SQL as before.
const (
	// holdLive is an active hold before its expiry.
	holdLive = `(h.status = 'active' AND h.expires_at > now())`
	// holdLapsed is an active hold at or past its expiry (expired unless a
	// pending payment pins it; the sweeper has yet to tidy it).
	holdLapsed = `(h.status = 'active' AND h.expires_at <= now())`
	// seatHeld is a seat a live hold keeps.
	seatHeld = `(s.hold_id IS NOT NULL AND s.held_until > now())`
	// seatLapsed is a seat still pointing at a hold that no longer keeps it.
	seatLapsed = `(s.hold_id IS NOT NULL AND s.held_until <= now())`
	// freeSeat is a seat anyone may take: neither booked nor held.
	freeSeat = `(s.booking_id IS NULL AND (s.hold_id IS NULL OR s.held_until <= now()))`
	// flightDeparted is a flight (alias f) whose departure the database's
	// clock has reached: nothing on it may be held, booked or canceled any
	// more. Every transaction that grants seats, converts a hold or cancels
	// a booking reads it through flightOpen or in its own locking read.
	flightDeparted = `(f.departs_at <= now())`
)

// flightOpen returns the currency of a flight that has not departed, by the
// clock of q's transaction: flights.ErrNotFound or flights.ErrDeparted
// otherwise. Called inside the transaction that grants, converts or cancels,
// the check and the write see the same now().
func flightOpen(ctx context.Context, q querier, flightID int64) (string, error) {
	var (
		currency string
		departed bool
	)
	err := q.QueryRow(ctx, `SELECT f.currency, `+flightDeparted+` FROM flights f WHERE f.id = $1`, flightID).Scan(&currency, &departed)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", flights.ErrNotFound
	case err != nil:
		return "", err
	case departed:
		return "", flights.ErrDeparted
	}
	return currency, nil
}

// holdStatus derives a hold's status: an active hold past expires_at is
// expired at once, unless a pending payment pins it.
const holdStatus = `CASE WHEN ` + holdLapsed + `
	AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.hold_id = h.id AND p.state = 'pending')
	THEN 'expired' ELSE h.status END`

const holdColumns = `h.id, h.api_key_id, h.flight_id, h.seats, ` + holdStatus + `,
	h.total_amount, h.currency, h.created_at, h.expires_at, coalesce(h.booking_id, '')`

// The per-customer caps (holds.Limits) are counted inside the hold's own
// transaction, after locking the customer's api_keys row. Without a lock two
// racing holds of one key would each count the other's uncommitted hold as
// absent and both pass. The row lock (FOR NO KEY UPDATE, which does not
// conflict with the FOR KEY SHARE that inserting a hold or booking takes
// through the foreign key) is chosen over an advisory lock on the key id
// because it needs no namespace of its own and shows in pg_locks as the
// row it protects. It is taken before the seats (the global lock order:
// customer, then seats); only best-available's last try, which locks its
// seats while picking them, takes it after, and a deadlock it meets is
// retried like any other. The count is a statement of its own after the
// lock: under READ COMMITTED a statement's snapshot is taken when it
// starts, so counting in the locking statement would miss the hold of the
// transaction it waited for. Both travel in the locking read's round trip.
// Writes to the key row itself (revocation, the last-used flush) wait for
// an open hold transaction of that key, which lasts two round trips. The
// count reads the live holds through holds_active_expiry_idx and filters
// by key: cheap while live holds number in the thousands.
const (
	lockCustomers = `SELECT id FROM api_keys WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`
	// liveHeld counts each customer's live holds and their seats per flight.
	liveHeld = `
		SELECT h.api_key_id, h.flight_id, count(*), sum(cardinality(string_to_array(h.seats, ',')))
		FROM holds h WHERE h.api_key_id = ANY($1) AND ` + holdLive + `
		GROUP BY h.api_key_id, h.flight_id`
)

// heldKey names a customer's seats on one flight.
type heldKey struct{ key, flight int64 }

// heldCounts is what customers' live holds have against their caps.
type heldCounts struct {
	active map[int64]int   // live holds per customer
	seats  map[heldKey]int // seats of those holds per customer and flight
}

// queueLimitReads queues, on b, the lock of the customers' rows and the
// count of their live holds, into the returned counts.
func queueLimitReads(b *pgx.Batch, keyIDs []int64) *heldCounts {
	out := &heldCounts{active: map[int64]int{}, seats: map[heldKey]int{}}
	b.Queue(lockCustomers, keyIDs)
	var (
		k              heldKey
		nHolds, nSeats int
	)
	b.Queue(liveHeld, keyIDs).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&k.key, &k.flight, &nHolds, &nSeats}, func() error {
			out.active[k.key] += nHolds
			out.seats[k] += nSeats
			return nil
		})
		return err
	})
	return out
}

// check applies r's caps to a new hold of n seats and, when it passes,
// counts it for the requests after it.
func (c *heldCounts) check(r store.HoldCreateParams, n int) error {
	k := heldKey{r.KeyID, r.FlightID}
	if err := r.Limits.Check(n, c.seats[k], c.active[r.KeyID]); err != nil {
		return err
	}
	c.seats[k] += n
	c.active[r.KeyID]++
	return nil
}

// errStaleSnapshot makes HoldCreate try again: the seats it picked from a
// snapshot were taken before it could lock them.
var errStaleSnapshot = errors.New("picked seats were taken meanwhile")

// pickAttempts bounds the optimistic best-available attempts; the last one
// takes whatever free seats it can lock, skipping locked rows.
const pickAttempts = 5

// HoldCreate implements store.Holds. The transaction is pipelined
// into as few round trips as its decisions allow: BEGIN travels with the
// locking read, COMMIT with the write. A quantity request first reads the
// cabin in the round trip that opens the transaction.
func (s *Store) HoldCreate(ctx context.Context, h store.HoldCreateParams, done *idempotency.Completion[holds.Hold]) (holds.Hold, error) {
	for attempt, deadlocks := 1, 0; ; {
		out, err := s.createHold(ctx, h, done, attempt == pickAttempts)
		var pgErr *pgconn.PgError
		switch {
		case errors.Is(err, errStaleSnapshot) && attempt < pickAttempts:
			attempt++
			continue
		case errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001") && deadlocks < 4:
			deadlocks++
			continue
		case err != nil:
			return holds.Hold{}, fmt.Errorf("create hold: %w", err)
		}
		return out, nil
	}
}

// holdConn is a pooled connection with the hold's transaction open on it.
// Whatever ends the transaction early, rollback ends it; a connection that
// cannot even roll back is closed rather than returned to the pool.
type holdConn struct {
	*pgxpool.Conn
	ctx context.Context
}

func (c holdConn) rollback() {
	if c.Conn.Conn().PgConn().TxStatus() == 'I' {
		return
	}
	if _, err := c.Exec(context.WithoutCancel(c.ctx), "ROLLBACK"); err != nil {
		c.Conn.Conn().Close(context.WithoutCancel(c.ctx)) // #nosec G104 -- the ROLLBACK failed, so the connection is being thrown away; a failed close leaves nothing to undo
	}
}

func (s *Store) createHold(ctx context.Context, h store.HoldCreateParams, done *idempotency.Completion[holds.Hold], lastTry bool) (holds.Hold, error) {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return holds.Hold{}, err
	}
	c := holdConn{Conn: pc, ctx: ctx}
	defer pc.Release()
	defer c.rollback()

	labels := h.Seats
	var b pgx.Batch
	if h.ByQuantity() {
		if _, err := c.Exec(ctx, "BEGIN"); err != nil {
			return holds.Hold{}, err
		}
		if _, err := flightOpen(ctx, c, h.FlightID); err != nil {
			return holds.Hold{}, err
		}
		if labels, err = pickSeats(ctx, c, h, lastTry); err != nil {
			return holds.Hold{}, err
		}
	} else {
		b.Queue("BEGIN")
	}
	// Lock the seats in label order and read what the hold needs: prices,
	// the flight's currency and the transaction's clock (now() is fixed for
	// the whole transaction, so the times read here are the ones the write
	// below stores).
	var (
		found          = map[string]bool{}
		taken          []string
		lapsedSeats    []string
		lapsedHolds    []string
		total          int64
		label, prevOwn string
		price          int64
		free, lapsed   bool
		departed       bool
		currency       string
		now, expires   time.Time
		own            int // taken seats whose hold is h.ID itself
		held           *heldCounts
	)
	if h.Limits != (holds.Limits{}) {
		held = queueLimitReads(&b, []int64{h.KeyID})
	}
	b.Queue(`
		SELECT s.label, s.price_amount, `+freeSeat+`, coalesce(s.hold_id, ''), `+seatLapsed+`,
			f.currency, now(), now() + $3::interval, `+flightDeparted+`
		FROM seats s JOIN flights f ON f.id = s.flight_id
		WHERE s.flight_id = $1 AND s.label = ANY($2)
		ORDER BY s.label
		FOR UPDATE OF s`, h.FlightID, labels, h.TTL).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&label, &price, &free, &prevOwn, &lapsed, &currency, &now, &expires, &departed}, func() error {
			found[label] = true
			total += price
			if !free {
				taken = append(taken, label)
				if prevOwn == h.ID {
					own++
				}
			}
			if lapsed {
				lapsedSeats, lapsedHolds = append(lapsedSeats, label), append(lapsedHolds, prevOwn)
			}
			return nil
		})
		return err
	})
	if err := c.SendBatch(ctx, &b).Close(); err != nil {
		return holds.Hold{}, err
	}
	if departed {
		return holds.Hold{}, flights.ErrDeparted
	}
	if len(found) == 0 {
		// No seat matched: is it the flight or the seats that do not exist
		// (or has the flight left)?
		if _, err := flightOpen(ctx, c, h.FlightID); err != nil {
			return holds.Hold{}, err
		}
	}
	var unknown []string
	for _, l := range labels {
		if !found[l] {
			unknown = append(unknown, l)
		}
	}
	switch {
	case len(unknown) > 0:
		slices.Sort(unknown)
		return holds.Hold{}, &holds.UnknownSeatsError{Seats: unknown}
	case len(taken) > 0 && own == len(taken):
		// Our own id holds them: the hold of a keyed id (idempotency.HoldID)
		// exists already, made by this request's first attempt or twin.
		return holds.Hold{}, idempotency.ErrKeyTaken
	case len(taken) > 0 && h.ByQuantity():
		return holds.Hold{}, errStaleSnapshot
	case len(taken) > 0:
		slices.Sort(taken)
		return holds.Hold{}, &holds.SeatsUnavailableError{Seats: taken}
	}
	if held != nil {
		if err := held.check(h, len(labels)); err != nil {
			return holds.Hold{}, err
		}
	}

	ordered := flights.SortSeatLabels(labels)
	out := holds.Hold{
		ID: h.ID, KeyID: h.KeyID, FlightID: h.FlightID, Seats: ordered, Status: holds.Active,
		Total: money.Money{Amount: total, Currency: currency}, CreatedAt: now.UTC(), ExpiresAt: expires.UTC(),
	}
	idem, idemArgs, err := completionCTE(done, out, 12)
	if err != nil {
		return holds.Hold{}, err
	}
	// Every write in one statement: the seats, their events (a seat taken
	// over from a lapsed hold closes that hold's story first, then the new
	// hold's events in seat order), the hold, and its idempotency key; and
	// COMMIT in the same round trip. A claiming completion gates every write
	// on its key's insertion: when the key exists, nothing is written, and
	// COMMIT ends a transaction that changed nothing.
	claiming := done != nil && done.Claim
	with, gate := "WITH ", "TRUE"
	if idem != "" {
		with += idem + ", "
	}
	if claiming {
		gate = "EXISTS (SELECT 1 FROM idem)"
	}
	// The outbox row travels in the same statement, under the same gate.
	args := append([]any{h.FlightID, labels, h.ID, h.TTL, lapsedSeats, lapsedHolds, ordered,
		h.KeyID, strings.Join(ordered, ","), total, currency, h.MaxLifetime}, idemArgs...)
	outbox := insertEventsFrom(len(args)+1) + ` WHERE ` + gate
	args = append(args, eventArgs([]events.Event{events.OfHold(events.HoldCreated, out)})...)
	var stored int
	b = pgx.Batch{}
	b.Queue(with+`seats_held AS (
			UPDATE seats SET hold_id = $3, held_until = now() + $4::interval
			WHERE flight_id = $1 AND label = ANY($2) AND `+gate+`
		), events AS (
			INSERT INTO seat_events (flight_id, seat, event, hold_id)
			SELECT $1, seat, event, hold FROM (
				SELECT 1 AS step, n, seat, 'expired' AS event, hold
				FROM unnest($5::text[], $6::text[]) WITH ORDINALITY AS x(seat, hold, n)
				UNION ALL
				SELECT 2, n, seat, 'held', $3 FROM unnest($7::text[]) WITH ORDINALITY AS y(seat, n)
			) e WHERE `+gate+` ORDER BY step, n
		), hold AS (
			INSERT INTO holds (id, api_key_id, flight_id, seats, status, total_amount, currency, created_at, expires_at, max_expires_at)
			SELECT $3, $8, $1, $9, 'active', $10, $11, now(), now() + $4::interval, now() + $12::interval WHERE `+gate+`
		), outbox AS (`+outbox+`
		)
		SELECT `+idemCount(idem), args...).
		QueryRow(func(row pgx.Row) error { return row.Scan(&stored) })
	b.Queue("COMMIT")
	if err := c.SendBatch(ctx, &b).Close(); err != nil {
		var pe *pgconn.PgError
		if claiming && errors.As(err, &pe) && pe.Code == uniqueViolation && pe.ConstraintName == "holds_pkey" {
			return holds.Hold{}, idempotency.ErrKeyTaken // a keyed id (idempotency.HoldID) made before
		}
		return holds.Hold{}, translate(err)
	}
	if claiming && stored == 0 {
		return holds.Hold{}, idempotency.ErrKeyTaken
	}
	return out, nil
}

func scanHold(row pgx.Row) (holds.Hold, error) {
	var h holds.Hold
	var seats, status string
	if err := row.Scan(&h.ID, &h.KeyID, &h.FlightID, &seats, &status, &h.Total.Amount, &h.Total.Currency,
		&h.CreatedAt, &h.ExpiresAt, &h.BookingID); err != nil {
		return holds.Hold{}, err
	}
	h.Seats = strings.Split(seats, ",")
	h.Status = holds.Status(status)
	h.CreatedAt, h.ExpiresAt = h.CreatedAt.UTC(), h.ExpiresAt.UTC()
	return h, nil
}

// lockHold locks and returns a hold of keyID, with its payment state ("" if none).
func lockHold(ctx context.Context, tx pgx.Tx, keyID int64, id string) (holds.Hold, store.PaymentState, error) {
	h, err := scanHold(tx.QueryRow(ctx, `SELECT `+holdColumns+` FROM holds h WHERE h.id = $1 AND h.api_key_id = $2 FOR UPDATE`, id, keyID))
	if errors.Is(err, pgx.ErrNoRows) {
		return holds.Hold{}, "", holds.ErrNotFound
	}
	if err != nil {
		return holds.Hold{}, "", err
	}
	var state string
	err = tx.QueryRow(ctx, `SELECT state FROM payments WHERE hold_id = $1 FOR UPDATE`, id).Scan(&state)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return holds.Hold{}, "", err
	}
	return h, store.PaymentState(state), nil
}

// HoldGet implements store.Holds.
func (s *Store) HoldGet(ctx context.Context, keyID int64, id string) (holds.Hold, error) {
	h, err := scanHold(s.pool.QueryRow(ctx, `SELECT `+holdColumns+` FROM holds h WHERE h.id = $1 AND h.api_key_id = $2`, id, keyID))
	if errors.Is(err, pgx.ErrNoRows) {
		return holds.Hold{}, holds.ErrNotFound
	}
	if err != nil {
		return holds.Hold{}, fmt.Errorf("hold %s: %w", id, err)
	}
	return h, nil
}

// HoldExtend implements store.Holds.
func (s *Store) HoldExtend(ctx context.Context, p store.HoldExtendParams) (holds.Hold, error) {
	keyID, id, ttl, done := p.KeyID, p.ID, p.TTL, p.Done
	var out holds.Hold
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		h, pay, err := lockHold(ctx, tx, keyID, id)
		if err != nil {
			return err
		}
		switch {
		case h.Status == holds.Expired:
			return holds.ErrExpired
		case h.Status != holds.Active || pay == store.PaymentPending:
			return holds.ErrNotActive
		}
		if err := lockSeats(ctx, tx, h.FlightID, h.Seats); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `
			UPDATE holds SET expires_at = least(now() + $2::interval, max_expires_at)
			WHERE id = $1 RETURNING expires_at`, id, ttl).Scan(&h.ExpiresAt)
		if err != nil {
			return err
		}
		h.ExpiresAt = h.ExpiresAt.UTC()
		if _, err := tx.Exec(ctx, `
			UPDATE seats SET held_until = $3
			WHERE flight_id = $1 AND hold_id = $2 AND booking_id IS NULL`, h.FlightID, id, h.ExpiresAt); err != nil {
			return err
		}
		if err := writeEvents(ctx, tx, events.OfHold(events.HoldExtended, h)); err != nil {
			return err
		}
		out = h
		return complete(ctx, tx, done, out)
	})
	if err != nil {
		return holds.Hold{}, fmt.Errorf("extend hold: %w", err)
	}
	return out, nil
}

// HoldRelease implements store.Holds.
func (s *Store) HoldRelease(ctx context.Context, p store.HoldReleaseParams) (holds.Hold, error) {
	keyID, id, done := p.KeyID, p.ID, p.Done
	var out holds.Hold
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		h, pay, err := lockHold(ctx, tx, keyID, id)
		if err != nil {
			return err
		}
		switch {
		case h.Status == holds.Booked:
			return holds.ErrAlreadyBooked
		case h.Status == holds.Released:
			out = h
			return complete(ctx, tx, done, out)
		case h.Status == holds.Expired:
			return holds.ErrExpired
		case pay == store.PaymentPending:
			return bookings.ErrPaymentInProgress
		}
		if err := lockSeats(ctx, tx, h.FlightID, h.Seats); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE holds SET status = 'released', ended_at = now() WHERE id = $1`, id); err != nil {
			return err
		}
		freed, err := freeSeats(ctx, tx, h.FlightID, `hold_id = $2 AND booking_id IS NULL`, id)
		if err != nil {
			return err
		}
		if err := recordEvents(ctx, tx, h.FlightID, freed, "released", id, ""); err != nil {
			return err
		}
		h.Status = holds.Released
		if err := writeEvents(ctx, tx, events.OfHold(events.HoldReleased, h)); err != nil {
			return err
		}
		out = h
		return complete(ctx, tx, done, out)
	})
	if err != nil {
		return holds.Hold{}, fmt.Errorf("release hold: %w", err)
	}
	return out, nil
}

// dueHolds selects active holds past their expiry that no pending payment pins.
const dueHolds = holdLapsed + `
	AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.hold_id = h.id AND p.state = 'pending')`

// HoldExpire implements store.Holds. SKIP LOCKED lets several
// replicas sweep at once, each taking different holds.
func (s *Store) HoldExpire(ctx context.Context, limit int) ([]holds.Hold, error) {
	var out []holds.Hold
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(ctx, `
			WITH due AS (
				SELECT h.id FROM holds h WHERE `+dueHolds+`
				ORDER BY h.expires_at LIMIT $1
				FOR UPDATE SKIP LOCKED)
			UPDATE holds h SET status = 'expired', ended_at = now() FROM due WHERE h.id = due.id
			RETURNING `+holdColumns, limit)
		if err != nil {
			return err
		}
		if out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (holds.Hold, error) { return scanHold(r) }); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		var flightIDs []int64
		var labels, owners []string
		evs := make([]events.Event, len(out))
		for i, h := range out {
			h.Status = holds.Expired
			evs[i] = events.OfHold(events.HoldExpired, h)
			for _, l := range h.Seats {
				flightIDs, labels, owners = append(flightIDs, h.FlightID), append(labels, l), append(owners, h.ID)
			}
		}
		// Lock every seat of the batch in one ordered statement (the global lock order).
		lock, err := tx.Query(ctx, `
			SELECT 1 FROM seats s JOIN unnest($1::bigint[], $2::text[]) AS x(flight_id, label)
				ON s.flight_id = x.flight_id AND s.label = x.label
			ORDER BY s.flight_id, s.label FOR UPDATE OF s`, flightIDs, labels)
		if err != nil {
			return err
		}
		lock.Close()
		if err := lock.Err(); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			WITH freed AS (
				UPDATE seats s SET hold_id = NULL, held_until = NULL
				FROM unnest($1::bigint[], $2::text[], $3::text[]) AS x(flight_id, label, hold_id)
				WHERE s.flight_id = x.flight_id AND s.label = x.label AND s.hold_id = x.hold_id AND s.booking_id IS NULL
				RETURNING s.flight_id, s.label, s.hold_id AS prev)
			INSERT INTO seat_events (flight_id, seat, event, hold_id)
			SELECT freed.flight_id, freed.label, 'expired', x.hold_id
			FROM freed JOIN unnest($1::bigint[], $2::text[], $3::text[]) AS x(flight_id, label, hold_id)
				ON freed.flight_id = x.flight_id AND freed.label = x.label
			ORDER BY freed.flight_id, freed.label`, flightIDs, labels, owners)
		if err != nil {
			return err
		}
		return writeEvents(ctx, tx, evs...)
	})
	if err != nil {
		return nil, fmt.Errorf("expire holds: %w", err)
	}
	for i := range out {
		out[i].Status = holds.Expired
	}
	return out, nil
}

// HoldExpiryLag implements store.Holds.
func (s *Store) HoldExpiryLag(ctx context.Context) (time.Duration, error) {
	var lag time.Duration
	err := s.pool.QueryRow(ctx, `
		SELECT coalesce(now() - min(h.expires_at), interval '0') FROM holds h WHERE `+dueHolds).Scan(&lag)
	if err != nil {
		return 0, fmt.Errorf("expiry lag: %w", err)
	}
	return lag, nil
}

// HoldCountActive implements store.Holds.
func (s *Store) HoldCountActive(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM holds h WHERE `+holdLive).Scan(&n); err != nil {
		return 0, fmt.Errorf("count active holds: %w", err)
	}
	return n, nil
}
