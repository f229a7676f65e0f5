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
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/store"
)

// Lock order. Every transaction that changes seats locks the hold (or
// booking) row first, if any, then the seat rows in (flight_id, label) order
// with one ordered SELECT … FOR UPDATE. A total order means no deadlocks;
// should PostgreSQL still report one (or a serialization failure), inTx
// runs the transaction again.

// holdStatus derives a hold's status: an active hold past expires_at is
// expired at once, unless a pending payment pins it.
const holdStatus = `CASE WHEN h.status = 'active' AND h.expires_at <= now()
	AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.hold_id = h.id AND p.state = 'pending')
	THEN 'expired' ELSE h.status END`

const holdColumns = `h.id, h.api_key_id, h.flight_id, h.seats, ` + holdStatus + `,
	h.total_amount, h.currency, h.created_at, h.expires_at, coalesce(h.booking_id, '')`

// errStaleSnapshot makes CreateHold try again: the seats it picked from a
// snapshot were taken before it could lock them.
var errStaleSnapshot = errors.New("picked seats were taken meanwhile")

// pickAttempts bounds the optimistic best-available attempts; the last one
// takes whatever free seats it can lock, skipping locked rows.
const pickAttempts = 5

// inTx runs fn in a transaction, again if PostgreSQL reports a deadlock or a
// serialization failure.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		var pgErr *pgconn.PgError
		if attempt < 5 && errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001") {
			continue
		}
		return err
	}
}

// CreateHold implements store.Reservations. The transaction is pipelined
// into as few round trips as its decisions allow: BEGIN travels with the
// locking read, COMMIT with the write. A quantity request first reads the
// cabin in the round trip that opens the transaction.
func (s *Store) CreateHold(ctx context.Context, h store.NewHold, done *store.Completion) (holds.Hold, error) {
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
		c.Conn.Conn().Close(context.WithoutCancel(c.ctx))
	}
}

