-- +goose Up
-- Flash sales behind a waiting room; see the PostgreSQL migration of the same number.
CREATE TABLE flight_sales (
    flight_id        INTEGER PRIMARY KEY REFERENCES flights (id),
    opens_at         TEXT NOT NULL,
    admit_per_second INTEGER NOT NULL CHECK (admit_per_second > 0),
    admission_ttl_ms INTEGER NOT NULL CHECK (admission_ttl_ms > 0),
    next_slot_ns     INTEGER,
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE queue_tickets (
    id         TEXT PRIMARY KEY,
    flight_id  INTEGER NOT NULL REFERENCES flight_sales (flight_id) ON DELETE CASCADE,
    api_key_id INTEGER NOT NULL REFERENCES api_keys (id),
    joined_at  TEXT NOT NULL,
    rank       INTEGER NOT NULL,
    slot_ns    INTEGER,
    UNIQUE (flight_id, api_key_id)
);
CREATE INDEX queue_tickets_early_idx ON queue_tickets (flight_id, rank, id) WHERE slot_ns IS NULL;

CREATE TABLE service_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

-- +goose Down
DROP TABLE service_secrets;
DROP TABLE queue_tickets;
DROP TABLE flight_sales;
