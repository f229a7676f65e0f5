package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/store"
)

const endpointColumns = `id, api_key_id, url, events, description, secret, status, created_at, disabled_at`

func scanEndpoint(row scanner) (store.WebhookEndpoint, error) {
	var (
		e              store.WebhookEndpoint
		types, created string
		disabled       sql.NullString
	)
	if err := row.Scan(&e.ID, &e.KeyID, &e.URL, &types, &e.Description, &e.Secret, &e.Status, &created, &disabled); err != nil {
		return store.WebhookEndpoint{}, err
	}
	if err := json.Unmarshal([]byte(types), &e.Events); err != nil {
		return store.WebhookEndpoint{}, fmt.Errorf("stored endpoint events %q: %w", types, err)
	}
	var err error
	if e.CreatedAt, err = parseTime(created); err != nil {
		return store.WebhookEndpoint{}, err
	}
	if disabled.Valid {
		if e.DisabledAt, err = parseTime(disabled.String); err != nil {
			return store.WebhookEndpoint{}, err
		}
	}
	return e, nil
}

// WebhookEndpointCreate implements store.Webhooks.
func (s *Store) WebhookEndpointCreate(ctx context.Context, e store.WebhookEndpoint) (store.WebhookEndpoint, error) {
	types, err := json.Marshal(e.Events)
	if err != nil {
		return store.WebhookEndpoint{}, err
	}
	var out store.WebhookEndpoint
	err = s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanEndpoint(tx.QueryRowContext(ctx, `
			INSERT INTO webhook_endpoints (id, api_key_id, url, events, description, secret, created_at, stream_pos)
			VALUES (?, ?, ?, ?, ?, ?, `+nowSQL+`, coalesce((SELECT max(pos) FROM events), 0)) RETURNING `+endpointColumns,
			e.ID, e.KeyID, e.URL, string(types), e.Description, e.Secret))
		return err
	})
	if err != nil {
		return store.WebhookEndpoint{}, fmt.Errorf("create webhook endpoint: %w", translate(err))
	}
	return out, nil
}

