package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/idempotency"
	"github.com/reservd/reservd/internal/store"
)

// The liveness rule, stated once for this engine (internal/holds explains
// it): a hold is live while it is active and expires_at > the database's
// now(); a seat is free unless held by a live hold or booked. A seat's
// held_until is its hold's expires_at, pushed later while a payment pins it,
// so the seat side reads held_until. now is the SQL expression of the clock
// the statement judges by: nowSQL, or the parameter into which a write
// transaction read the clock once (readClock), so that all its statements
// agree. s is the seats table's qualifier ("s." or ""). Every query that
// grants, reads back, derives a status, fences a booking, sweeps or counts
// builds its predicate here; the lapsed forms are the exact complements,
// spelled out so SQLite plans the same SQL as before. holds.Live is the Go
// copy that derives a loaded hold's status.

// holdLive is an active hold (alias h) before its expiry.
func holdLive(now string) string { return `(h.status = 'active' AND h.expires_at > ` + now + `)` }

// holdLapsed is an active hold (alias h) at or past its expiry.
func holdLapsed(now string) string { return `(h.status = 'active' AND h.expires_at <= ` + now + `)` }

// seatHeld is a seat a live hold keeps.
func seatHeld(s, now string) string {
	return `(` + s + `hold_id IS NOT NULL AND ` + s + `held_until > ` + now + `)`
}

// seatLapsed is a seat still pointing at a hold that no longer keeps it.
func seatLapsed(s, now string) string {
	return `(` + s + `hold_id IS NOT NULL AND ` + s + `held_until <= ` + now + `)`
}

// freeSeat is a seat anyone may take: neither booked nor held.
func freeSeat(s, now string) string {
	return `(` + s + `booking_id IS NULL AND (` + s + `hold_id IS NULL OR ` + s + `held_until <= ` + now + `))`
}

// flightDeparted is a flight whose departure the clock now has reached:
// nothing on it may be held, booked or canceled any more. f is the flights
// table's qualifier ("f." or ""). Every write transaction that grants
// seats, converts a hold or cancels a booking checks it through flightOpen,
// with the clock it read once.
func flightDeparted(f, now string) string { return `(` + f + `departs_at <= ` + now + `)` }

// selectFlightOpen reads a flight's currency and whether it has departed at ?2.
var selectFlightOpen = `SELECT f.currency, ` + flightDeparted("f.", "?2") + ` FROM flights f WHERE f.id = ?1`

// flightOpen returns the currency of a flight that has not departed at now
// (the clock tx read): flights.ErrNotFound or flights.ErrDeparted otherwise.
func flightOpen(ctx context.Context, tx *sql.Tx, flightID int64, now string) (string, error) {
	var (
		currency string
		departed bool
	)
	err := tx.QueryRowContext(ctx, selectFlightOpen, flightID, now).Scan(&currency, &departed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", flights.ErrNotFound
	case err != nil:
		return "", err
	case departed:
		return "", flights.ErrDeparted
	}
	return currency, nil
}

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
	if r.Status == holds.Active && !holds.Live(r.Status, r.expiresAt, now) && r.payment != store.PaymentPending {
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

// liveHeld counts a customer's (?1) live holds at ?3 and their seats on
// flight ?2, for its caps (holds.Limits).
var liveHeld = `
	SELECT count(*), coalesce(sum(CASE WHEN h.flight_id = ?2
		THEN length(h.seats) - length(replace(h.seats, ',', '')) + 1 END), 0)
	FROM holds h WHERE h.api_key_id = ?1 AND ` + holdLive("?3")

const insertHold = `
	INSERT INTO holds (id, api_key_id, flight_id, seats, status, total_amount, currency, created_at, expires_at, max_expires_at)
	VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?, ?)`

// HoldCreate implements store.Holds.
func (s *Store) HoldCreate(ctx context.Context, h store.HoldCreateParams, done *idempotency.Completion[holds.Hold]) (holds.Hold, error) {
	var out holds.Hold
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if out, err = grantHold(ctx, tx, h, done); err != nil {
			return err
		}
		return writeEvents(ctx, tx, out.CreatedAt.Format(timeFormat), events.OfHold(events.HoldCreated, out))
	})
	if err != nil {
		return holds.Hold{}, fmt.Errorf("create hold: %w", err)
	}
	return out, nil
}

// HoldGet implements store.Holds.
func (s *Store) HoldGet(ctx context.Context, keyID int64, id string) (holds.Hold, error) {
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

// HoldExtend implements store.Holds.
func (s *Store) HoldExtend(ctx context.Context, p store.HoldExtendParams) (holds.Hold, error) {
	keyID, id, ttl, done := p.KeyID, p.ID, p.TTL, p.Done
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
		if err := writeEvents(ctx, tx, now, events.OfHold(events.HoldExtended, out)); err != nil {
			return err
		}
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
		if err := writeEvents(ctx, tx, now, events.OfHold(events.HoldReleased, out)); err != nil {
			return err
		}
		return complete(ctx, tx, done, out)
	})
	if err != nil {
		return holds.Hold{}, fmt.Errorf("release hold: %w", err)
	}
	return out, nil
}

// --- Expiry ---

// unpinned are the holds without a pending payment: lapsed, they are the
// expired holds the sweeper has yet to tidy.
const unpinned = `NOT EXISTS (SELECT 1 FROM payments p WHERE p.hold_id = h.id AND p.state = 'pending')`

// #nosec G202 -- joins constant SQL fragments (holds.go's seatHeld, freeSeat, … of constant arguments); every value is a ? parameter
var selectUnswept = `
	SELECT ` + holdColumns + `
	FROM holds h LEFT JOIN payments p ON p.hold_id = h.id
	WHERE ` + holdLapsed("?1") + ` AND ` + unpinned + `
	ORDER BY h.expires_at, h.id
	LIMIT ?2`

// HoldExpire implements store.Holds.
func (s *Store) HoldExpire(ctx context.Context, limit int) ([]holds.Hold, error) {
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
		rows.Close() // #nosec G104 -- read to the end and rows.Err checked; closing early frees the transaction's one connection for the next statement
		evs := make([]events.Event, len(out))
		for i, h := range out {
			evs[i] = events.OfHold(events.HoldExpired, h)
		}
		if err := writeEvents(ctx, tx, now, evs...); err != nil {
			return err
		}
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

// HoldCountActive implements store.Holds.
func (s *Store) HoldCountActive(ctx context.Context) (int, error) {
	var n int
	if err := s.reader.QueryRowContext(ctx, `SELECT count(*) FROM holds h WHERE `+holdLive(nowSQL)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count active holds: %w", err)
	}
	return n, nil
}

// HoldExpiryLag implements store.Holds.
func (s *Store) HoldExpiryLag(ctx context.Context) (time.Duration, error) {
	var (
		now    string
		oldest sql.NullString
	)
	err := s.reader.QueryRowContext(ctx, `
		SELECT `+nowSQL+`, min(h.expires_at) FROM holds h
		WHERE `+holdLapsed(nowSQL)+` AND `+unpinned).Scan(&now, &oldest)
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
