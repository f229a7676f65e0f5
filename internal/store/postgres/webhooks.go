package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/store"
)

const endpointColumns = `id, api_key_id, url, events, description, secret, status, created_at, disabled_at`

func scanEndpoint(row pgx.Row) (store.WebhookEndpoint, error) {
	var (
		e        store.WebhookEndpoint
		disabled *time.Time
	)
	err := row.Scan(&e.ID, &e.KeyID, &e.URL, &e.Events, &e.Description, &e.Secret, &e.Status, &e.CreatedAt, &disabled)
	e.CreatedAt = e.CreatedAt.UTC()
	if disabled != nil {
		e.DisabledAt = disabled.UTC()
	}
	return e, err
}

// WebhookEndpointCreate implements store.Webhooks.
func (s *Store) WebhookEndpointCreate(ctx context.Context, e store.WebhookEndpoint) (store.WebhookEndpoint, error) {
	out, err := scanEndpoint(s.pool.QueryRow(ctx, `
		INSERT INTO webhook_endpoints (id, api_key_id, url, events, description, secret, stream_pos)
		VALUES ($1, $2, $3, $4, $5, $6, coalesce((SELECT max(pos) FROM events), 0)) RETURNING `+endpointColumns,
		e.ID, e.KeyID, e.URL, e.Events, e.Description, e.Secret))
	if err != nil {
		return store.WebhookEndpoint{}, fmt.Errorf("create webhook endpoint: %w", translate(err))
	}
	return out, nil
}

