package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/waitroom"
)

// SalePut implements store.Store.
func (s *Store) SalePut(ctx context.Context, sale waitroom.Sale) error {
	opens, ttl := sale.OpensAt.UTC().Format(timeFormat), sale.AdmissionTTL.Milliseconds()
	return s.write(ctx, func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM flights WHERE id = ?)`, sale.FlightID).Scan(&exists); err != nil {
			return fmt.Errorf("put sale: %w", err)
		}
		if exists == 0 {
			return flights.ErrNotFound
		}
		// A changed sale starts a new queue: its slots were computed from
		// the old settings. Putting the same settings again changes nothing.
		res, err := tx.ExecContext(ctx, `
			UPDATE flight_sales SET opens_at = ?2, admit_per_second = ?3, admission_ttl_ms = ?4, next_slot_ns = NULL
			WHERE flight_id = ?1 AND (opens_at, admit_per_second, admission_ttl_ms) IS NOT (?2, ?3, ?4)`,
			sale.FlightID, opens, sale.AdmitPerSecond, ttl)
		if err != nil {
			return fmt.Errorf("put sale: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM queue_tickets WHERE flight_id = ?`, sale.FlightID); err != nil {
				return fmt.Errorf("put sale: empty queue: %w", err)
			}
			return nil
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO flight_sales (flight_id, opens_at, admit_per_second, admission_ttl_ms)
			VALUES (?, ?, ?, ?) ON CONFLICT (flight_id) DO NOTHING`,
			sale.FlightID, opens, sale.AdmitPerSecond, ttl)
		if err != nil {
			return fmt.Errorf("put sale: %w", err)
		}
		return nil
	})
}

const saleColumns = `flight_id, opens_at, admit_per_second, admission_ttl_ms`

func scanSale(r scanner, extra ...any) (waitroom.Sale, error) {
	var sale waitroom.Sale
	var opens string
	var ttl int64
	if err := r.Scan(append([]any{&sale.FlightID, &opens, &sale.AdmitPerSecond, &ttl}, extra...)...); err != nil {
		return waitroom.Sale{}, err
	}
	sale.AdmissionTTL = time.Duration(ttl) * time.Millisecond
	var err error
	sale.OpensAt, err = parseTime(opens)
	return sale, err
}

// SaleGet implements store.Store.
func (s *Store) SaleGet(ctx context.Context, flightID int64) (waitroom.Sale, error) {
	sale, err := scanSale(s.reader.QueryRowContext(ctx, `SELECT `+saleColumns+` FROM flight_sales WHERE flight_id = ?`, flightID))
	if errors.Is(err, sql.ErrNoRows) {
		return waitroom.Sale{}, waitroom.ErrNoSale
	}
	if err != nil {
		return waitroom.Sale{}, fmt.Errorf("get sale: %w", err)
	}
	return sale, nil
}

// SaleDelete implements store.Store.
func (s *Store) SaleDelete(ctx context.Context, flightID int64) error {
	res, err := s.writer.ExecContext(ctx, `DELETE FROM flight_sales WHERE flight_id = ?`, flightID)
	if err != nil {
		return fmt.Errorf("delete sale: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return waitroom.ErrNoSale
	}
	return nil
}

// QueueJoin implements store.Store.
func (s *Store) QueueJoin(ctx context.Context, p store.QueueJoinParams) (store.QueueView, error) {
	var v store.QueueView
	err := s.write(ctx, func(tx *sql.Tx) error {
		// The writer's IMMEDIATE transaction orders joins, and the clock is
		// read inside it, so a join cannot be stamped earlier than the one
		// before it.
		var next sql.NullInt64
		var now string
		sale, err := scanSale(tx.QueryRowContext(ctx, `SELECT `+saleColumns+`, next_slot_ns, `+nowSQL+`
			FROM flight_sales WHERE flight_id = ?`, p.FlightID), &next, &now)
		if errors.Is(err, sql.ErrNoRows) {
			return waitroom.ErrNoSale
		}
		if err != nil {
			return fmt.Errorf("join queue: %w", err)
		}
		v.Sale = sale
		if v.Now, err = parseTime(now); err != nil {
			return err
		}
		t, err := ticketOf(ctx, tx, `WHERE t.flight_id = ?1 AND t.api_key_id = ?2`, p.FlightID, p.KeyID)
		if err == nil {
			v.Ticket = t
			return nil
		}
		if !errors.Is(err, waitroom.ErrTicketNotFound) {
			return err
		}
		t = waitroom.Ticket{ID: p.TicketID, FlightID: p.FlightID, KeyID: p.KeyID, JoinedAt: v.Now, Early: v.Now.Before(sale.OpensAt)}
		var slot sql.NullInt64
		if !t.Early {
			var nextAt time.Time
			var early int64
			if next.Valid {
				nextAt = time.Unix(0, next.Int64).UTC()
			} else if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM queue_tickets WHERE flight_id = ? AND slot_ns IS NULL`, p.FlightID).Scan(&early); err != nil {
				return fmt.Errorf("join queue: count early: %w", err)
			}
			var newNext time.Time
			t.Slot, newNext = waitroom.NextSlot(sale, nextAt, early, v.Now)
			slot = sql.NullInt64{Int64: t.Slot.UnixNano(), Valid: true}
			if _, err := tx.ExecContext(ctx, `UPDATE flight_sales SET next_slot_ns = ? WHERE flight_id = ?`, newNext.UnixNano(), p.FlightID); err != nil {
				return fmt.Errorf("join queue: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO queue_tickets (id, flight_id, api_key_id, joined_at, rank, slot_ns)
			VALUES (?, ?, ?, ?, ?, ?)`, t.ID, t.FlightID, t.KeyID, now, p.Rank, slot); err != nil {
			return fmt.Errorf("join queue: %w", translate(err))
		}
		v.Ticket, v.Created = t, true
		return nil
	})
	return v, err
}

// querier is a transaction or a pool.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ticketOf reads one ticket (where, on queue_tickets t, with its args) and
// its index among the early tickets.
func ticketOf(ctx context.Context, q querier, where string, args ...any) (waitroom.Ticket, error) {
	var t waitroom.Ticket
	var rank int64
	var joined string
	var slot sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT t.id, t.flight_id, t.api_key_id, t.joined_at, t.rank, t.slot_ns FROM queue_tickets t `+where, args...).
		Scan(&t.ID, &t.FlightID, &t.KeyID, &joined, &rank, &slot)
	if errors.Is(err, sql.ErrNoRows) {
		return waitroom.Ticket{}, waitroom.ErrTicketNotFound
	}
	if err != nil {
		return waitroom.Ticket{}, fmt.Errorf("get ticket: %w", err)
	}
	if t.JoinedAt, err = parseTime(joined); err != nil {
		return waitroom.Ticket{}, err
	}
	if slot.Valid {
		t.Slot = time.Unix(0, slot.Int64).UTC()
		return t, nil
	}
	t.Early = true
	err = q.QueryRowContext(ctx, `SELECT count(*) FROM queue_tickets
		WHERE flight_id = ?1 AND slot_ns IS NULL AND (rank < ?2 OR (rank = ?2 AND id < ?3))`, t.FlightID, rank, t.ID).Scan(&t.EarlyIndex)
	if err != nil {
		return waitroom.Ticket{}, fmt.Errorf("get ticket: early index: %w", err)
	}
	return t, nil
}

