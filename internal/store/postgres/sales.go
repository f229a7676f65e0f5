package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/waitroom"
)

// SalePut implements store.Store.
func (s *Store) SalePut(ctx context.Context, sale waitroom.Sale) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM flights WHERE id = $1)`, sale.FlightID).Scan(&exists); err != nil {
			return fmt.Errorf("put sale: %w", err)
		}
		if !exists {
			return flights.ErrNotFound
		}
		// A changed sale starts a new queue: its slots were computed from
		// the old settings. Putting the same settings again changes nothing.
		tag, err := tx.Exec(ctx, `
			UPDATE flight_sales SET opens_at = $2, admit_per_second = $3, admission_ttl_ms = $4, next_slot_ns = NULL
			WHERE flight_id = $1 AND (opens_at, admit_per_second, admission_ttl_ms) IS DISTINCT FROM ($2, $3, $4)`,
			sale.FlightID, sale.OpensAt, sale.AdmitPerSecond, sale.AdmissionTTL.Milliseconds())
		if err != nil {
			return fmt.Errorf("put sale: %w", err)
		}
		if tag.RowsAffected() == 1 {
			if _, err := tx.Exec(ctx, `DELETE FROM queue_tickets WHERE flight_id = $1`, sale.FlightID); err != nil {
				return fmt.Errorf("put sale: empty queue: %w", err)
			}
			return nil
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO flight_sales (flight_id, opens_at, admit_per_second, admission_ttl_ms)
			VALUES ($1, $2, $3, $4) ON CONFLICT (flight_id) DO NOTHING`,
			sale.FlightID, sale.OpensAt, sale.AdmitPerSecond, sale.AdmissionTTL.Milliseconds())
		if err != nil {
			return fmt.Errorf("put sale: %w", err)
		}
		return nil
	})
}

const saleColumns = `flight_id, opens_at, admit_per_second, admission_ttl_ms`

func scanSale(r pgx.Row, extra ...any) (waitroom.Sale, error) {
	var sale waitroom.Sale
	var ttl int64
	err := r.Scan(append([]any{&sale.FlightID, &sale.OpensAt, &sale.AdmitPerSecond, &ttl}, extra...)...)
	sale.OpensAt = sale.OpensAt.UTC()
	sale.AdmissionTTL = time.Duration(ttl) * time.Millisecond
	return sale, err
}

// SaleGet implements store.Store.
func (s *Store) SaleGet(ctx context.Context, flightID int64) (waitroom.Sale, error) {
	sale, err := scanSale(s.pool.QueryRow(ctx, `SELECT `+saleColumns+` FROM flight_sales WHERE flight_id = $1`, flightID))
	if errors.Is(err, pgx.ErrNoRows) {
		return waitroom.Sale{}, waitroom.ErrNoSale
	}
	if err != nil {
		return waitroom.Sale{}, fmt.Errorf("get sale: %w", err)
	}
	return sale, nil
}

// SaleDelete implements store.Store.
func (s *Store) SaleDelete(ctx context.Context, flightID int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM flight_sales WHERE flight_id = $1`, flightID)
	if err != nil {
		return fmt.Errorf("delete sale: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return waitroom.ErrNoSale
	}
	return nil
}

// earlyIndexSQL counts the early tickets ahead of ($2 rank, $3 id): the
// ticket's index in the shuffled order.
const earlyIndexSQL = `SELECT count(*) FROM queue_tickets WHERE flight_id = $1 AND slot_ns IS NULL AND (rank, id) < ($2, $3)`

// QueueJoin implements store.Store.
func (s *Store) QueueJoin(ctx context.Context, p store.QueueJoinParams) (store.QueueView, error) {
	var v store.QueueView
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		v = store.QueueView{}
		var next *int64
		// The row lock orders joins; the clock is read after it, so a join
		// that waited cannot be stamped earlier than the one it waited for.
		sale, err := scanSale(tx.QueryRow(ctx, `SELECT `+saleColumns+`, next_slot_ns, clock_timestamp()
			FROM flight_sales WHERE flight_id = $1 FOR UPDATE`, p.FlightID), &next, &v.Now)
		if errors.Is(err, pgx.ErrNoRows) {
			return waitroom.ErrNoSale
		}
		if err != nil {
			return fmt.Errorf("join queue: %w", err)
		}
		v.Sale, v.Now = sale, v.Now.UTC()
		t, err := ticketOf(ctx, tx, `WHERE t.flight_id = $1 AND t.api_key_id = $2`, p.FlightID, p.KeyID)
		if err == nil {
			v.Ticket = t
			return nil
		}
		if !errors.Is(err, waitroom.ErrTicketNotFound) {
			return err
		}
		t = waitroom.Ticket{ID: p.TicketID, FlightID: p.FlightID, KeyID: p.KeyID, JoinedAt: v.Now, Early: v.Now.Before(sale.OpensAt)}
		var slot *int64
		if !t.Early {
			var nextAt time.Time
			var early int64
			if next != nil {
				nextAt = time.Unix(0, *next).UTC()
			} else if err := tx.QueryRow(ctx, `SELECT count(*) FROM queue_tickets WHERE flight_id = $1 AND slot_ns IS NULL`, p.FlightID).Scan(&early); err != nil {
				return fmt.Errorf("join queue: count early: %w", err)
			}
			var newNext time.Time
			t.Slot, newNext = waitroom.NextSlot(sale, nextAt, early, v.Now)
			ns, nn := t.Slot.UnixNano(), newNext.UnixNano()
			slot = &ns
			if _, err := tx.Exec(ctx, `UPDATE flight_sales SET next_slot_ns = $2 WHERE flight_id = $1`, p.FlightID, nn); err != nil {
				return fmt.Errorf("join queue: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO queue_tickets (id, flight_id, api_key_id, joined_at, rank, slot_ns)
			VALUES ($1, $2, $3, $4, $5, $6)`, t.ID, t.FlightID, t.KeyID, t.JoinedAt, p.Rank, slot); err != nil {
			return fmt.Errorf("join queue: %w", translate(err))
		}
		v.Ticket, v.Created = t, true
		return nil
	})
	return v, err
}