// WebhookEndpointGet implements store.Webhooks.
func (s *Store) WebhookEndpointGet(ctx context.Context, keyID int64, id string) (store.WebhookEndpoint, error) {
	e, err := scanEndpoint(s.reader.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = ? AND api_key_id = ?`, id, keyID))
	if errors.Is(err, sql.ErrNoRows) {
		return store.WebhookEndpoint{}, store.ErrWebhookEndpointNotFound
	}
	if err != nil {
		return store.WebhookEndpoint{}, fmt.Errorf("webhook endpoint %s: %w", id, err)
	}
	return e, nil
}

// WebhookEndpointList implements store.Webhooks.
func (s *Store) WebhookEndpointList(ctx context.Context, keyID int64) ([]store.WebhookEndpoint, error) {
	return endpoints(ctx, s.reader, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE api_key_id = ? ORDER BY created_at DESC, id DESC`, keyID)
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func endpoints(ctx context.Context, q queryer, query string, args ...any) ([]store.WebhookEndpoint, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list webhook endpoints: %w", err)
	}
	defer rows.Close()
	var out []store.WebhookEndpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// WebhookEndpointDelete implements store.Webhooks.
func (s *Store) WebhookEndpointDelete(ctx context.Context, keyID int64, id string) error {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE id = ? AND api_key_id = ?`, id, keyID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("delete webhook endpoint %s: %w", id, err)
	}
	if n == 0 {
		return store.ErrWebhookEndpointNotFound
	}
	return nil
}

// enqueue writes the deliveries evs owe to the enabled endpoints of their
// customers, in tx, due at now.
func enqueue(ctx context.Context, tx *sql.Tx, now string, evs []events.Event) (int, error) {
	var keys []any
	for _, ev := range evs {
		if !slices.Contains(keys, any(ev.KeyID)) {
			keys = append(keys, ev.KeyID)
		}
	}
	eps, err := endpoints(ctx, tx, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE status = 'enabled' AND api_key_id IN (?`+strings.Repeat(", ?", len(keys)-1)+`)`, keys...)
	if err != nil {
		return 0, err
	}
	ds := store.WebhookMatches(evs, eps)
	for _, d := range ds {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO webhook_deliveries (id, endpoint_id, event_id, api_key_id, next_attempt_at, first_attempt_at, created_at)
			VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?5)`, d.ID, d.EndpointID, d.EventID, d.KeyID, now)
		if err != nil {
			return 0, fmt.Errorf("write webhook deliveries: %w", err)
		}
	}
	return len(ds), nil
}

const deliveryColumns = `d.id, d.endpoint_id, d.event_id, d.api_key_id, d.attempt, d.status,
	coalesce(d.response_status, 0), coalesce(d.duration_ms, 0), d.next_attempt_at, d.first_attempt_at, d.created_at`

type deliveryRow struct {
	d              store.WebhookDelivery
	next           sql.NullString
	first, created string
}

func (r *deliveryRow) dest() []any {
	d := &r.d
	return []any{&d.ID, &d.EndpointID, &d.EventID, &d.KeyID, &d.Attempt, &d.Status,
		&d.ResponseStatus, &d.DurationMS, &r.next, &r.first, &r.created}
}

func (r *deliveryRow) delivery() (store.WebhookDelivery, error) {
	var err error
	if r.next.Valid {
		if r.d.NextAttemptAt, err = parseTime(r.next.String); err != nil {
			return r.d, err
		}
	}
	if r.d.FirstAttemptAt, err = parseTime(r.first); err != nil {
		return r.d, err
	}
	r.d.CreatedAt, err = parseTime(r.created)
	return r.d, err
}

// WebhookClaim implements store.Webhooks. A reader looks for a due
// delivery first, so that an idle queue never takes the write lock.
func (s *Store) WebhookClaim(ctx context.Context, p store.WebhookClaimParams) ([]store.WebhookClaim, error) {
	var due int
	err := s.reader.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM webhook_deliveries
		WHERE status = 'pending' AND next_attempt_at <= `+nowSQL+` LIMIT 1)`).Scan(&due)
	if err != nil || due == 0 {
		return nil, err
	}
	var out []store.WebhookClaim
	err = s.write(ctx, func(tx *sql.Tx) error {
		out = nil
		now, _, _, err := readClock(ctx, tx, 0, 0)
		if err != nil {
			return err
		}
		at, err := parseTime(now)
		if err != nil {
			return err
		}
		// Each enabled endpoint with room: its oldest due, unleased pending
		// deliveries, through webhook_deliveries_endpoint_due_idx; then the
		// oldest p.Limit of them in all.
		eps, err := tx.QueryContext(ctx, `SELECT id FROM webhook_endpoints WHERE status = 'enabled'`)
		if err != nil {
			return err
		}
		var epIDs []string
		for eps.Next() {
			var id string
			if err := eps.Scan(&id); err != nil {
				eps.Close() // #nosec G104 -- already failing with the scan's error
				return err
			}
			epIDs = append(epIDs, id)
		}
		if err := eps.Close(); err != nil {
			return err
		}
		type due struct {
			id, at string
			k      int // its position in its endpoint's batch
		}
		var cand []due
		for _, ep := range epIDs {
			room := p.PerEndpoint - p.Busy[ep]
			if room <= 0 {
				continue
			}
			rows, err := tx.QueryContext(ctx, `SELECT id, next_attempt_at FROM webhook_deliveries
				WHERE endpoint_id = ?1 AND status = 'pending' AND next_attempt_at <= ?2
					AND (lease_until IS NULL OR lease_until <= ?2)
				ORDER BY next_attempt_at, id LIMIT ?3`, ep, now, room)
			if err != nil {
				return err
			}
			for k := 0; rows.Next(); k++ {
				d := due{k: k}
				if err := rows.Scan(&d.id, &d.at); err != nil {
					rows.Close() // #nosec G104 -- already failing with the scan's error
					return err
				}
				cand = append(cand, d)
			}
			if err := rows.Close(); err != nil {
				return err
			}
		}
		if p.Limit > 0 && len(cand) > p.Limit {
			slices.SortStableFunc(cand, func(a, b due) int { return cmp.Or(strings.Compare(a.at, b.at), a.k-b.k) })
			cand = cand[:p.Limit]
		}
		type claimed struct{ n, k int }
		claims := map[string]claimed{}
		for _, d := range cand {
			until := at.Add(store.WaveLease(p.Lease, p.Step, p.Wave, d.k)).Format(timeFormat)
			var n int
			if err := tx.QueryRowContext(ctx, `UPDATE webhook_deliveries SET lease_until = ?2, claims = claims + 1
				WHERE id = ?1 RETURNING claims`, d.id, until).Scan(&n); err != nil {
				return err
			}
			claims[d.id] = claimed{n: n, k: d.k}
		}
		if len(claims) == 0 {
			return nil
		}
		ids, _ := json.Marshal(keysOf(claims))
		rows, err := tx.QueryContext(ctx, `
			SELECT `+deliveryColumns+`, e.url, e.secret,
				ev.id IS NOT NULL, coalesce(ev.type, ''), coalesce(ev.data, ''), coalesce(ev.created_at, ?2), coalesce(ev.pos, 0)
			FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id LEFT JOIN events ev ON ev.id = d.event_id
			WHERE d.id IN (SELECT value FROM json_each(?1))
			ORDER BY d.endpoint_id`, string(ids), now)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				r             deliveryRow
				c             store.WebhookClaim
				data, created string
			)
			if err := rows.Scan(append(r.dest(), &c.URL, &c.Secret, &c.EventOK, &c.Event.Type, &data, &created, &c.Event.Pos)...); err != nil {
				return err
			}
			if c.Delivery, err = r.delivery(); err != nil {
				return err
			}
			if c.Event.CreatedAt, err = parseTime(created); err != nil {
				return err
			}
			c.Claim, c.Lease = claims[c.Delivery.ID].n, store.WaveLease(p.Lease, p.Step, p.Wave, claims[c.Delivery.ID].k)
			c.Event.ID, c.Event.KeyID, c.Event.Data = c.Delivery.EventID, c.Delivery.KeyID, []byte(data)
			out = append(out, c)
		}
		slices.SortStableFunc(out, func(a, b store.WebhookClaim) int {
			return cmp.Or(strings.Compare(a.Delivery.EndpointID, b.Delivery.EndpointID), claims[a.Delivery.ID].k-claims[b.Delivery.ID].k)
		})
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	return out, nil
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// WebhookRelease implements store.Webhooks.
func (s *Store) WebhookRelease(ctx context.Context, claims []store.WebhookClaim) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		for _, c := range claims {
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET lease_until = NULL
				WHERE id = ? AND claims = ? AND status = 'pending'`, c.Delivery.ID, c.Claim); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("release webhook deliveries: %w", err)
	}
	return nil
}

// WebhookRecordMany implements store.Webhooks, one outcome after another
// in one write transaction.
func (s *Store) WebhookRecordMany(ctx context.Context, os []store.WebhookOutcome) ([]store.WebhookRecorded, error) {
	if len(os) == 0 {
		return nil, nil
	}
	out := make([]store.WebhookRecorded, len(os))
	err := s.write(ctx, func(tx *sql.Tx) error {
		clear(out)
		for i, o := range os {
			r, err := record(ctx, tx, o)
			if err != nil {
				return fmt.Errorf("delivery %s: %w", o.ID, err)
			}
			out[i] = r
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record webhook deliveries: %w", err)
	}
	return out, nil
}

// record records one outcome in tx.
func record(ctx context.Context, tx *sql.Tx, o store.WebhookOutcome) (store.WebhookRecorded, error) {
	var out store.WebhookRecorded
	status := store.DeliveryFailed
	if o.Delivered {
		status = store.DeliveryDelivered
	}
	var (
		d     store.WebhookDelivery
		first string
	)
	err := tx.QueryRowContext(ctx, `
		UPDATE webhook_deliveries SET status = ?3, response_status = nullif(?4, 0), duration_ms = ?5,
			next_attempt_at = NULL, lease_until = NULL
		WHERE id = ?1 AND claims = ?2 AND status = 'pending'
		RETURNING endpoint_id, event_id, api_key_id, attempt, first_attempt_at`,
		o.ID, o.Claim, status, o.ResponseStatus, o.Duration.Milliseconds(),
	).Scan(&d.EndpointID, &d.EventID, &d.KeyID, &d.Attempt, &first)
	if errors.Is(err, sql.ErrNoRows) {
		out.Stale = true
		return out, nil
	}
	if err != nil || o.Delivered || o.RetryIn < 0 {
		return out, err
	}
	now, retryAt, windowStart, err := readClock(ctx, tx, o.RetryIn, -o.RetryFor)
	if err != nil {
		return out, err
	}
	if first <= windowStart {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET status = 'disabled', disabled_at = ?
			WHERE id = ? AND status = 'enabled'`, now, d.EndpointID)
		if err != nil {
			return out, err
		}
		n, err := res.RowsAffected()
		out.Disabled = err == nil && n > 0
		return out, err
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO webhook_deliveries (id, endpoint_id, event_id, api_key_id, attempt, first_attempt_at, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		store.NewWebhookDeliveryID(), d.EndpointID, d.EventID, d.KeyID, d.Attempt+1, first, retryAt, now)
	out.Retry = err == nil
	return out, err
}

