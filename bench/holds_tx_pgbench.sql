-- pgbench script for bench/holds.sh: reservd's own POST /holds, replayed
-- statement for statement without reservd (HTTP, Go, pgx) in between: the
-- statements PostgreSQL's statement log shows for one hold of one seat. The
-- API key comes from reservd's in-process key cache (API_KEY_CACHE_TTL), so
-- it costs no statement; the hold is one transaction of two statements: the
-- locking read, then one write that changes the seat, appends its event,
-- inserts the hold, and claims the idempotency key with the answer stored.
-- reservd pipelines BEGIN with the read and COMMIT with the write. Seats are taken as in
-- holds_pgbench.sql. Variables: -D n=0 -D stride=N -D fbase=ID
-- -D keyid=ID -D digest=HEX (an API key of the bench database).
\set n :n + 1
\set i :client_id * :stride + :n
\set f :fbase + :i / 1000
\set r (:i % 1000) / 10 + 1
\set l :i % 10 + 1
BEGIN;
SELECT s.label, s.price_amount, (s.booking_id IS NULL AND (s.hold_id IS NULL OR s.held_until <= now())), coalesce(s.hold_id, ''), s.hold_id IS NOT NULL AND s.held_until <= now(),
  f.currency, now(), now() + interval '10 minutes'
FROM seats s JOIN flights f ON f.id = s.flight_id
WHERE s.flight_id = :f AND s.label = ANY (ARRAY[:r || substr('ABCDEFGHJK', :l, 1)]) ORDER BY s.label FOR UPDATE OF s;
WITH idem AS (
  INSERT INTO idempotency_keys (api_key_id, key, fingerprint, state, lease_until, status, body)
  VALUES (:keyid, 'pgbtx-' || :f || '-' || :i, '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'done', now(), 201,
    convert_to('{"data":{"id":"hld_abcdefghijklmnopqrstuvwxyz","flight_id":1,"seats":["1A"],"status":"active","total":{"amount":12900,"currency":"USD"},"created_at":"2026-11-27T00:28:51.890206Z","expires_at":"2026-11-27T00:38:51.890206Z"}}', 'UTF8'))
  ON CONFLICT (api_key_id, key) DO NOTHING
  RETURNING 1
), seats_held AS (
  UPDATE seats SET hold_id = 'pgbtx_' || :f || '_' || :i, held_until = now() + interval '10 minutes'
  WHERE flight_id = :f AND label = ANY (ARRAY[:r || substr('ABCDEFGHJK', :l, 1)]) AND EXISTS (SELECT 1 FROM idem)
), events AS (
  INSERT INTO seat_events (flight_id, seat, event, hold_id)
  SELECT :f::bigint, seat, event, hold FROM (
    SELECT 1 AS step, n, seat, 'expired' AS event, hold FROM unnest('{}'::text[], '{}'::text[]) WITH ORDINALITY AS x(seat, hold, n)
    UNION ALL
    SELECT 2, n, seat, 'held', 'pgbtx_' || :f || '_' || :i FROM unnest(ARRAY[:r || substr('ABCDEFGHJK', :l, 1)]) WITH ORDINALITY AS y(seat, n)
  ) e WHERE EXISTS (SELECT 1 FROM idem) ORDER BY step, n
), hold AS (
  INSERT INTO holds (id, api_key_id, flight_id, seats, status, total_amount, currency, created_at, expires_at, max_expires_at)
  SELECT 'pgbtx_' || :f || '_' || :i, :keyid, :f, :r || substr('ABCDEFGHJK', :l, 1), 'active', 12900, 'USD', now(), now() + interval '10 minutes', now() + interval '30 minutes'
  WHERE EXISTS (SELECT 1 FROM idem)
)
SELECT (SELECT count(*) FROM idem)::int;
END;