func (s *Store) createHold(ctx context.Context, h store.NewHold, done *store.Completion, lastTry bool) (holds.Hold, error) {
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
		if _, err := flightCurrency(ctx, c, h.FlightID); err != nil {
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
		currency       string
		now, expires   time.Time
		own            int // taken seats whose hold is h.ID itself
	)
	b.Queue(`
		SELECT s.label, s.price_amount, (`+freeSeat+`), coalesce(s.hold_id, ''), s.hold_id IS NOT NULL AND s.held_until <= now(),
			f.currency, now(), now() + $3::interval
		FROM seats s JOIN flights f ON f.id = s.flight_id
		WHERE s.flight_id = $1 AND s.label = ANY($2)
		ORDER BY s.label
		FOR UPDATE OF s`, h.FlightID, labels, h.TTL).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&label, &price, &free, &prevOwn, &lapsed, &currency, &now, &expires}, func() error {
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
	if len(found) == 0 {
		// No seat matched: is it the flight or the seats that do not exist?
		if _, err := flightCurrency(ctx, c, h.FlightID); err != nil {
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
		// Our own id holds them: the hold of a keyed id (holds.KeyedID)
		// exists already, made by this request's first attempt or twin.
		return holds.Hold{}, store.ErrIdempotencyKeyTaken
	case len(taken) > 0 && h.ByQuantity():
		return holds.Hold{}, errStaleSnapshot
	case len(taken) > 0:
		slices.Sort(taken)
		return holds.Hold{}, &holds.SeatsUnavailableError{Seats: taken}
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
		)
		SELECT `+idemCount(idem),
		append([]any{h.FlightID, labels, h.ID, h.TTL, lapsedSeats, lapsedHolds, ordered,
			h.KeyID, strings.Join(ordered, ","), total, currency, h.MaxLifetime}, idemArgs...)...).
		QueryRow(func(row pgx.Row) error { return row.Scan(&stored) })
	b.Queue("COMMIT")
	if err := c.SendBatch(ctx, &b).Close(); err != nil {
		var pe *pgconn.PgError
		if claiming && errors.As(err, &pe) && pe.Code == uniqueViolation && pe.ConstraintName == "holds_pkey" {
			return holds.Hold{}, store.ErrIdempotencyKeyTaken // a keyed id (holds.KeyedID) made before
		}
		return holds.Hold{}, translate(err)
	}
	if claiming && stored == 0 {
		return holds.Hold{}, store.ErrIdempotencyKeyTaken
	}
	return out, nil
}

// querier is a transaction, or a connection with a transaction open on it.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// flightCurrency returns a flight's currency, or flights.ErrNotFound.
func flightCurrency(ctx context.Context, q querier, flightID int64) (string, error) {
	var currency string
	err := q.QueryRow(ctx, `SELECT currency FROM flights WHERE id = $1`, flightID).Scan(&currency)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", flights.ErrNotFound
	}
	return currency, err
}

// pickSeats chooses seats for a quantity request. It picks from an unlocked
// snapshot at random among the best blocks, so concurrent requests spread
// over the cabin instead of queueing on its first row; the caller's locked
// re-check catches a stale pick. The last try locks free seats directly,
// skipping rows other transactions hold.
func pickSeats(ctx context.Context, tx querier, h store.NewHold, lastTry bool) ([]string, error) {
	if lastTry {
		rows, err := tx.Query(ctx, `
			SELECT s.label FROM seats s
			WHERE s.flight_id = $1 AND s.cabin = $2 AND (`+freeSeat+`)
			ORDER BY s.label
			LIMIT $3
			FOR UPDATE SKIP LOCKED`, h.FlightID, string(h.Cabin), h.Quantity)
		if err != nil {
			return nil, err
		}
		labels, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, err
		}
		if len(labels) < h.Quantity {
			return nil, holds.ErrNotEnoughSeats
		}
		return labels, nil
	}
	rows, err := tx.Query(ctx, `
		SELECT s.label, s.row_no, s.letter, (`+freeSeat+`)
		FROM seats s WHERE s.flight_id = $1 AND s.cabin = $2`, h.FlightID, string(h.Cabin))
	if err != nil {
		return nil, err
	}
	var slots []holds.SeatSlot
	var slot holds.SeatSlot
	var letter string
	_, err = pgx.ForEachRow(rows, []any{&slot.Label, &slot.Row, &letter, &slot.Free}, func() error {
		slot.Letter = letter[0]
		slots = append(slots, slot)
		return nil
	})
	if err != nil {
		return nil, err
	}
	labels := holds.Pick(slots, h.Quantity, rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())))
	if labels == nil {
		return nil, holds.ErrNotEnoughSeats
	}
	return labels, nil
}

// lockSeats locks seats of one flight in label order.
func lockSeats(ctx context.Context, tx pgx.Tx, flightID int64, labels []string) error {
	rows, err := tx.Query(ctx, `SELECT 1 FROM seats WHERE flight_id = $1 AND label = ANY($2) ORDER BY label FOR UPDATE`, flightID, labels)
	if err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

// recordEvents appends one seat event per seat, in the order given.
func recordEvents(ctx context.Context, tx pgx.Tx, flightID int64, seats []string, event, holdID, bookingID string) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO seat_events (flight_id, seat, event, hold_id, booking_id)
		SELECT $1, seat, $3, nullif($4, ''), nullif($5, '') FROM unnest($2::text[]) WITH ORDINALITY AS x(seat, n) ORDER BY n`,
		flightID, seats, event, holdID, bookingID)
	return err
}

// complete stores the response of an idempotent request in the effect's
// transaction: it marks a claimed key done, or with done.Claim inserts the
// key done, failing with store.ErrIdempotencyKeyTaken if the key exists.
func complete(ctx context.Context, tx pgx.Tx, done *store.Completion, result any) error {
	if done == nil {
		return nil
	}
	idem, args, err := completionCTE(done, result, 0)
	if err != nil {
		return err
	}
	var stored int
	if err := tx.QueryRow(ctx, `WITH `+idem+` SELECT `+idemCount(idem), args...).Scan(&stored); err != nil {
		return err
	}
	if stored == 0 && done.Claim {
		return store.ErrIdempotencyKeyTaken
	}
	return nil
}

