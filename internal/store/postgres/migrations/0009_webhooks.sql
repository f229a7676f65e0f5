-- +goose Up
-- Webhooks: a customer's endpoints, and the durable delivery queue fed from
-- the sequenced event feed (internal/webhook explains the design).
CREATE TABLE webhook_endpoints (
    id          TEXT PRIMARY KEY,
    api_key_id  BIGINT NOT NULL,
    url         TEXT NOT NULL,
    events      TEXT[] NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    secret      TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    disabled_at TIMESTAMPTZ
);
-- A customer's endpoints, newest first; the fan-out's enabled endpoints of a customer.
CREATE INDEX webhook_endpoints_owner_idx ON webhook_endpoints (api_key_id, created_at DESC);

-- One row per attempt: a failed attempt stays as the log shows it and the
-- retry is a new pending row (attempt + 1) of the same chain, which keeps
-- first_attempt_at, the start of the retry window. claims counts leases:
-- an outcome is recorded only by the holder of the latest one.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL,
    api_key_id       BIGINT NOT NULL,
    attempt          INTEGER NOT NULL DEFAULT 1,
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    response_status  INTEGER,
    duration_ms      INTEGER,
    next_attempt_at  TIMESTAMPTZ,
    lease_until      TIMESTAMPTZ,
    claims           INTEGER NOT NULL DEFAULT 0,
    first_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- The due queue.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- An endpoint's log, newest first.
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);

-- The fan-out cursor: the last events.pos turned into deliveries.
CREATE TABLE webhook_fanout (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    last_pos BIGINT NOT NULL
);
INSERT INTO webhook_fanout (id, last_pos) VALUES (1, 0);

-- +goose Down
DROP TABLE webhook_fanout;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
