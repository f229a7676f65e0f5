-- +goose Up
-- Webhooks; see the PostgreSQL migration of the same number. events is a
-- JSON array of type names.
CREATE TABLE webhook_endpoints (
    id          TEXT PRIMARY KEY,
    api_key_id  INTEGER NOT NULL,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    secret      TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    created_at  TEXT NOT NULL,
    disabled_at TEXT
);
CREATE INDEX webhook_endpoints_owner_idx ON webhook_endpoints (api_key_id, created_at DESC);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL,
    api_key_id       INTEGER NOT NULL,
    attempt          INTEGER NOT NULL DEFAULT 1,
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    response_status  INTEGER,
    duration_ms      INTEGER,
    next_attempt_at  TEXT,
    lease_until      TEXT,
    claims           INTEGER NOT NULL DEFAULT 0,
    first_attempt_at TEXT NOT NULL,
    created_at       TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);

CREATE TABLE webhook_fanout (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    last_pos INTEGER NOT NULL
);
INSERT INTO webhook_fanout (id, last_pos) VALUES (1, 0);

-- +goose Down
DROP TABLE webhook_fanout;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