// completionCTE renders done's response for result and returns a WITH
// element, "idem AS (…)", that stores it and returns a row if it did, with
// its arguments numbered from argBase+1. It returns "" when done is nil.
func completionCTE(done *store.Completion, result any, argBase int) (string, []any, error) {
	if done == nil {
		return "", nil, nil
	}
	body, err := done.Render(result)
	if err != nil {
		return "", nil, fmt.Errorf("render idempotent response: %w", err)
	}
	n := func(i int) string { return fmt.Sprintf("$%d", argBase+i) }
	head := "idem AS ("
	if done.Claim {
		return head + `
			INSERT INTO idempotency_keys (api_key_id, key, fingerprint, state, lease_until, status, body)
			VALUES (` + n(1) + `, ` + n(2) + `, ` + n(3) + `, 'done', now(), ` + n(4) + `, ` + n(5) + `)
			ON CONFLICT (api_key_id, key) DO NOTHING
			RETURNING 1)
		`, []any{done.KeyID, done.Key, done.Fingerprint, done.Status, body}, nil
	}
	return head + `
		UPDATE idempotency_keys SET state = 'done', status = ` + n(3) + `, body = ` + n(4) + `
		WHERE api_key_id = ` + n(1) + ` AND key = ` + n(2) + ` AND state = 'running'
		RETURNING 1)
	`, []any{done.KeyID, done.Key, done.Status, body}, nil
}

// idemCount is the select-list item counting the rows completionCTE's idem
// wrote (1 when there is none).
func idemCount(idem string) string {
	if idem == "" {
		return "1"
	}
	return "(SELECT count(*) FROM idem)::int"
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

// Hold implements store.Reservations.
func (s *Store) Hold(ctx context.Context, keyID int64, id string) (holds.Hold, error) {
	h, err := scanHold(s.pool.QueryRow(ctx, `SELECT `+holdColumns+` FROM holds h WHERE h.id = $1 AND h.api_key_id = $2`, id, keyID))
	if errors.Is(err, pgx.ErrNoRows) {
		return holds.Hold{}, holds.ErrNotFound
	}
	if err != nil {
		return holds.Hold{}, fmt.Errorf("hold %s: %w", id, err)
	}
	return h, nil
}

// ExtendHold implements store.Reservations.
func (s *Store) ExtendHold(ctx context.Context, keyID int64, id string, ttl time.Duration, done *store.Completion) (holds.Hold, error) {
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
		out = h
		return complete(ctx, tx, done, out)
	})
	if err != nil {
		return holds.Hold{}, fmt.Errorf("extend hold: %w", err)
	}
	return out, nil
}

// ReleaseHold implements store.Reservations.
func (s *Store) ReleaseHold(ctx context.Context, keyID int64, id string, done *store.Completion) (holds.Hold, error) {
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
		out = h
		return complete(ctx, tx, done, out)
	})
	if err != nil {
		return holds.Hold{}, fmt.Errorf("release hold: %w", err)
	}
	return out, nil
}

// freeSeats clears the seats of flightID matching cond (over $2) and returns
// their labels in seat order. The caller has locked them.
func freeSeats(ctx context.Context, tx pgx.Tx, flightID int64, cond string, arg any) ([]string, error) {
	rows, err := tx.Query(ctx, `
		UPDATE seats SET hold_id = NULL, held_until = NULL, booking_id = NULL
		WHERE flight_id = $1 AND `+cond+` RETURNING label`, flightID, arg)
	if err != nil {
		return nil, err
	}
	labels, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	return flights.SortSeatLabels(labels), nil
}

const paymentColumns = `hold_id, api_key_id, booking_id, attempt, amount, currency, token, state, coalesce(charge_id, ''), coalesce(refund_id, '')`

func scanPayment(row pgx.Row) (store.Payment, error) {
	var p store.Payment
	var state string
	err := row.Scan(&p.HoldID, &p.KeyID, &p.BookingID, &p.Attempt, &p.Amount.Amount, &p.Amount.Currency, &p.Token, &state, &p.ChargeID, &p.RefundID)
	p.State = store.PaymentState(state)
	return p, err
}