// QueueTicketGet implements store.Store.
func (s *Store) QueueTicketGet(ctx context.Context, p store.QueueTicketGetParams) (store.QueueView, error) {
	var v store.QueueView
	// One read transaction: the sale, the ticket and its index from one snapshot.
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return v, fmt.Errorf("get ticket: %w", err)
	}
	defer tx.Rollback()
	var now string
	sale, err := scanSale(tx.QueryRowContext(ctx, `SELECT `+saleColumns+`, `+nowSQL+` FROM flight_sales WHERE flight_id = ?`, p.FlightID), &now)
	if errors.Is(err, sql.ErrNoRows) {
		return v, waitroom.ErrTicketNotFound
	}
	if err != nil {
		return v, fmt.Errorf("get ticket: %w", err)
	}
	v.Sale = sale
	if v.Now, err = parseTime(now); err != nil {
		return v, err
	}
	v.Ticket, err = ticketOf(ctx, tx, `WHERE t.id = ?1 AND t.flight_id = ?2 AND t.api_key_id = ?3`, p.TicketID, p.FlightID, p.KeyID)
	return v, err
}

// SaleSecret implements store.Store.
func (s *Store) SaleSecret(ctx context.Context, candidate []byte) ([]byte, error) {
	var secret []byte
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO service_secrets (name, value) VALUES ('queue_token', ?)
			ON CONFLICT (name) DO NOTHING`, candidate); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM service_secrets WHERE name = 'queue_token'`).Scan(&secret)
	})
	if err != nil {
		return nil, fmt.Errorf("queue token secret: %w", err)
	}
	return secret, nil
}
