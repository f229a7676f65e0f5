-- pgbench script for bench/holds.sh: reservd's batched POST /holds
-- (HOLD_BATCH=on), replayed statement for statement without reservd: one
-- transaction grants :batch holds of one seat each, with the statements
-- internal/store/postgres/holds_batch.go sends for a batch of keyed holds,
-- in the same two pipelined round trips. The first carries BEGIN, the flights,
-- the idempotency keys and hold ids already taken (planned for their
-- arguments), and the locking read of every seat in (flight, label) order;
-- the second one write (seats, seat events, holds, idempotency keys with
-- their stored answers, the hold.created events) and COMMIT. Each client
-- takes distinct seats as holds_pgbench.sql does, :batch at a time.
-- Variables: -D n=0 -D stride=N -D fbase=ID -D keyid=ID -D batch=B.
\set n :n + 1
\set i :client_id * :stride + (:n - 1) * :batch
\set j :i + :batch - 1
\startpipeline
BEGIN;
SELECT f.id, f.currency, (f.departs_at <= now()) FROM flights f
WHERE f.id = ANY (ARRAY(SELECT DISTINCT :fbase::bigint + g / 1000 FROM generate_series(:i::bigint, :j::bigint) g));
SET LOCAL plan_cache_mode = force_custom_plan;
SELECT k.api_key_id, k.key FROM idempotency_keys k
JOIN unnest(ARRAY(SELECT :keyid::bigint FROM generate_series(:i::bigint, :j::bigint) g), ARRAY(SELECT 'pgbb-' || g FROM generate_series(:i::bigint, :j::bigint) g)) AS x(api_key_id, key)
  ON k.api_key_id = x.api_key_id AND k.key = x.key;
SELECT id FROM holds WHERE id = ANY (ARRAY(SELECT 'pgbb_' || g FROM generate_series(:i::bigint, :j::bigint) g));
SET LOCAL plan_cache_mode = auto;
SELECT s.flight_id, s.label, s.price_amount, (s.booking_id IS NULL AND (s.hold_id IS NULL OR s.held_until <= now())), coalesce(s.hold_id, ''),
  s.hold_id IS NOT NULL AND s.held_until <= now(), now()
FROM seats s JOIN (SELECT :fbase::bigint + g / 1000 AS flight_id, ((g % 1000) / 10 + 1) || substr('ABCDEFGHJK', (g % 10 + 1)::int, 1) AS label
  FROM generate_series(:i::bigint, :j::bigint) g) AS x ON s.flight_id = x.flight_id AND s.label = x.label
ORDER BY s.flight_id, s.label
FOR UPDATE OF s;
\endpipeline
\startpipeline
WITH b AS (
  SELECT g, :fbase::bigint + g / 1000 AS flight_id, ((g % 1000) / 10 + 1) || substr('ABCDEFGHJK', (g % 10 + 1)::int, 1) AS label, 'pgbb_' || g AS hold_id
  FROM generate_series(:i::bigint, :j::bigint) g
), seats_held AS (
  UPDATE seats s SET hold_id = b.hold_id, held_until = now() + interval '10 minutes'
  FROM b WHERE s.flight_id = b.flight_id AND s.label = b.label
), seat_ev AS (
  INSERT INTO seat_events (flight_id, seat, event, hold_id)
  SELECT flight_id, label, 'held', hold_id FROM b ORDER BY g
), new_holds AS (
  INSERT INTO holds (id, api_key_id, flight_id, seats, status, total_amount, currency, created_at, expires_at, max_expires_at)
  SELECT hold_id, :keyid, flight_id, label, 'active', 12900, 'USD', now(), now() + interval '10 minutes', now() + interval '30 minutes' FROM b
), claimed AS (
  INSERT INTO idempotency_keys (api_key_id, key, fingerprint, state, lease_until, status, body)
  SELECT :keyid, 'pgbb-' || g, '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'done', now(), 201,
    convert_to('{"data":{"id":"' || hold_id || '","flight_id":' || flight_id || ',"seats":["' || label || '"],"status":"active","total":{"amount":12900,"currency":"USD"},"created_at":"2026-11-27T00:28:51.890206Z","expires_at":"2026-11-27T00:38:51.890206Z"}}', 'UTF8')
  FROM b
), outbox AS (
  INSERT INTO events (id, api_key_id, type, flight_id, data)
  SELECT 'evt_pgbb_' || g, :keyid, 'hold.created', flight_id,
    ('{"id":"' || hold_id || '","flight_id":' || flight_id || ',"seats":["' || label || '"],"status":"active","total":{"amount":12900,"currency":"USD"},"created_at":"2026-11-27T00:28:51.890206Z","expires_at":"2026-11-27T00:38:51.890206Z"}')::json
  FROM b
)
SELECT 1;
COMMIT;
\endpipeline
