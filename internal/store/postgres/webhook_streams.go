package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/reservd/reservd/internal/store"
)

// streamClaimSQL leases the streams of up to $1 enabled endpoints, none of
// $2, that are unleased and whose customer has sequenced events past their
// position (a probe of events_owner_idx each), for $3 seconds.
const streamClaimSQL = `
	UPDATE webhook_endpoints e SET stream_claims = e.stream_claims + 1,
		stream_lease_until = now() + make_interval(secs => $3::float8)
	WHERE e.id IN (
		SELECT x.id FROM webhook_endpoints x
		WHERE x.status = 'enabled' AND x.id <> ALL($2::text[])
			AND (x.stream_lease_until IS NULL OR x.stream_lease_until <= now())
			AND EXISTS (SELECT 1 FROM events ev WHERE ev.api_key_id = x.api_key_id AND ev.pos > x.stream_pos)
		ORDER BY x.stream_lease_until NULLS FIRST, x.id LIMIT $1
		FOR UPDATE SKIP LOCKED)
	RETURNING ` + endpointColumns + `, e.stream_claims, e.stream_pos`

// WebhookStreamClaim implements store.Webhooks: one statement leases the
// streams, then each stream's events are read through EventList.
func (s *Store) WebhookStreamClaim(ctx context.Context, p store.WebhookStreamClaimParams) ([]store.WebhookStream, error) {
	skip := p.Skip
	if skip == nil {
		skip = []string{}
	}
	// Planned for its arguments: a generic plan made while the tables were
	// small would scan them whole for ever (see holds_batch.go).
	rows, err := s.pool.Query(ctx, streamClaimSQL, pgx.QueryExecModeExec, p.Endpoints, skip, p.Lease.Seconds())
	if err != nil {
		return nil, fmt.Errorf("claim webhook streams: %w", err)
	}
	var ls []store.WebhookStreamLease
	for rows.Next() {
		var l store.WebhookStreamLease
		e := &l.Endpoint
		var disabled any
		if err := rows.Scan(&e.ID, &e.KeyID, &e.URL, &e.Events, &e.Description, &e.Secret, &e.Status, &e.CreatedAt, &disabled,
			&l.Claim, &l.Pos); err != nil {
			rows.Close()
			return nil, err
		}
		ls = append(ls, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim webhook streams: %w", err)
	}
	out, err := store.ReadWebhookStreams(ctx, ls, p.Events, s.EventList)
	if err != nil {
		return nil, fmt.Errorf("claim webhook streams: %w", err)
	}
	return out, nil
}

// WebhookStreamRecord implements store.Webhooks: the position moves only
// under the latest claim, then the attempts' rows are written, all in one
// transaction and one round trip. A retry's row is dated a millisecond
// after the failure it follows, so that the log (newest first) lists it
// above that failure.
func (s *Store) WebhookStreamRecord(ctx context.Context, st store.WebhookStream, os []store.WebhookStreamOutcome) (bool, error) {
	n := len(os)
	ids, evIDs, statuses := make([]string, n), make([]string, n), make([]string, n)
	codes, ms := make([]int64, n), make([]int64, n)
	var retryIDs, retryEvents []string
	var retryIn []float64
	for i, o := range os {
		ids[i], evIDs[i], codes[i], ms[i] = store.NewWebhookDeliveryID(), o.EventID, int64(o.ResponseStatus), o.Duration.Milliseconds()
		statuses[i] = store.DeliveryDelivered
		if !o.Delivered {
			statuses[i] = store.DeliveryFailed
			retryIDs, retryEvents, retryIn = append(retryIDs, store.NewWebhookDeliveryID()), append(retryEvents, o.EventID), append(retryIn, o.RetryIn.Seconds())
		}
	}
	stale := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET stream_pos = $3, stream_lease_until = NULL
			WHERE id = $1 AND stream_claims = $2 AND stream_pos = $4`, st.EndpointID, st.Claim, st.Through, st.From)
		if err != nil {
			return err
		}
		if stale = tag.RowsAffected() == 0; stale || n == 0 {
			return nil
		}
		b := &pgx.Batch{}
		b.Queue(`
			INSERT INTO webhook_deliveries (id, endpoint_id, event_id, api_key_id, status, response_status, duration_ms)
			SELECT d.id, $1, d.event, $2, d.status, nullif(d.code, 0), d.ms
			FROM unnest($3::text[], $4::text[], $5::text[], $6::int[], $7::int[]) AS d(id, event, status, code, ms)`,
			st.EndpointID, st.KeyID, ids, evIDs, statuses, codes, ms)
		if len(retryIDs) > 0 {
			b.Queue(`
				INSERT INTO webhook_deliveries (id, endpoint_id, event_id, api_key_id, attempt, next_attempt_at, created_at)
				SELECT r.id, $1, r.event, $2, 2, now() + make_interval(secs => r.wait), now() + interval '1 millisecond'
				FROM unnest($3::text[], $4::text[], $5::float8[]) AS r(id, event, wait)`,
				st.EndpointID, st.KeyID, retryIDs, retryEvents, retryIn)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return false, fmt.Errorf("record webhook stream of %s: %w", st.EndpointID, err)
	}
	return stale, nil
}
