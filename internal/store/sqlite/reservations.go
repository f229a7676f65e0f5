package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/store"
)

// How the reservation methods work on SQLite:
//
//   - Every write is one transaction on the writer pool. The writer has one
//     connection and its transactions begin IMMEDIATE, so writes run one at
//     a time and each sees the seats exactly as the previous one left them.
//   - A write transaction reads the database clock once, right after taking
//     the write lock (readClock), and judges and stamps everything with that
//     instant, as PostgreSQL's now() does within a transaction. Times are the
//     fixed-width UTC text of timeFormat, so comparing them as text compares
//     them as instants.
//   - A seat is free iff booking_id IS NULL AND (hold_id IS NULL OR
//     held_until <= now): an expired hold frees its seats without any
//     background work. held_until is the hold's expires_at, pushed later
//     while a payment is pending (the pin).

// modifier is the strftime modifier that moves a time by d, to the millisecond.
func modifier(d time.Duration) string { return fmt.Sprintf("%+.3f seconds", d.Seconds()) }

const clockSQL = `SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
	strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1), strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?2)`

// readClock reads the database clock once for a transaction: now, now+d1
// and now+d2, all from the same instant.
func readClock(ctx context.Context, tx *sql.Tx, d1, d2 time.Duration) (now, at1, at2 string, err error) {
	err = tx.QueryRowContext(ctx, clockSQL, modifier(d1), modifier(d2)).Scan(&now, &at1, &at2)
	if err != nil {
		return "", "", "", fmt.Errorf("read clock: %w", err)
	}
	return now, at1, at2, nil
}

// write runs fn in one writer transaction and commits it if fn succeeds.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

const completeKeySQL = `
	UPDATE idempotency_keys SET state = 'done', status = ?1, body = ?2
	WHERE api_key_id = ?3 AND key = ?4 AND state = 'running'`

const claimKeySQL = `
	INSERT INTO idempotency_keys (api_key_id, key, fingerprint, state, lease_until, created_at, status, body)
	VALUES (?1, ?2, ?3, 'done', ` + nowSQL + `, ` + nowSQL + `, ?4, ?5)
	ON CONFLICT (api_key_id, key) DO NOTHING`