// BeginBooking implements store.Reservations.
func (s *Store) BeginBooking(ctx context.Context, b store.BeginBooking) (store.Payment, error) {
	var out store.Payment
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		h, pay, err := lockHold(ctx, tx, b.KeyID, b.HoldID)
		if err != nil {
			return err
		}
		if pay == store.PaymentPending {
			// A stalled payment (its lease ran out) is taken over by a retry
			// with the same card; the charge keeps its idempotency key.
			out, err = scanPayment(tx.QueryRow(ctx, `
				UPDATE payments SET lease_until = now() + $3::interval, updated_at = now()
				WHERE hold_id = $1 AND token = $2 AND state = 'pending' AND lease_until <= now()
				RETURNING `+paymentColumns, h.ID, b.Token, b.Lease))
			if errors.Is(err, pgx.ErrNoRows) {
				return bookings.ErrPaymentInProgress
			}
			return err
		}
		switch {
		case h.Status == holds.Booked || h.Status == holds.Released,
			pay == store.PaymentCompleted || pay == store.PaymentRefunding || pay == store.PaymentRefunded:
			return holds.ErrNotActive
		case h.Status == holds.Expired:
			return holds.ErrExpired
		}
		row := tx.QueryRow(ctx, `
			INSERT INTO payments (hold_id, flight_id, api_key_id, booking_id, attempt, amount, currency, token, state, lease_until)
			VALUES ($1, $2, $3, $4, 1, $5, $6, $7, 'pending', now() + $8::interval)
			ON CONFLICT (hold_id) DO UPDATE
				SET attempt = payments.attempt + 1, token = excluded.token, state = 'pending',
				    lease_until = excluded.lease_until, updated_at = now()
				WHERE payments.state = 'declined'
			RETURNING `+paymentColumns,
			h.ID, h.FlightID, h.KeyID, b.BookingID, h.Total.Amount, h.Total.Currency, b.Token, b.Lease)
		if out, err = scanPayment(row); err != nil {
			return err
		}
		if err := lockSeats(ctx, tx, h.FlightID, h.Seats); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			UPDATE seats SET held_until = greatest(held_until, now() + $3::interval)
			WHERE flight_id = $1 AND hold_id = $2 AND booking_id IS NULL`, h.FlightID, h.ID, b.Pin)
		return err
	})
	if err != nil {
		return store.Payment{}, fmt.Errorf("begin booking: %w", err)
	}
	return out, nil
}

// CompleteBooking implements store.Reservations.
func (s *Store) CompleteBooking(ctx context.Context, p store.Payment, chargeID string, done *store.Completion) (bookings.Booking, error) {
	var out bookings.Booking
	lost := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		lost = false
		h, _, err := lockHold(ctx, tx, p.KeyID, p.HoldID)
		if err != nil {
			return err
		}
		cur, err := scanPayment(tx.QueryRow(ctx, `SELECT `+paymentColumns+` FROM payments WHERE hold_id = $1`, p.HoldID))
		if err != nil {
			return err
		}
		switch {
		case cur.State == store.PaymentCompleted:
			if out, err = bookingByID(ctx, tx, cur.BookingID); err != nil {
				return err
			}
			return complete(ctx, tx, done, out)
		case cur.State != store.PaymentPending || cur.Attempt != p.Attempt:
			return holds.ErrNotActive
		}
		if err := lockSeats(ctx, tx, h.FlightID, h.Seats); err != nil {
			return err
		}
		var kept int
		err = tx.QueryRow(ctx, `
			SELECT count(*) FROM seats
			WHERE flight_id = $1 AND hold_id = $2 AND booking_id IS NULL AND held_until > now()`, h.FlightID, h.ID).Scan(&kept)
		if err != nil {
			return err
		}
		if kept != len(h.Seats) {
			// Charged, but the seats went to someone else: the money goes back.
			if _, err := tx.Exec(ctx, `
				UPDATE payments SET state = 'refunding', charge_id = $2, lease_until = now(), updated_at = now()
				WHERE hold_id = $1`, h.ID, chargeID); err != nil {
				return err
			}
			lost = true
			return nil
		}
		out = bookings.Booking{
			ID: cur.BookingID, HoldID: h.ID, KeyID: h.KeyID, FlightID: h.FlightID, Seats: h.Seats,
			Total: h.Total, Status: bookings.Confirmed,
		}
		err = tx.QueryRow(ctx, `
			INSERT INTO bookings (id, hold_id, api_key_id, flight_id, seats, total_amount, currency, status, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'confirmed', now()) RETURNING created_at`,
			out.ID, h.ID, h.KeyID, h.FlightID, strings.Join(h.Seats, ","), h.Total.Amount, h.Total.Currency).Scan(&out.CreatedAt)
		if err != nil {
			return translate(err)
		}
		out.CreatedAt = out.CreatedAt.UTC()
		if _, err := tx.Exec(ctx, `
			INSERT INTO booking_seats (booking_id, flight_id, seat) SELECT $1, $2, unnest($3::text[])`,
			out.ID, h.FlightID, h.Seats); err != nil {
			return translate(err)
		}
		if _, err := tx.Exec(ctx, `
			UPDATE seats SET booking_id = $3, hold_id = NULL, held_until = NULL
			WHERE flight_id = $1 AND hold_id = $2`, h.FlightID, h.ID, out.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE holds SET status = 'booked', booking_id = $2, ended_at = now() WHERE id = $1`, h.ID, out.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			UPDATE payments SET state = 'completed', charge_id = $2, updated_at = now() WHERE hold_id = $1`, h.ID, chargeID); err != nil {
			return err
		}
		if err := recordEvents(ctx, tx, h.FlightID, h.Seats, "booked", h.ID, out.ID); err != nil {
			return err
		}
		return complete(ctx, tx, done, out)
	})
	if err != nil {
		return bookings.Booking{}, fmt.Errorf("complete booking: %w", err)
	}
	if lost {
		// Committed: the payment turns refunding; the hold has, in effect, expired.
		return bookings.Booking{}, holds.ErrExpired
	}
	return out, nil
}

// ReleasePayment implements store.Reservations.
func (s *Store) ReleasePayment(ctx context.Context, p store.Payment) error {
	if _, err := s.pool.Exec(ctx, `
		UPDATE payments SET lease_until = now(), updated_at = now()
		WHERE hold_id = $1 AND attempt = $2 AND state = 'pending'`, p.HoldID, p.Attempt); err != nil {
		return fmt.Errorf("release payment: %w", err)
	}
	return nil
}

// DeclinePayment implements store.Reservations.
func (s *Store) DeclinePayment(ctx context.Context, p store.Payment) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		h, _, err := lockHold(ctx, tx, p.KeyID, p.HoldID)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
			UPDATE payments SET state = 'declined', updated_at = now()
			WHERE hold_id = $1 AND attempt = $2 AND state = 'pending'`, p.HoldID, p.Attempt)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		if err := lockSeats(ctx, tx, h.FlightID, h.Seats); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			UPDATE seats SET held_until = (SELECT expires_at FROM holds WHERE id = $2)
			WHERE flight_id = $1 AND hold_id = $2 AND booking_id IS NULL`, h.FlightID, h.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("decline payment: %w", err)
	}
	return nil
}

func (s *Store) claimPayments(ctx context.Context, state store.PaymentState, lease time.Duration, limit int) ([]store.Payment, error) {
	rows, err := s.pool.Query(ctx, `
		UPDATE payments SET lease_until = now() + $2::interval, updated_at = now()
		WHERE hold_id IN (
			SELECT hold_id FROM payments
			WHERE state = $1 AND lease_until <= now()
			ORDER BY lease_until
			LIMIT $3
			FOR UPDATE SKIP LOCKED)
		RETURNING `+paymentColumns, string(state), lease, limit)
	if err != nil {
		return nil, fmt.Errorf("claim %s payments: %w", state, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Payment, error) { return scanPayment(r) })
	if err != nil {
		return nil, fmt.Errorf("claim %s payments: %w", state, err)
	}
	return out, nil
}

// ClaimStalePayments implements store.Reservations.
func (s *Store) ClaimStalePayments(ctx context.Context, lease time.Duration, limit int) ([]store.Payment, error) {
	return s.claimPayments(ctx, store.PaymentPending, lease, limit)
}

// ClaimRefunds implements store.Reservations.
func (s *Store) ClaimRefunds(ctx context.Context, lease time.Duration, limit int) ([]store.Payment, error) {
	return s.claimPayments(ctx, store.PaymentRefunding, lease, limit)
}

// MarkRefunded implements store.Reservations.
func (s *Store) MarkRefunded(ctx context.Context, holdID, refundID string) error {
	if _, err := s.pool.Exec(ctx, `
		UPDATE payments SET state = 'refunded', refund_id = $2, updated_at = now()
		WHERE hold_id = $1 AND state = 'refunding'`, holdID, refundID); err != nil {
		return fmt.Errorf("mark refunded: %w", err)
	}
	return nil
}

// Payment implements store.Reservations.
func (s *Store) Payment(ctx context.Context, holdID string) (store.Payment, error) {
	p, err := scanPayment(s.pool.QueryRow(ctx, `SELECT `+paymentColumns+` FROM payments WHERE hold_id = $1`, holdID))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Payment{}, bookings.ErrNotFound
	}
	if err != nil {
		return store.Payment{}, fmt.Errorf("payment of %s: %w", holdID, err)
	}
	return p, nil
}

const bookingColumns = `b.id, b.hold_id, b.api_key_id, b.flight_id, b.seats, b.total_amount, b.currency, b.status, b.created_at, b.canceled_at`

func scanBooking(row pgx.Row) (bookings.Booking, error) {
	var b bookings.Booking
	var seats, status string
	var canceled *time.Time
	if err := row.Scan(&b.ID, &b.HoldID, &b.KeyID, &b.FlightID, &seats, &b.Total.Amount, &b.Total.Currency, &status, &b.CreatedAt, &canceled); err != nil {
		return bookings.Booking{}, err
	}
	b.Seats = strings.Split(seats, ",")
	b.Status = bookings.Status(status)
	b.CreatedAt = b.CreatedAt.UTC()
	if canceled != nil {
		b.CanceledAt = canceled.UTC()
	}
	return b, nil
}

func bookingByID(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, id string) (bookings.Booking, error) {
	return scanBooking(q.QueryRow(ctx, `SELECT `+bookingColumns+` FROM bookings b WHERE b.id = $1`, id))
}

// Booking implements store.Reservations.
func (s *Store) Booking(ctx context.Context, keyID int64, id string) (bookings.Booking, error) {
	b, err := scanBooking(s.pool.QueryRow(ctx, `SELECT `+bookingColumns+` FROM bookings b WHERE b.id = $1 AND b.api_key_id = $2`, id, keyID))
	if errors.Is(err, pgx.ErrNoRows) {
		return bookings.Booking{}, bookings.ErrNotFound
	}
	if err != nil {
		return bookings.Booking{}, fmt.Errorf("booking %s: %w", id, err)
	}
	return b, nil
}

// ListBookings implements store.Reservations.
func (s *Store) ListBookings(ctx context.Context, keyID int64, after *store.BookingCursor, limit int) ([]bookings.Booking, error) {
	var afterAt *time.Time
	var afterID string
	if after != nil {
		afterAt, afterID = &after.CreatedAt, after.ID
	}
	rows, err := s.pool.Query(ctx, `
		SELECT `+bookingColumns+` FROM bookings b
		WHERE b.api_key_id = $1 AND ($2::timestamptz IS NULL OR (b.created_at, b.id) < ($2, $3))
		ORDER BY b.created_at DESC, b.id DESC
		LIMIT $4`, keyID, afterAt, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("list bookings: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (bookings.Booking, error) { return scanBooking(r) })
	if err != nil {
		return nil, fmt.Errorf("list bookings: %w", err)
	}
	return out, nil
}

// cancelRefundLease is zero: the canceling request refunds at once, and if
// recovery races it, the refund's idempotency key makes the two one refund.
const cancelRefundLease = time.Duration(0)

// CancelBooking implements store.Reservations.
func (s *Store) CancelBooking(ctx context.Context, keyID int64, id string, done *store.Completion) (bookings.Booking, error) {
	var out bookings.Booking
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		b, err := scanBooking(tx.QueryRow(ctx, `SELECT `+bookingColumns+` FROM bookings b WHERE b.id = $1 AND b.api_key_id = $2 FOR UPDATE`, id, keyID))
		if errors.Is(err, pgx.ErrNoRows) {
			return bookings.ErrNotFound
		}
		if err != nil {
			return err
		}
		if b.Status == bookings.Canceled {
			out = b
			return complete(ctx, tx, done, out)
		}
		if err := lockSeats(ctx, tx, b.FlightID, b.Seats); err != nil {
			return err
		}
		var canceledAt time.Time
		if err := tx.QueryRow(ctx, `
			UPDATE bookings SET status = 'canceled', canceled_at = now() WHERE id = $1 RETURNING canceled_at`, id).Scan(&canceledAt); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE booking_seats SET live = false WHERE booking_id = $1`, id); err != nil {
			return err
		}
		freed, err := freeSeats(ctx, tx, b.FlightID, `booking_id = $2`, id)
		if err != nil {
			return err
		}
		if err := recordEvents(ctx, tx, b.FlightID, freed, "canceled", b.HoldID, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			UPDATE payments SET state = 'refunding', lease_until = now() + $2::interval, updated_at = now()
			WHERE hold_id = $1 AND state = 'completed'`, b.HoldID, cancelRefundLease); err != nil {
			return err
		}
		b.Status, b.CanceledAt = bookings.Canceled, canceledAt.UTC()
		out = b
		return complete(ctx, tx, done, out)
	})
	if err != nil {
		return bookings.Booking{}, fmt.Errorf("cancel booking: %w", err)
	}
	return out, nil
}

// dueHolds selects active holds past their expiry that no pending payment pins.
const dueHolds = `h.status = 'active' AND h.expires_at <= now()
	AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.hold_id = h.id AND p.state = 'pending')`

// ExpireHolds implements store.Reservations. SKIP LOCKED lets several
// replicas sweep at once, each taking different holds.
func (s *Store) ExpireHolds(ctx context.Context, limit int) ([]holds.Hold, error) {
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
		for _, h := range out {
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
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("expire holds: %w", err)
	}
	for i := range out {
		out[i].Status = holds.Expired
	}
	return out, nil
}

// ExpiryLag implements store.Reservations.
func (s *Store) ExpiryLag(ctx context.Context) (time.Duration, error) {
	var lag time.Duration
	err := s.pool.QueryRow(ctx, `
		SELECT coalesce(now() - min(h.expires_at), interval '0') FROM holds h WHERE `+dueHolds).Scan(&lag)
	if err != nil {
		return 0, fmt.Errorf("expiry lag: %w", err)
	}
	return lag, nil
}

// CountActiveHolds implements store.Reservations.
func (s *Store) CountActiveHolds(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM holds WHERE status = 'active' AND expires_at > now()`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count active holds: %w", err)
	}
	return n, nil
}