// WebhookEndpointGet implements store.Webhooks.
func (s *Store) WebhookEndpointGet(ctx context.Context, keyID int64, id string) (store.WebhookEndpoint, error) {
	e, err := scanEndpoint(s.pool.QueryRow(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = $1 AND api_key_id = $2`, id, keyID))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.WebhookEndpoint{}, store.ErrWebhookEndpointNotFound
	}
	if err != nil {
		return store.WebhookEndpoint{}, fmt.Errorf("webhook endpoint %s: %w", id, err)
	}
	return e, nil
}

// WebhookEndpointList implements store.Webhooks.
func (s *Store) WebhookEndpointList(ctx context.Context, keyID int64) ([]store.WebhookEndpoint, error) {
	return s.endpoints(ctx, s.pool, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE api_key_id = $1 ORDER BY created_at DESC, id DESC`, keyID)
}

func (s *Store) endpoints(ctx context.Context, q querier, sql string, args ...any) ([]store.WebhookEndpoint, error) {
	rows, err := q.Query(ctx, sql, args...)
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
	tag, err := s.pool.Exec(ctx, `DELETE FROM webhook_endpoints WHERE id = $1 AND api_key_id = $2`, id, keyID)
	if err != nil {
		return fmt.Errorf("delete webhook endpoint %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrWebhookEndpointNotFound
	}
	return nil
}

// enqueue writes the deliveries evs owe to the enabled endpoints of their
// customers, in tx. The endpoints are share-locked so that none is deleted
// before the deliveries that reference it are written.
func (s *Store) enqueue(ctx context.Context, tx pgx.Tx, evs []events.Event) (int, error) {
	var keys []int64
	for _, ev := range evs {
		if !slices.Contains(keys, ev.KeyID) {
			keys = append(keys, ev.KeyID)
		}
	}
	eps, err := s.endpoints(ctx, tx, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE api_key_id = ANY($1) AND status = 'enabled' FOR KEY SHARE`, keys)
	if err != nil {
		return 0, err
	}
	ds := store.WebhookMatches(evs, eps)
	if len(ds) == 0 {
		return 0, nil
	}
	ids, endpoints, evIDs, owners := make([]string, len(ds)), make([]string, len(ds)), make([]string, len(ds)), make([]int64, len(ds))
	for i, d := range ds {
		ids[i], endpoints[i], evIDs[i], owners[i] = d.ID, d.EndpointID, d.EventID, d.KeyID
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO webhook_deliveries (id, endpoint_id, event_id, api_key_id, next_attempt_at)
		SELECT id, endpoint, event, key, now()
		FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS d(id, endpoint, event, key)`,
		ids, endpoints, evIDs, owners)
	if err != nil {
		return 0, fmt.Errorf("write webhook deliveries: %w", err)
	}
	return len(ds), nil
}

const deliveryColumns = `d.id, d.endpoint_id, d.event_id, d.api_key_id, d.attempt, d.status,
	coalesce(d.response_status, 0), coalesce(d.duration_ms, 0), d.next_attempt_at, d.first_attempt_at, d.created_at`

func deliveryDest(d *store.WebhookDelivery, next **time.Time) []any {
	return []any{&d.ID, &d.EndpointID, &d.EventID, &d.KeyID, &d.Attempt, &d.Status,
		&d.ResponseStatus, &d.DurationMS, next, &d.FirstAttemptAt, &d.CreatedAt}
}

func fixDelivery(d *store.WebhookDelivery, next *time.Time) {
	if next != nil {
		d.NextAttemptAt = next.UTC()
	}
	d.FirstAttemptAt, d.CreatedAt = d.FirstAttemptAt.UTC(), d.CreatedAt.UTC()
}

// claimSQL leases each enabled endpoint's room of its oldest due, unleased
// pending deliveries: a LATERAL index scan per endpoint with room on
// webhook_deliveries_endpoint_due_idx that reads only the rows it returns
// (and the leased ones ahead of them), then the oldest $4 of them in all.
// An endpoint without room is not scanned at all. k is a delivery's
// position in its endpoint's batch: the lease grows by $6 every $7.
const claimSQL = `
	WITH room AS (
		SELECT e.id, $1::int - coalesce(b.n, 0) AS n
		FROM webhook_endpoints e LEFT JOIN unnest($2::text[], $3::int[]) AS b(id, n) ON b.id = e.id
		WHERE e.status = 'enabled' AND $1::int - coalesce(b.n, 0) > 0),
	due AS (
		SELECT q.id, q.next_attempt_at, q.k FROM room r CROSS JOIN LATERAL (
			SELECT x.id, x.next_attempt_at, row_number() OVER (ORDER BY x.next_attempt_at, x.id) - 1 AS k
			FROM (SELECT d.id, d.next_attempt_at FROM webhook_deliveries d
				WHERE d.endpoint_id = r.id AND d.status = 'pending' AND d.next_attempt_at <= now()
					AND (d.lease_until IS NULL OR d.lease_until <= now())
				ORDER BY d.next_attempt_at LIMIT r.n
				FOR UPDATE SKIP LOCKED) x) q
		ORDER BY q.next_attempt_at, q.k LIMIT nullif($4::int, 0)),
	c AS (
		UPDATE webhook_deliveries d SET claims = d.claims + 1,
			lease_until = now() + make_interval(secs => $5::float8 + $6::float8 * (due.k / $7::int))
		FROM due WHERE d.id = due.id
		RETURNING d.*, due.k)
	SELECT ` + deliveryColumns + `, d.claims, d.k, e.url, e.secret,
		ev.id IS NOT NULL, coalesce(ev.type, ''), coalesce(ev.data::text, ''), coalesce(ev.created_at, now()), coalesce(ev.pos, 0)
	FROM c d JOIN webhook_endpoints e ON e.id = d.endpoint_id LEFT JOIN events ev ON ev.id = d.event_id
	ORDER BY d.endpoint_id, d.k`

// WebhookClaim implements store.Webhooks.
func (s *Store) WebhookClaim(ctx context.Context, p store.WebhookClaimParams) ([]store.WebhookClaim, error) {
	busyIDs, busyN := make([]string, 0, len(p.Busy)), make([]int32, 0, len(p.Busy))
	for id, n := range p.Busy {
		busyIDs, busyN = append(busyIDs, id), append(busyN, int32(min(n, p.PerEndpoint))) // #nosec G115 -- at most PerEndpoint, a small count
	}
	wave, step := p.Wave, p.Step
	if wave <= 0 {
		wave, step = 1, 0
	}
	rows, err := s.pool.Query(ctx, claimSQL, p.PerEndpoint, busyIDs, busyN, p.Limit, p.Lease.Seconds(), step.Seconds(), wave)
	if err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []store.WebhookClaim
	for rows.Next() {
		var (
			c    store.WebhookClaim
			next *time.Time
			data string
			k    int
		)
		dest := append(deliveryDest(&c.Delivery, &next), &c.Claim, &k, &c.URL, &c.Secret,
			&c.EventOK, &c.Event.Type, &data, &c.Event.CreatedAt, &c.Event.Pos)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		fixDelivery(&c.Delivery, next)
		c.Lease = store.WaveLease(p.Lease, step, wave, k)
		c.Event.ID, c.Event.KeyID, c.Event.Data, c.Event.CreatedAt = c.Delivery.EventID, c.Delivery.KeyID, []byte(data), c.Event.CreatedAt.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// WebhookRelease implements store.Webhooks.
func (s *Store) WebhookRelease(ctx context.Context, claims []store.WebhookClaim) error {
	ids, nums := make([]string, len(claims)), make([]int32, len(claims))
	for i, c := range claims {
		ids[i], nums[i] = c.Delivery.ID, int32(c.Claim) // #nosec G115 -- the claim number was read from this INTEGER column
	}
	_, err := s.pool.Exec(ctx, `
		UPDATE webhook_deliveries d SET lease_until = NULL
		FROM unnest($1::text[], $2::int[]) AS r(id, claim)
		WHERE d.id = r.id AND d.claims = r.claim AND d.status = 'pending'`, ids, nums)
	if err != nil {
		return fmt.Errorf("release webhook deliveries: %w", err)
	}
	return nil
}

// recordDeliveredSQL records many delivered attempts in one statement:
// each row is found through the primary key, and only while its claim is
// the latest.
const recordDeliveredSQL = `
	UPDATE webhook_deliveries d SET status = 'delivered', response_status = nullif(o.status, 0), duration_ms = o.ms,
		next_attempt_at = NULL, lease_until = NULL
	FROM unnest($1::text[], $2::int[], $3::int[], $4::int[]) AS o(id, claim, status, ms)
	WHERE d.id = o.id AND d.claims = o.claim AND d.status = 'pending'
	RETURNING d.id`

// WebhookRecordMany implements store.Webhooks: the delivered outcomes in
// one set-based UPDATE, each failure (rare) with its own statements, all
// in one transaction.
func (s *Store) WebhookRecordMany(ctx context.Context, os []store.WebhookOutcome) ([]store.WebhookRecorded, error) {
	if len(os) == 0 {
		return nil, nil
	}
	var ids []string
	var claims, statuses, ms []int64 // pgx checks each fits the INTEGER column
	for _, o := range os {
		if o.Delivered {
			ids = append(ids, o.ID)
			claims = append(claims, int64(o.Claim))
			statuses = append(statuses, int64(o.ResponseStatus))
			ms = append(ms, o.Duration.Milliseconds())
		}
	}
	out := make([]store.WebhookRecorded, len(os))
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		clear(out)
		done := map[string]bool{}
		if len(ids) > 0 {
			// Planned for its arguments (pgx.QueryExecModeExec): a cached
			// generic plan made while the table was small joins by scanning
			// it whole, and keeps doing so as the queue grows.
			rows, err := tx.Query(ctx, recordDeliveredSQL, pgx.QueryExecModeExec, ids, claims, statuses, ms)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				done[id] = true
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		for i, o := range os {
			if o.Delivered {
				out[i].Stale = !done[o.ID]
				continue
			}
			r, err := recordFailure(ctx, tx, o)
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

// recordFailure records a failed attempt in tx: the next attempt of its
// chain, or, past the retry window, the endpoint disabled.
func recordFailure(ctx context.Context, tx pgx.Tx, o store.WebhookOutcome) (store.WebhookRecorded, error) {
	var (
		out     store.WebhookRecorded
		d       store.WebhookDelivery
		expired bool
	)
	err := tx.QueryRow(ctx, `
		UPDATE webhook_deliveries SET status = 'failed', response_status = nullif($3, 0), duration_ms = $4,
			next_attempt_at = NULL, lease_until = NULL
		WHERE id = $1 AND claims = $2 AND status = 'pending'
		RETURNING endpoint_id, event_id, api_key_id, attempt, first_attempt_at,
			now() >= first_attempt_at + make_interval(secs => $5)`,
		o.ID, o.Claim, o.ResponseStatus, o.Duration.Milliseconds(), o.RetryFor.Seconds(),
	).Scan(&d.EndpointID, &d.EventID, &d.KeyID, &d.Attempt, &d.FirstAttemptAt, &expired)
	if errors.Is(err, pgx.ErrNoRows) {
		out.Stale = true
		return out, nil
	}
	if err != nil || o.RetryIn < 0 {
		return out, err
	}
	if expired {
		tag, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET status = 'disabled', disabled_at = now()
			WHERE id = $1 AND status = 'enabled'`, d.EndpointID)
		out.Disabled = err == nil && tag.RowsAffected() > 0
		return out, err
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO webhook_deliveries (id, endpoint_id, event_id, api_key_id, attempt, first_attempt_at, next_attempt_at)
		VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))`,
		store.NewWebhookDeliveryID(), d.EndpointID, d.EventID, d.KeyID, d.Attempt+1, d.FirstAttemptAt, o.RetryIn.Seconds())
	out.Retry = err == nil
	return out, err
}

// WebhookDeliveryList implements store.Webhooks.
func (s *Store) WebhookDeliveryList(ctx context.Context, p store.WebhookDeliveryListParams) ([]store.WebhookDelivery, error) {
	after := store.WebhookDeliveryCursor{CreatedAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
	if p.After != nil {
		after = *p.After
	}
	rows, err := s.pool.Query(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d
		WHERE d.endpoint_id = $1 AND d.api_key_id = $2 AND (d.created_at, d.id) < ($3, $4)
		ORDER BY d.created_at DESC, d.id DESC LIMIT $5`, p.EndpointID, p.KeyID, after.CreatedAt, after.ID, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []store.WebhookDelivery
	for rows.Next() {
		var (
			d    store.WebhookDelivery
			next *time.Time
		)
		if err := rows.Scan(deliveryDest(&d, &next)...); err != nil {
			return nil, err
		}
		fixDelivery(&d, next)
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
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		n, err = s.enqueue(ctx, tx, []events.Event{ev})
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
	err := s.pool.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE d.next_attempt_at <= now()), count(*) FILTER (WHERE d.next_attempt_at > now()),
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
	tag, err := s.pool.Exec(ctx, `
		DELETE FROM webhook_deliveries WHERE id IN (
			SELECT id FROM webhook_deliveries
			WHERE created_at < now() - make_interval(secs => $1) AND status <> 'pending'
			LIMIT $2)`, age.Seconds(), limit)
	if err != nil {
		return 0, fmt.Errorf("prune webhook deliveries: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
