-- +goose Up
-- Flash sales behind a waiting room (package waitroom). next_slot_ns is the
-- next free admission slot for a late arrival (Unix nanoseconds; NULL until
-- the first one joins); every join locks the sale row first.
CREATE TABLE flight_sales (
    flight_id        BIGINT PRIMARY KEY REFERENCES flights (id),
    opens_at         TIMESTAMPTZ NOT NULL,
    admit_per_second INTEGER NOT NULL CHECK (admit_per_second > 0),
    admission_ttl_ms BIGINT NOT NULL CHECK (admission_ttl_ms > 0),
    next_slot_ns     BIGINT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One ticket per customer per flight. An early arrival (slot_ns IS NULL)
-- is ordered by its random rank; a late one has its slot fixed at join.
CREATE TABLE queue_tickets (
    id         TEXT PRIMARY KEY,
    flight_id  BIGINT NOT NULL REFERENCES flight_sales (flight_id) ON DELETE CASCADE,
    api_key_id BIGINT NOT NULL REFERENCES api_keys (id),
    joined_at  TIMESTAMPTZ NOT NULL,
    rank       BIGINT NOT NULL,
    slot_ns    BIGINT,
    UNIQUE (flight_id, api_key_id)
);
CREATE INDEX queue_tickets_early_idx ON queue_tickets (flight_id, rank, id) WHERE slot_ns IS NULL;

-- Secrets the service generates once and every replica shares.
CREATE TABLE service_secrets (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

-- +goose Down
DROP TABLE service_secrets;
DROP TABLE queue_tickets;
DROP TABLE flight_sales;