// ClaimIdempotencyKey implements store.Reservations.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, keyID int64, key, fingerprint string, lease time.Duration) (store.IdemClaim, error) {
	// The usual case, a new key, is one statement in its own transaction.
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO idempotency_keys (api_key_id, key, fingerprint, state, lease_until)
		VALUES ($1, $2, $3, 'running', now() + $4::interval)
		ON CONFLICT (api_key_id, key) DO NOTHING`, keyID, key, fingerprint, lease)
	if err != nil {
		return store.IdemClaim{}, fmt.Errorf("claim idempotency key: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return store.IdemClaim{Outcome: store.IdemProceed}, nil
	}
	var out store.IdemClaim
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var (
			fp, state string
			live      bool
			status    *int
			body      []byte
		)
		err := tx.QueryRow(ctx, `
			SELECT fingerprint, state, lease_until > now(), status, body
			FROM idempotency_keys WHERE api_key_id = $1 AND key = $2 FOR UPDATE`, keyID, key).
			Scan(&fp, &state, &live, &status, &body)
		if errors.Is(err, pgx.ErrNoRows) {
			return errRaced // released between our insert and select: try again
		}
		if err != nil {
			return err
		}
		switch {
		case fp != fingerprint:
			out = store.IdemClaim{Outcome: store.IdemMismatch}
		case state == "done":
			out = store.IdemClaim{Outcome: store.IdemReplay, Status: *status, Body: body}
		case live:
			out = store.IdemClaim{Outcome: store.IdemInFlight}
		default:
			// Its request died holding the key: take it over.
			_, err = tx.Exec(ctx, `UPDATE idempotency_keys SET lease_until = now() + $3::interval WHERE api_key_id = $1 AND key = $2`, keyID, key, lease)
			out = store.IdemClaim{Outcome: store.IdemProceed}
		}
		return err
	})
	if errors.Is(err, errRaced) {
		return s.ClaimIdempotencyKey(ctx, keyID, key, fingerprint, lease)
	}
	if err != nil {
		return store.IdemClaim{}, fmt.Errorf("claim idempotency key: %w", err)
	}
	return out, nil
}

var errRaced = errors.New("idempotency key vanished while claiming")

// IdempotencyKey implements store.Reservations.
func (s *Store) IdempotencyKey(ctx context.Context, keyID int64, key, fingerprint string) (store.IdemClaim, error) {
	var (
		fp, state string
		live      bool
		status    *int
		body      []byte
	)
	err := s.pool.QueryRow(ctx, `
		SELECT fingerprint, state, lease_until > now(), status, body
		FROM idempotency_keys WHERE api_key_id = $1 AND key = $2`, keyID, key).
		Scan(&fp, &state, &live, &status, &body)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.IdemClaim{Outcome: store.IdemProceed}, nil
	case err != nil:
		return store.IdemClaim{}, fmt.Errorf("look up idempotency key: %w", err)
	case fp != fingerprint:
		return store.IdemClaim{Outcome: store.IdemMismatch}, nil
	case state == "done":
		return store.IdemClaim{Outcome: store.IdemReplay, Status: *status, Body: body}, nil
	case live:
		return store.IdemClaim{Outcome: store.IdemInFlight}, nil
	}
	return store.IdemClaim{Outcome: store.IdemProceed}, nil
}

// CompleteIdempotencyKey implements store.Reservations.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, keyID int64, key string, status int, body []byte) error {
	if _, err := s.pool.Exec(ctx, `
		UPDATE idempotency_keys SET state = 'done', status = $3, body = $4
		WHERE api_key_id = $1 AND key = $2 AND state = 'running'`, keyID, key, status, body); err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	return nil
}

// ReleaseIdempotencyKey implements store.Reservations.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, keyID int64, key string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE api_key_id = $1 AND key = $2 AND state = 'running'`, keyID, key); err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