// ticketOf reads one ticket (where, on queue_tickets t, with its args) and
// its index among the early tickets.
func ticketOf(ctx context.Context, q querier, where string, args ...any) (waitroom.Ticket, error) {
	var t waitroom.Ticket
	var rank int64
	var slot *int64
	err := q.QueryRow(ctx, `SELECT t.id, t.flight_id, t.api_key_id, t.joined_at, t.rank, t.slot_ns FROM queue_tickets t `+where, args...).
		Scan(&t.ID, &t.FlightID, &t.KeyID, &t.JoinedAt, &rank, &slot)
	if errors.Is(err, pgx.ErrNoRows) {
		return waitroom.Ticket{}, waitroom.ErrTicketNotFound
	}
	if err != nil {
		return waitroom.Ticket{}, fmt.Errorf("get ticket: %w", err)
	}
	t.JoinedAt = t.JoinedAt.UTC()
	if slot != nil {
		t.Slot = time.Unix(0, *slot).UTC()
		return t, nil
	}
	t.Early = true
	if err := q.QueryRow(ctx, earlyIndexSQL, t.FlightID, rank, t.ID).Scan(&t.EarlyIndex); err != nil {
		return waitroom.Ticket{}, fmt.Errorf("get ticket: early index: %w", err)
	}
	return t, nil
}

// QueueTicketGet implements store.Store.
func (s *Store) QueueTicketGet(ctx context.Context, p store.QueueTicketGetParams) (store.QueueView, error) {
	var v store.QueueView
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		sale, err := scanSale(tx.QueryRow(ctx, `SELECT `+saleColumns+`, clock_timestamp() FROM flight_sales WHERE flight_id = $1`, p.FlightID), &v.Now)
		if errors.Is(err, pgx.ErrNoRows) {
			return waitroom.ErrTicketNotFound
		}
		if err != nil {
			return fmt.Errorf("get ticket: %w", err)
		}
		v.Sale, v.Now = sale, v.Now.UTC()
		v.Ticket, err = ticketOf(ctx, tx, `WHERE t.id = $1 AND t.flight_id = $2 AND t.api_key_id = $3`, p.TicketID, p.FlightID, p.KeyID)
		return err
	})
	return v, err
}

// SaleSecret implements store.Store.
func (s *Store) SaleSecret(ctx context.Context, candidate []byte) ([]byte, error) {
	// The insert loses to a secret already there, and every caller then
	// reads the winner (in its own statement, so that it sees a racing
	// insert that committed first).
	if _, err := s.pool.Exec(ctx, `INSERT INTO service_secrets (name, value) VALUES ('queue_token', $1)
		ON CONFLICT (name) DO NOTHING`, candidate); err != nil {
		return nil, fmt.Errorf("queue token secret: %w", err)
	}
	var secret []byte
	if err := s.pool.QueryRow(ctx, `SELECT value FROM service_secrets WHERE name = 'queue_token'`).Scan(&secret); err != nil {
		return nil, fmt.Errorf("queue token secret: %w", err)
	}
	return secret, nil
}
