package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/store"
)

// streamCandidates selects the enabled endpoints, none of the skipped, that
// are unleased at ?1 and whose customer has sequenced events past their
// position; the caller appends the skip list's placeholders.
const streamCandidates = `SELECT ` + endpointColumns + `, stream_claims, stream_pos FROM webhook_endpoints x
	WHERE x.status = 'enabled' AND (x.stream_lease_until IS NULL OR x.stream_lease_until <= ?1)
		AND EXISTS (SELECT 1 FROM events ev WHERE ev.api_key_id = x.api_key_id AND ev.pos > x.stream_pos)`

// WebhookStreamClaim implements store.Webhooks, as the PostgreSQL engine's
// does. A reader looks for a stream with work first, so that an idle feed
// never takes the write lock.
func (s *Store) WebhookStreamClaim(ctx context.Context, p store.WebhookStreamClaimParams) ([]store.WebhookStream, error) {
	skip, args := "", []any{nil}
	for i, id := range p.Skip {
		skip += fmt.Sprintf(", ?%d", i+2)
		args = append(args, id)
	}
	if skip != "" {
		skip = " AND x.id NOT IN (" + strings.TrimPrefix(skip, ", ") + ")"
	}
	// #nosec G202 -- joins constant SQL fragments; every value is a parameter
	query := streamCandidates + skip + ` ORDER BY x.stream_lease_until IS NOT NULL, x.stream_lease_until, x.id LIMIT ` + fmt.Sprint(max(p.Endpoints, 0))
	args[0] = time.Now().UTC().Format(timeFormat)
	var found int
	if err := s.reader.QueryRowContext(ctx, `SELECT count(*) FROM (`+query+`)`, args...).Scan(&found); err != nil || found == 0 {
		return nil, err
	}
	var ls []store.WebhookStreamLease
	err := s.write(ctx, func(tx *sql.Tx) error {
		ls = nil
		now, until, _, err := readClock(ctx, tx, p.Lease, 0)
		if err != nil {
			return err
		}
		args[0] = now
		if ls, err = leaseCandidates(ctx, tx, query, args); err != nil {
			return err
		}
		for i := range ls {
			ls[i].Claim++
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET stream_claims = ?2, stream_lease_until = ?3 WHERE id = ?1`,
				ls[i].Endpoint.ID, ls[i].Claim, until); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim webhook streams: %w", err)
	}
	out, err := store.ReadWebhookStreams(ctx, ls, p.Events, s.EventList)
	if err != nil {
		return nil, fmt.Errorf("claim webhook streams: %w", err)
	}
	return out, nil
}

// leaseCandidates reads the endpoints query selects, in tx.
func leaseCandidates(ctx context.Context, tx *sql.Tx, query string, args []any) ([]store.WebhookStreamLease, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ls []store.WebhookStreamLease
	for rows.Next() {
		var (
			l              store.WebhookStreamLease
			types, created string
			disabled       sql.NullString
		)
		e := &l.Endpoint
		if err := rows.Scan(&e.ID, &e.KeyID, &e.URL, &types, &e.Description, &e.Secret, &e.Status, &created, &disabled,
			&l.Claim, &l.Pos); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(types), &e.Events); err != nil {
			return nil, fmt.Errorf("stored endpoint events %q: %w", types, err)
		}
		ls = append(ls, l)
	}
	return ls, rows.Err()
}

// WebhookStreamRecord implements store.Webhooks, as the PostgreSQL
// engine's does (a retry's row dated a millisecond after its failure).
func (s *Store) WebhookStreamRecord(ctx context.Context, st store.WebhookStream, os []store.WebhookStreamOutcome) (bool, error) {
	stale := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		now, _, _, err := readClock(ctx, tx, 0, 0)
		if err != nil {
			return err
		}
		at, err := parseTime(now)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET stream_pos = ?3, stream_lease_until = NULL
			WHERE id = ?1 AND stream_claims = ?2 AND stream_pos = ?4`, st.EndpointID, st.Claim, st.Through, st.From)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if stale = n == 0; err != nil || stale {
			return err
		}
		for _, o := range os {
			status := store.DeliveryDelivered
			if !o.Delivered {
				status = store.DeliveryFailed
			}
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO webhook_deliveries (id, endpoint_id, event_id, api_key_id, status, response_status, duration_ms, first_attempt_at, created_at)
				VALUES (?1, ?2, ?3, ?4, ?5, nullif(?6, 0), ?7, ?8, ?8)`,
				store.NewWebhookDeliveryID(), st.EndpointID, o.EventID, st.KeyID, status, o.ResponseStatus, o.Duration.Milliseconds(), now); err != nil {
				return err
			}
			if o.Delivered {
				continue
			}
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO webhook_deliveries (id, endpoint_id, event_id, api_key_id, attempt, next_attempt_at, first_attempt_at, created_at)
				VALUES (?1, ?2, ?3, ?4, 2, ?5, ?6, ?7)`,
				store.NewWebhookDeliveryID(), st.EndpointID, o.EventID, st.KeyID, at.Add(o.RetryIn).UTC().Format(timeFormat), now,
				at.Add(time.Millisecond).UTC().Format(timeFormat)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("record webhook stream of %s: %w", st.EndpointID, err)
	}
	return stale, nil
}