// DeleteIdempotencyKeys implements store.Reservations.
func (s *Store) DeleteIdempotencyKeys(ctx context.Context, age time.Duration) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at <= now() - $1::interval`, age)
	if err != nil {
		return 0, fmt.Errorf("delete idempotency keys: %w", err)
	}
	return tag.RowsAffected(), nil
}

// SeatEvents implements store.Reservations.
func (s *Store) SeatEvents(ctx context.Context, flightID int64) ([]store.SeatEvent, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT flight_id, seat, event, coalesce(hold_id, ''), coalesce(booking_id, ''), at
		FROM seat_events WHERE flight_id = $1 ORDER BY id`, flightID)
	if err != nil {
		return nil, fmt.Errorf("seat events: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.SeatEvent, error) {
		var e store.SeatEvent
		err := r.Scan(&e.FlightID, &e.Seat, &e.Event, &e.HoldID, &e.BookingID, &e.At)
		e.At = e.At.UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("seat events: %w", err)
	}
	return out, nil
}

// FlightBookings implements store.Reservations.
func (s *Store) FlightBookings(ctx context.Context, flightID int64) ([]bookings.Booking, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+bookingColumns+` FROM bookings b WHERE b.flight_id = $1 ORDER BY b.created_at, b.id`, flightID)
	if err != nil {
		return nil, fmt.Errorf("flight bookings: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (bookings.Booking, error) { return scanBooking(r) })
	if err != nil {
		return nil, fmt.Errorf("flight bookings: %w", err)
	}
	return out, nil
}