// WebhookDeliveryList implements store.Webhooks.
func (s *Store) WebhookDeliveryList(ctx context.Context, p store.WebhookDeliveryListParams) ([]store.WebhookDelivery, error) {
	after := store.WebhookDeliveryCursor{CreatedAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
	if p.After != nil {
		after = *p.After
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d
		WHERE d.endpoint_id = ?1 AND d.api_key_id = ?2 AND (d.created_at < ?3 OR d.created_at = ?3 AND d.id < ?4)
		ORDER BY d.created_at DESC, d.id DESC LIMIT ?5`,
		p.EndpointID, p.KeyID, after.CreatedAt.UTC().Format(timeFormat), after.ID, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []store.WebhookDelivery
	for rows.Next() {
		var r deliveryRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, err
		}
		d, err := r.delivery()
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// WebhookRedeliver implements store.Webhooks.
func (s *Store) WebhookRedeliver(ctx context.Context, keyID int64, eventID string) (int, error) {
	ev, err := s.EventGet(ctx, keyID, eventID)
	if err != nil {
		return 0, err
	}
	var n int
	err = s.write(ctx, func(tx *sql.Tx) error {
		now, _, _, err := readClock(ctx, tx, 0, 0)
		if err != nil {
			return err
		}
		n, err = enqueue(ctx, tx, now, []events.Event{ev})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("redeliver %s: %w", eventID, err)
	}
	return n, nil
}

// WebhookGauges implements store.Webhooks.
func (s *Store) WebhookGauges(ctx context.Context) (store.WebhookCounts, error) {
	var c store.WebhookCounts
	// One scan of the pending deliveries counts both the due and the waiting.
	err := s.reader.QueryRowContext(ctx, `SELECT
		count(*) FILTER (WHERE d.next_attempt_at <= `+nowSQL+`), count(*) FILTER (WHERE d.next_attempt_at > `+nowSQL+`),
		(SELECT count(*) FROM webhook_endpoints WHERE status = 'disabled'),
		(SELECT coalesce(sum((SELECT count(*) FROM events ev WHERE ev.api_key_id = x.api_key_id AND ev.pos > x.stream_pos)), 0)
			FROM webhook_endpoints x WHERE x.status = 'enabled')
		FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
		WHERE d.status = 'pending' AND e.status = 'enabled'`).Scan(&c.Due, &c.Waiting, &c.Disabled, &c.Unsent)
	if err != nil {
		return store.WebhookCounts{}, fmt.Errorf("webhook gauges: %w", err)
	}
	return c, nil
}

// WebhookPrune implements store.Webhooks.
func (s *Store) WebhookPrune(ctx context.Context, age time.Duration, limit int) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			DELETE FROM webhook_deliveries WHERE id IN (
				SELECT id FROM webhook_deliveries
				WHERE created_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1) AND status <> 'pending'
				LIMIT ?2)`, modifier(-age), limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune webhook deliveries: %w", err)
	}
	return int(n), nil
}