// complete stores the response of done's idempotency key in tx, the
// transaction of the effect that produced result: it marks a claimed key
// done, or with done.Claim inserts the key done, failing with
// store.ErrIdempotencyKeyTaken if the key exists.
func complete(ctx context.Context, tx *sql.Tx, done *store.Completion, result any) error {
	if done == nil {
		return nil
	}
	body, err := done.Render(result)
	if err != nil {
		return fmt.Errorf("render response: %w", err)
	}
	if !done.Claim {
		if _, err := tx.ExecContext(ctx, completeKeySQL, done.Status, body, done.KeyID, done.Key); err != nil {
			return fmt.Errorf("complete idempotency key: %w", err)
		}
		return nil
	}
	res, err := tx.ExecContext(ctx, claimKeySQL, done.KeyID, done.Key, done.Fingerprint, done.Status, body)
	if err != nil {
		return fmt.Errorf("claim idempotency key: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return cmp.Or(err, store.ErrIdempotencyKeyTaken)
	}
	return nil
}

// insertHoldEvents records event for every seat a hold still has (not
// converted into a booking), in seat order. Run it before the seats change.
const insertHoldEvents = `
	INSERT INTO seat_events (flight_id, seat, event, hold_id, booking_id, at)
	SELECT flight_id, label, ?1, ?2, ?3, ?4 FROM seats
	WHERE hold_id = ?2 AND booking_id IS NULL
	ORDER BY row_no, letter`

// freeHoldSeats frees every seat a hold still has.
const freeHoldSeats = `UPDATE seats SET hold_id = NULL, held_until = NULL WHERE hold_id = ?1 AND booking_id IS NULL`

// holdEvents records event for the seats hold still has; bookingID may be "".
func holdEvents(ctx context.Context, tx *sql.Tx, event, holdID, bookingID, now string) error {
	if _, err := tx.ExecContext(ctx, insertHoldEvents, event, holdID, nullString(bookingID), now); err != nil {
		return fmt.Errorf("record %s events: %w", event, err)
	}
	return nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// --- Holds ---

// holdRow is a stored hold with what its derived status depends on.
type holdRow struct {
	holds.Hold          // Status as stored
	expiresAt    string // as stored, to compare with the clock
	maxExpiresAt string
	payment      store.PaymentState // of its payment, "" if none
}

// status is the hold's status at now: an active hold past expires_at reads
// expired, unless a pending payment pins it.
func (r holdRow) status(now string) holds.Status {
	if r.Status == holds.Active && r.expiresAt <= now && r.payment != store.PaymentPending {
		return holds.Expired
	}
	return r.Status
}

// at returns the hold as it reads at now.
func (r holdRow) at(now string) holds.Hold {
	h := r.Hold
	h.Status = r.status(now)
	return h
}

const holdColumns = `h.id, h.api_key_id, h.flight_id, h.seats, h.status, h.total_amount, h.currency,
	h.created_at, h.expires_at, h.max_expires_at, coalesce(h.booking_id, ''), coalesce(p.state, '')`

// selectHold reads a hold of an owner, and the database clock for readers.
const selectHold = `
	SELECT ` + holdColumns + `, ` + nowSQL + `
	FROM holds h LEFT JOIN payments p ON p.hold_id = h.id
	WHERE h.id = ?1 AND h.api_key_id = ?2`

func scanHold(r scanner, extra ...any) (holdRow, error) {
	var (
		row              holdRow
		seats, createdAt string
	)
	dest := append([]any{&row.ID, &row.KeyID, &row.FlightID, &seats, &row.Status, &row.Total.Amount, &row.Total.Currency,
		&createdAt, &row.expiresAt, &row.maxExpiresAt, &row.BookingID, &row.payment}, extra...)
	if err := r.Scan(dest...); err != nil {
		return holdRow{}, err
	}
	row.Seats = strings.Split(seats, ",")
	var err error
	if row.CreatedAt, err = parseTime(createdAt); err != nil {
		return holdRow{}, err
	}
	if row.ExpiresAt, err = parseTime(row.expiresAt); err != nil {
		return holdRow{}, err
	}
	return row, nil
}

// loadHold reads a hold of keyID in tx, or holds.ErrNotFound.
func loadHold(ctx context.Context, tx *sql.Tx, keyID int64, id string) (holdRow, error) {
	var ignored string
	row, err := scanHold(tx.QueryRowContext(ctx, selectHold, id, keyID), &ignored)
	if errors.Is(err, sql.ErrNoRows) {
		return holdRow{}, holds.ErrNotFound
	}
	return row, err
}

// seatRow is a seat considered for a hold.
type seatRow struct {
	label  string
	row    int
	letter string
	price  int64
	free   bool
	holder string // the hold id on the seat, live or not
}

const seatRowColumns = `label, row_no, letter, price_amount, booking_id IS NULL AND (hold_id IS NULL OR held_until <= ?1), coalesce(hold_id, '')`

const selectRequestedSeats = `
	SELECT ` + seatRowColumns + ` FROM seats
	WHERE flight_id = ?2 AND label IN (SELECT value FROM json_each(?3))
	ORDER BY row_no, letter`

const selectCabinSeats = `
	SELECT ` + seatRowColumns + ` FROM seats
	WHERE flight_id = ?2 AND cabin = ?3
	ORDER BY row_no, letter`

func querySeats(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]seatRow, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []seatRow
	for rows.Next() {
		var r seatRow
		if err := rows.Scan(&r.label, &r.row, &r.letter, &r.price, &r.free, &r.holder); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// pickSeats chooses which of the seats found for h to grant (in seat order),
// or says why none can be.
func pickSeats(h store.NewHold, found []seatRow) ([]seatRow, error) {
	if !h.ByQuantity() {
		known := map[string]bool{}
		var taken []string
		own := 0
		for _, r := range found {
			known[r.label] = true
			if !r.free {
				taken = append(taken, r.label)
				if r.holder == h.ID {
					own++
				}
			}
		}
		var unknown []string
		for _, l := range h.Seats {
			if !known[l] {
				unknown = append(unknown, l)
			}
		}
		if len(unknown) > 0 {
			slices.Sort(unknown)
			return nil, &holds.UnknownSeatsError{Seats: unknown}
		}
		if len(taken) > 0 && own == len(taken) {
			// Our own id holds them: the hold of a keyed id (holds.KeyedID)
			// exists already, made by this request's first attempt or twin.
			return nil, store.ErrIdempotencyKeyTaken
		}
		if len(taken) > 0 {
			slices.Sort(taken)
			return nil, &holds.SeatsUnavailableError{Seats: taken}
		}
		return found, nil
	}
	slots := make([]holds.SeatSlot, len(found))
	for i, r := range found {
		slots[i] = holds.SeatSlot{Label: r.label, Row: r.row, Letter: r.letter[0], Free: r.free}
	}
	rnd := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	picked := holds.Pick(slots, h.Quantity, rnd)
	if picked == nil {
		return nil, holds.ErrNotEnoughSeats
	}
	var out []seatRow
	for _, r := range found {
		if slices.Contains(picked, r.label) {
			out = append(out, r)
		}
	}
	return out, nil
}

// insertLapsedEvents records, before seats are granted, that the holds they
// still point at expired (lazily: the sweeper has not got to them).
const insertLapsedEvents = `
	INSERT INTO seat_events (flight_id, seat, event, hold_id, at)
	SELECT flight_id, label, 'expired', hold_id, ?1 FROM seats
	WHERE flight_id = ?2 AND label IN (SELECT value FROM json_each(?3))
	  AND booking_id IS NULL AND hold_id IS NOT NULL AND held_until <= ?1
	ORDER BY row_no, letter`

// grantSeats gives free seats to a hold.
const grantSeats = `
	UPDATE seats SET hold_id = ?1, held_until = ?2
	WHERE flight_id = ?3 AND label IN (SELECT value FROM json_each(?4))
	  AND booking_id IS NULL AND (hold_id IS NULL OR held_until <= ?5)`

const insertHold = `
	INSERT INTO holds (id, api_key_id, flight_id, seats, status, total_amount, currency, created_at, expires_at, max_expires_at)
	VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?, ?)`

// CreateHold implements store.Reservations.
func (s *Store) CreateHold(ctx context.Context, h store.NewHold, done *store.Completion) (holds.Hold, error) {
	var out holds.Hold
	err := s.write(ctx, func(tx *sql.Tx) error {
		now, expiresAt, maxExpiresAt, err := readClock(ctx, tx, h.TTL, h.MaxLifetime)
		if err != nil {
			return err
		}
		var currency string
		err = tx.QueryRowContext(ctx, `SELECT currency FROM flights WHERE id = ?`, h.FlightID).Scan(&currency)
		if errors.Is(err, sql.ErrNoRows) {
			return flights.ErrNotFound
		}
		if err != nil {
			return err
		}
		var found []seatRow
		if h.ByQuantity() {
			found, err = querySeats(ctx, tx, selectCabinSeats, now, h.FlightID, string(h.Cabin))
		} else {
			requested, _ := json.Marshal(h.Seats)
			found, err = querySeats(ctx, tx, selectRequestedSeats, now, h.FlightID, string(requested))
		}
		if err != nil {
			return fmt.Errorf("read seats: %w", err)
		}
		granted, err := pickSeats(h, found)
		if err != nil {
			return err
		}
		labels := make([]string, len(granted))
		var total int64
		for i, r := range granted {
			labels[i] = r.label
			total += r.price
		}
		grantedJSON, _ := json.Marshal(labels)
		if _, err := tx.ExecContext(ctx, insertLapsedEvents, now, h.FlightID, string(grantedJSON)); err != nil {
			return fmt.Errorf("record expired events: %w", err)
		}
		res, err := tx.ExecContext(ctx, grantSeats, h.ID, expiresAt, h.FlightID, string(grantedJSON), now)
		if err != nil {
			return fmt.Errorf("grant seats: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(len(labels)) {
			return fmt.Errorf("grant seats: %d of %d granted (%v)", n, len(labels), err)
		}
		seats := strings.Join(labels, ",")
		if _, err := tx.ExecContext(ctx, insertHold, h.ID, h.KeyID, h.FlightID, seats, total, currency,
			now, expiresAt, maxExpiresAt); err != nil {
			err = translate(err)
			if done != nil && done.Claim && errors.Is(err, store.ErrConflict) {
				return store.ErrIdempotencyKeyTaken // a keyed id (holds.KeyedID) made before
			}
			return fmt.Errorf("insert hold: %w", err)
		}
		if err := holdEvents(ctx, tx, "held", h.ID, "", now); err != nil {
			return err
		}
		out = holds.Hold{
			ID: h.ID, KeyID: h.KeyID, FlightID: h.FlightID, Seats: labels, Status: holds.Active,
			Total: money.Money{Amount: total, Currency: currency},
		}
		if out.CreatedAt, err = parseTime(now); err != nil {
			return err
		}
		if out.ExpiresAt, err = parseTime(expiresAt); err != nil {
			return err
		}
		return complete(ctx, tx, done, out)
	})
	if err != nil {
		return holds.Hold{}, fmt.Errorf("create hold: %w", err)
	}
	return out, nil
}

// Hold implements store.Reservations.
func (s *Store) Hold(ctx context.Context, keyID int64, id string) (holds.Hold, error) {
	var now string
	row, err := scanHold(s.reader.QueryRowContext(ctx, selectHold, id, keyID), &now)
	if errors.Is(err, sql.ErrNoRows) {
		return holds.Hold{}, holds.ErrNotFound
	}
	if err != nil {
		return holds.Hold{}, fmt.Errorf("hold %s: %w", id, err)
	}
	return row.at(now), nil
}

// ExtendHold implements store.Reservations.
func (s *Store) ExtendHold(ctx context.Context, keyID int64, id string, ttl time.Duration, done *store.Completion) (holds.Hold, error) {
	var out holds.Hold
	err := s.write(ctx, func(tx *sql.Tx) error {
		now, expiresAt, _, err := readClock(ctx, tx, ttl, 0)
		if err != nil {
			return err
		}
		row, err := loadHold(ctx, tx, keyID, id)
		if err != nil {
			return err
		}
		switch {
		case row.Status == holds.Booked, row.Status == holds.Released, row.payment == store.PaymentPending:
			return holds.ErrNotActive
		case row.status(now) == holds.Expired:
			return holds.ErrExpired
		}
		expiresAt = min(expiresAt, row.maxExpiresAt)
		if _, err := tx.ExecContext(ctx, `UPDATE holds SET expires_at = ?1 WHERE id = ?2`, expiresAt, id); err != nil {
			return fmt.Errorf("update hold: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE seats SET held_until = ?1 WHERE hold_id = ?2 AND booking_id IS NULL`,
			expiresAt, id); err != nil {
			return fmt.Errorf("update seats: %w", err)
		}
		out = row.Hold
		if out.ExpiresAt, err = parseTime(expiresAt); err != nil {
			return err
		}
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
	err := s.write(ctx, func(tx *sql.Tx) error {
		now, _, _, err := readClock(ctx, tx, 0, 0)
		if err != nil {
			return err
		}
		row, err := loadHold(ctx, tx, keyID, id)
		if err != nil {
			return err
		}
		switch {
		case row.Status == holds.Booked:
			return holds.ErrAlreadyBooked
		case row.Status == holds.Released:
			out = row.Hold
			return complete(ctx, tx, done, out)
		case row.payment == store.PaymentPending:
			return bookings.ErrPaymentInProgress
		case row.status(now) == holds.Expired:
			return holds.ErrExpired
		}
		if err := holdEvents(ctx, tx, "released", id, "", now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, freeHoldSeats, id); err != nil {
			return fmt.Errorf("free seats: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE holds SET status = 'released', ended_at = ?1 WHERE id = ?2`, now, id); err != nil {
			return fmt.Errorf("update hold: %w", err)
		}
		out = row.Hold
		out.Status = holds.Released
		return complete(ctx, tx, done, out)
	})
	if err != nil {
		return holds.Hold{}, fmt.Errorf("release hold: %w", err)
	}
	return out, nil
}

// --- Payments ---

const paymentColumns = `hold_id, api_key_id, booking_id, attempt, amount, currency, token, state,
	coalesce(charge_id, ''), coalesce(refund_id, '')`

func scanPayment(r scanner) (store.Payment, error) {
	var p store.Payment
	err := r.Scan(&p.HoldID, &p.KeyID, &p.BookingID, &p.Attempt, &p.Amount.Amount, &p.Amount.Currency, &p.Token, &p.State,
		&p.ChargeID, &p.RefundID)
	return p, err
}

const selectPayment = `SELECT ` + paymentColumns + ` FROM payments WHERE hold_id = ?1`

const insertPayment = `
	INSERT INTO payments (hold_id, flight_id, api_key_id, booking_id, attempt, amount, currency, token, state, lease_until, created_at, updated_at)
	VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, 'pending', ?8, ?9, ?9)`

const retryPayment = `
	UPDATE payments SET attempt = attempt + 1, token = ?1, state = 'pending', lease_until = ?2, updated_at = ?3
	WHERE hold_id = ?4 AND state = 'declined'`

const takeOverPayment = `
	UPDATE payments SET lease_until = ?1, updated_at = ?2
	WHERE hold_id = ?3 AND token = ?4 AND state = 'pending' AND lease_until <= ?2`

// ReleasePayment implements store.Reservations.
func (s *Store) ReleasePayment(ctx context.Context, p store.Payment) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		now, _, _, err := readClock(ctx, tx, 0, 0)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE payments SET lease_until = ?1, updated_at = ?1
			WHERE hold_id = ?2 AND attempt = ?3 AND state = 'pending'`, now, p.HoldID, p.Attempt)
		return err
	})
	if err != nil {
		return fmt.Errorf("release payment: %w", err)
	}
	return nil
}

// pinSeats keeps a hold's seats for its payment, past expires_at if need be.
const pinSeats = `UPDATE seats SET held_until = max(held_until, ?1) WHERE hold_id = ?2 AND booking_id IS NULL`

// BeginBooking implements store.Reservations.
func (s *Store) BeginBooking(ctx context.Context, b store.BeginBooking) (store.Payment, error) {
	var out store.Payment
	err := s.write(ctx, func(tx *sql.Tx) error {
		now, leaseUntil, pinUntil, err := readClock(ctx, tx, b.Lease, b.Pin)
		if err != nil {
			return err
		}
		row, err := loadHold(ctx, tx, b.KeyID, b.HoldID)
		if err != nil {
			return err
		}
		if row.payment == store.PaymentPending {
			// A stalled payment (its lease ran out) is taken over by a retry
			// with the same card; the charge keeps its idempotency key.
			res, err := tx.ExecContext(ctx, takeOverPayment, leaseUntil, now, b.HoldID, b.Token)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return bookings.ErrPaymentInProgress
			}
			out, err = scanPayment(tx.QueryRowContext(ctx, selectPayment, b.HoldID))
			return err
		}
		switch {
		case row.Status == holds.Booked, row.Status == holds.Released:
			return holds.ErrNotActive
		case row.payment != "" && row.payment != store.PaymentDeclined:
			return holds.ErrNotActive
		case row.status(now) == holds.Expired:
			return holds.ErrExpired
		}
		if row.payment == store.PaymentDeclined {
			_, err = tx.ExecContext(ctx, retryPayment, b.Token, leaseUntil, now, b.HoldID)
		} else {
			_, err = tx.ExecContext(ctx, insertPayment, b.HoldID, row.FlightID, row.KeyID, b.BookingID,
				row.Total.Amount, row.Total.Currency, b.Token, leaseUntil, now)
		}
		if err != nil {
			return fmt.Errorf("record payment: %w", translate(err))
		}
		if _, err := tx.ExecContext(ctx, pinSeats, pinUntil, b.HoldID); err != nil {
			return fmt.Errorf("pin seats: %w", err)
		}
		out, err = scanPayment(tx.QueryRowContext(ctx, selectPayment, b.HoldID))
		return err
	})
	if err != nil {
		return store.Payment{}, fmt.Errorf("begin booking: %w", err)
	}
	return out, nil
}

const countLiveSeats = `SELECT count(*) FROM seats WHERE hold_id = ?1 AND booking_id IS NULL AND held_until > ?2`

const insertBooking = `
	INSERT INTO bookings (id, hold_id, api_key_id, flight_id, seats, total_amount, currency, status, created_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, 'confirmed', ?)`

const insertBookingSeats = `
	INSERT INTO booking_seats (booking_id, flight_id, seat, live)
	SELECT ?1, flight_id, label, 1 FROM seats WHERE hold_id = ?2 AND booking_id IS NULL`

const bookSeats = `
	UPDATE seats SET booking_id = ?1, hold_id = NULL, held_until = NULL
	WHERE hold_id = ?2 AND booking_id IS NULL AND held_until > ?3`

// CompleteBooking implements store.Reservations.
func (s *Store) CompleteBooking(ctx context.Context, p store.Payment, chargeID string, done *store.Completion) (bookings.Booking, error) {
	var (
		out  bookings.Booking
		lost bool // the charge is taken but the seats are gone: committed as refunding
	)
	err := s.write(ctx, func(tx *sql.Tx) error {
		now, _, _, err := readClock(ctx, tx, 0, 0)
		if err != nil {
			return err
		}
		pay, err := scanPayment(tx.QueryRowContext(ctx, selectPayment, p.HoldID))
		if errors.Is(err, sql.ErrNoRows) {
			return holds.ErrNotActive
		}
		if err != nil {
			return fmt.Errorf("read payment: %w", err)
		}
		if pay.State == store.PaymentCompleted {
			if out, err = loadBooking(ctx, tx, pay.KeyID, pay.BookingID); err != nil {
				return err
			}
			return complete(ctx, tx, done, out)
		}
		if pay.State != store.PaymentPending || pay.Attempt != p.Attempt {
			return holds.ErrNotActive
		}
		row, err := loadHold(ctx, tx, pay.KeyID, pay.HoldID)
		if err != nil {
			return err
		}
		if row.Status != holds.Active {
			return holds.ErrNotActive
		}
		var live int
		if err := tx.QueryRowContext(ctx, countLiveSeats, pay.HoldID, now).Scan(&live); err != nil {
			return fmt.Errorf("count seats: %w", err)
		}
		if live < len(row.Seats) {
			lost = true
			_, err := tx.ExecContext(ctx, `UPDATE payments SET state = 'refunding', charge_id = ?1, lease_until = ?2, updated_at = ?2
				WHERE hold_id = ?3`, chargeID, now, pay.HoldID)
			return err
		}
		if _, err := tx.ExecContext(ctx, insertBooking, pay.BookingID, row.ID, row.KeyID, row.FlightID,
			strings.Join(row.Seats, ","), row.Total.Amount, row.Total.Currency, now); err != nil {
			return fmt.Errorf("insert booking: %w", translate(err))
		}
		if _, err := tx.ExecContext(ctx, insertBookingSeats, pay.BookingID, pay.HoldID); err != nil {
			return fmt.Errorf("insert booking seats: %w", translate(err))
		}
		if err := holdEvents(ctx, tx, "booked", pay.HoldID, pay.BookingID, now); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, bookSeats, pay.BookingID, pay.HoldID, now)
		if err != nil {
			return fmt.Errorf("book seats: %w", translate(err))
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(len(row.Seats)) {
			return fmt.Errorf("book seats: %d of %d booked (%v)", n, len(row.Seats), err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE holds SET status = 'booked', booking_id = ?1, ended_at = ?2 WHERE id = ?3`,
			pay.BookingID, now, pay.HoldID); err != nil {
			return fmt.Errorf("update hold: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE payments SET state = 'completed', charge_id = ?1, updated_at = ?2 WHERE hold_id = ?3`,
			chargeID, now, pay.HoldID); err != nil {
			return fmt.Errorf("update payment: %w", err)
		}
		out = bookings.Booking{
			ID: pay.BookingID, HoldID: row.ID, KeyID: row.KeyID, FlightID: row.FlightID, Seats: row.Seats,
			Total: row.Total, Status: bookings.Confirmed,
		}
		if out.CreatedAt, err = parseTime(now); err != nil {
			return err
		}
		return complete(ctx, tx, done, out)
	})
	if err == nil && lost {
		err = holds.ErrExpired
	}
	if err != nil {
		return bookings.Booking{}, fmt.Errorf("complete booking: %w", err)
	}
	return out, nil
}

// DeclinePayment implements store.Reservations. A payment no longer pending
// with this attempt (declined already, or driven to an end by another
// request) is left as it is.
func (s *Store) DeclinePayment(ctx context.Context, p store.Payment) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE payments SET state = 'declined', updated_at = `+nowSQL+`
			WHERE hold_id = ?1 AND state = 'pending' AND attempt = ?2`, p.HoldID, p.Attempt)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		// The pin is over: the seats are the hold's until expires_at again.
		_, err = tx.ExecContext(ctx, `UPDATE seats SET held_until = (SELECT expires_at FROM holds WHERE id = ?1)
			WHERE hold_id = ?1 AND booking_id IS NULL`, p.HoldID)
		return err
	})
	if err != nil {
		return fmt.Errorf("decline payment: %w", err)
	}
	return nil
}

const selectLeasable = `
	SELECT ` + paymentColumns + ` FROM payments
	WHERE state = ?1 AND lease_until <= ?2
	ORDER BY lease_until, hold_id
	LIMIT ?3`

// claimPayments leases up to limit payments in state whose lease has run out.
func (s *Store) claimPayments(ctx context.Context, state store.PaymentState, lease time.Duration, limit int) ([]store.Payment, error) {
	var out []store.Payment
	err := s.write(ctx, func(tx *sql.Tx) error {
		now, leaseUntil, _, err := readClock(ctx, tx, lease, 0)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, selectLeasable, string(state), now, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanPayment(rows)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		for _, p := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE payments SET lease_until = ?1, updated_at = ?2 WHERE hold_id = ?3`,
				leaseUntil, now, p.HoldID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ClaimStalePayments implements store.Reservations.
func (s *Store) ClaimStalePayments(ctx context.Context, lease time.Duration, limit int) ([]store.Payment, error) {
	out, err := s.claimPayments(ctx, store.PaymentPending, lease, limit)
	if err != nil {
		return nil, fmt.Errorf("claim stale payments: %w", err)
	}
	return out, nil
}

// ClaimRefunds implements store.Reservations.
func (s *Store) ClaimRefunds(ctx context.Context, lease time.Duration, limit int) ([]store.Payment, error) {
	out, err := s.claimPayments(ctx, store.PaymentRefunding, lease, limit)
	if err != nil {
		return nil, fmt.Errorf("claim refunds: %w", err)
	}
	return out, nil
}

// MarkRefunded implements store.Reservations. A payment that is not
// refunding (refunded already) is left as it is.
func (s *Store) MarkRefunded(ctx context.Context, holdID, refundID string) error {
	if _, err := s.writer.ExecContext(ctx, `UPDATE payments SET state = 'refunded', refund_id = ?1, updated_at = `+nowSQL+`
		WHERE hold_id = ?2 AND state = 'refunding'`, refundID, holdID); err != nil {
		return fmt.Errorf("mark refunded: %w", err)
	}
	return nil
}

// Payment implements store.Reservations.
func (s *Store) Payment(ctx context.Context, holdID string) (store.Payment, error) {
	p, err := scanPayment(s.reader.QueryRowContext(ctx, selectPayment, holdID))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Payment{}, bookings.ErrNotFound
	}
	if err != nil {
		return store.Payment{}, fmt.Errorf("payment of %s: %w", holdID, err)
	}
	return p, nil
}

// --- Bookings ---

const bookingColumns = `b.id, b.hold_id, b.api_key_id, b.flight_id, b.seats, b.total_amount, b.currency, b.status,
	b.created_at, coalesce(b.canceled_at, '')`

func scanBooking(r scanner) (bookings.Booking, error) {
	var (
		b                            bookings.Booking
		seats, createdAt, canceledAt string
	)
	if err := r.Scan(&b.ID, &b.HoldID, &b.KeyID, &b.FlightID, &seats, &b.Total.Amount, &b.Total.Currency, &b.Status,
		&createdAt, &canceledAt); err != nil {
		return bookings.Booking{}, err
	}
	b.Seats = strings.Split(seats, ",")
	var err error
	if b.CreatedAt, err = parseTime(createdAt); err != nil {
		return bookings.Booking{}, err
	}
	if canceledAt != "" {
		if b.CanceledAt, err = parseTime(canceledAt); err != nil {
			return bookings.Booking{}, err
		}
	}
	return b, nil
}

func scanBookings(rows *sql.Rows) ([]bookings.Booking, error) {
	defer rows.Close()
	var out []bookings.Booking
	for rows.Next() {
		b, err := scanBooking(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

const selectBooking = `SELECT ` + bookingColumns + ` FROM bookings b WHERE b.id = ?1 AND b.api_key_id = ?2`

// loadBooking reads a booking of keyID in tx, or bookings.ErrNotFound.
func loadBooking(ctx context.Context, tx *sql.Tx, keyID int64, id string) (bookings.Booking, error) {
	b, err := scanBooking(tx.QueryRowContext(ctx, selectBooking, id, keyID))
	if errors.Is(err, sql.ErrNoRows) {
		return bookings.Booking{}, bookings.ErrNotFound
	}
	return b, err
}

// Booking implements store.Reservations.
func (s *Store) Booking(ctx context.Context, keyID int64, id string) (bookings.Booking, error) {
	b, err := scanBooking(s.reader.QueryRowContext(ctx, selectBooking, id, keyID))
	if errors.Is(err, sql.ErrNoRows) {
		return bookings.Booking{}, bookings.ErrNotFound
	}
	if err != nil {
		return bookings.Booking{}, fmt.Errorf("booking %s: %w", id, err)
	}
	return b, nil
}

// ListBookings implements store.Reservations.
func (s *Store) ListBookings(ctx context.Context, keyID int64, after *store.BookingCursor, limit int) ([]bookings.Booking, error) {
	var afterAt, afterID any
	if after != nil {
		afterAt, afterID = after.CreatedAt.UTC().Format(timeFormat), after.ID
	}
	rows, err := s.reader.QueryContext(ctx, `
		SELECT `+bookingColumns+` FROM bookings b
		WHERE b.api_key_id = ?1 AND (?2 IS NULL OR (b.created_at, b.id) < (?2, ?3))
		ORDER BY b.created_at DESC, b.id DESC
		LIMIT ?4`, keyID, afterAt, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("list bookings: %w", err)
	}
	out, err := scanBookings(rows)
	if err != nil {
		return nil, fmt.Errorf("list bookings: %w", err)
	}
	return out, nil
}

const insertCanceledEvents = `
	INSERT INTO seat_events (flight_id, seat, event, hold_id, booking_id, at)
	SELECT flight_id, label, 'canceled', ?1, ?2, ?3 FROM seats
	WHERE booking_id = ?2
	ORDER BY row_no, letter`

// refundLease is zero: the canceling request refunds at once, and if
// recovery races it, the refund's idempotency key makes the two one refund.
const refundLease = time.Duration(0)

// CancelBooking implements store.Reservations.
func (s *Store) CancelBooking(ctx context.Context, keyID int64, id string, done *store.Completion) (bookings.Booking, error) {
	var out bookings.Booking
	err := s.write(ctx, func(tx *sql.Tx) error {
		now, leaseUntil, _, err := readClock(ctx, tx, refundLease, 0)
		if err != nil {
			return err
		}
		b, err := loadBooking(ctx, tx, keyID, id)
		if err != nil {
			return err
		}
		if b.Status == bookings.Canceled {
			out = b
			return complete(ctx, tx, done, out)
		}
		for _, st := range []struct {
			what, sql string
			args      []any
		}{
			{"update booking", `UPDATE bookings SET status = 'canceled', canceled_at = ?1 WHERE id = ?2`, []any{now, id}},
			{"update booking seats", `UPDATE booking_seats SET live = 0 WHERE booking_id = ?1`, []any{id}},
			{"record canceled events", insertCanceledEvents, []any{b.HoldID, id, now}},
			{"free seats", `UPDATE seats SET booking_id = NULL, hold_id = NULL, held_until = NULL WHERE booking_id = ?1`, []any{id}},
			{"update payment", `UPDATE payments SET state = 'refunding', lease_until = ?1, updated_at = ?2
				WHERE hold_id = ?3 AND state = 'completed'`, []any{leaseUntil, now, b.HoldID}},
		} {
			if _, err := tx.ExecContext(ctx, st.sql, st.args...); err != nil {
				return fmt.Errorf("%s: %w", st.what, err)
			}
		}
		out = b
		out.Status = bookings.Canceled
		if out.CanceledAt, err = parseTime(now); err != nil {
			return err
		}
		return complete(ctx, tx, done, out)
	})
	if err != nil {
		return bookings.Booking{}, fmt.Errorf("cancel booking: %w", err)
	}
	return out, nil
}

// FlightBookings implements store.Reservations.
func (s *Store) FlightBookings(ctx context.Context, flightID int64) ([]bookings.Booking, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT `+bookingColumns+` FROM bookings b
		WHERE b.flight_id = ?1 ORDER BY b.created_at, b.id`, flightID)
	if err != nil {
		return nil, fmt.Errorf("bookings of flight %d: %w", flightID, err)
	}
	out, err := scanBookings(rows)
	if err != nil {
		return nil, fmt.Errorf("bookings of flight %d: %w", flightID, err)
	}
	return out, nil
}

// --- Expiry ---

// unpinnedActive are the active holds without a pending payment: past
// expires_at, they are the expired holds the sweeper has yet to tidy.
const unpinnedActive = `h.status = 'active'
	AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.hold_id = h.id AND p.state = 'pending')`

const selectUnswept = `
	SELECT ` + holdColumns + `
	FROM holds h LEFT JOIN payments p ON p.hold_id = h.id
	WHERE h.expires_at <= ?1 AND ` + unpinnedActive + `
	ORDER BY h.expires_at, h.id
	LIMIT ?2`

// ExpireHolds implements store.Reservations.
func (s *Store) ExpireHolds(ctx context.Context, limit int) ([]holds.Hold, error) {
	var out []holds.Hold
	err := s.write(ctx, func(tx *sql.Tx) error {
		now, _, _, err := readClock(ctx, tx, 0, 0)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, selectUnswept, now, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			row, err := scanHold(rows)
			if err != nil {
				return err
			}
			row.Status = holds.Expired
			out = append(out, row.Hold)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		for _, h := range out {
			if err := holdEvents(ctx, tx, "expired", h.ID, "", now); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, freeHoldSeats, h.ID); err != nil {
				return fmt.Errorf("free seats: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE holds SET status = 'expired', ended_at = ?1 WHERE id = ?2`, now, h.ID); err != nil {
				return fmt.Errorf("update hold: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("expire holds: %w", err)
	}
	return out, nil
}

// CountActiveHolds implements store.Reservations.
func (s *Store) CountActiveHolds(ctx context.Context) (int, error) {
	var n int
	if err := s.reader.QueryRowContext(ctx, `SELECT count(*) FROM holds WHERE status = 'active' AND expires_at > `+nowSQL).Scan(&n); err != nil {
		return 0, fmt.Errorf("count active holds: %w", err)
	}
	return n, nil
}

// ExpiryLag implements store.Reservations.
func (s *Store) ExpiryLag(ctx context.Context) (time.Duration, error) {
	var (
		now    string
		oldest sql.NullString
	)
	err := s.reader.QueryRowContext(ctx, `
		SELECT `+nowSQL+`, min(h.expires_at) FROM holds h
		WHERE h.expires_at <= `+nowSQL+` AND `+unpinnedActive).Scan(&now, &oldest)
	if err != nil {
		return 0, fmt.Errorf("expiry lag: %w", err)
	}
	if !oldest.Valid {
		return 0, nil
	}
	t0, err := parseTime(oldest.String)
	if err != nil {
		return 0, fmt.Errorf("expiry lag: %w", err)
	}
	t1, err := parseTime(now)
	if err != nil {
		return 0, fmt.Errorf("expiry lag: %w", err)
	}
	return max(t1.Sub(t0), 0), nil
}

// --- Seat history ---

// SeatEvents implements store.Reservations.
func (s *Store) SeatEvents(ctx context.Context, flightID int64) ([]store.SeatEvent, error) {
	rows, err := s.reader.QueryContext(ctx, `
		SELECT flight_id, seat, event, coalesce(hold_id, ''), coalesce(booking_id, ''), at
		FROM seat_events WHERE flight_id = ?1 ORDER BY id`, flightID)
	if err != nil {
		return nil, fmt.Errorf("seat events of %d: %w", flightID, err)
	}
	defer rows.Close()
	var out []store.SeatEvent
	for rows.Next() {
		var (
			e  store.SeatEvent
			at string
		)
		if err := rows.Scan(&e.FlightID, &e.Seat, &e.Event, &e.HoldID, &e.BookingID, &at); err != nil {
			return nil, fmt.Errorf("seat events of %d: %w", flightID, err)
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("seat events of %d: %w", flightID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("seat events of %d: %w", flightID, err)
	}
	return out, nil
}
