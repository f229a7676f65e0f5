-- +goose Up
-- Holds, bookings and the bookkeeping that makes them exactly-once; the
-- same shape as the PostgreSQL engine. Times as in 0001: fixed-width UTC text.

CREATE TABLE holds (
    id             TEXT PRIMARY KEY,
    api_key_id     INTEGER NOT NULL REFERENCES api_keys (id),
    flight_id      INTEGER NOT NULL REFERENCES flights (id),
    seats          TEXT NOT NULL, -- labels in seat order, comma-separated
    status         TEXT NOT NULL CHECK (status IN ('active', 'booked', 'released', 'expired')),
    total_amount   INTEGER NOT NULL,
    currency       TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    max_expires_at TEXT NOT NULL,
    booking_id     TEXT,
    ended_at       TEXT
);
CREATE INDEX holds_active_expiry_idx ON holds (expires_at) WHERE status = 'active';
CREATE INDEX seats_hold_idx ON seats (hold_id) WHERE hold_id IS NOT NULL;

CREATE TABLE bookings (
    id           TEXT PRIMARY KEY,
    hold_id      TEXT NOT NULL UNIQUE REFERENCES holds (id),
    api_key_id   INTEGER NOT NULL REFERENCES api_keys (id),
    flight_id    INTEGER NOT NULL REFERENCES flights (id),
    seats        TEXT NOT NULL,
    total_amount INTEGER NOT NULL,
    currency     TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('confirmed', 'canceled')),
    created_at   TEXT NOT NULL,
    canceled_at  TEXT
);
CREATE INDEX bookings_owner_idx ON bookings (api_key_id, created_at DESC, id DESC);
CREATE INDEX bookings_flight_idx ON bookings (flight_id);

-- Defence in depth: one seat can never be in two live bookings.
CREATE TABLE booking_seats (
    booking_id TEXT NOT NULL REFERENCES bookings (id),
    flight_id  INTEGER NOT NULL,
    seat       TEXT NOT NULL,
    live       INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (booking_id, seat)
);
CREATE UNIQUE INDEX booking_seats_one_live_idx ON booking_seats (flight_id, seat) WHERE live = 1;

CREATE TABLE payments (
    hold_id     TEXT PRIMARY KEY REFERENCES holds (id),
    flight_id   INTEGER NOT NULL,
    api_key_id  INTEGER NOT NULL,
    booking_id  TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    amount      INTEGER NOT NULL,
    currency    TEXT NOT NULL,
    token       TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'declined', 'completed', 'refunding', 'refunded')),
    charge_id   TEXT,
    refund_id   TEXT,
    lease_until TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX payments_work_idx ON payments (lease_until) WHERE state IN ('pending', 'refunding');

CREATE TABLE seat_events (
    id         INTEGER PRIMARY KEY,
    flight_id  INTEGER NOT NULL,
    seat       TEXT NOT NULL,
    event      TEXT NOT NULL CHECK (event IN ('held', 'released', 'expired', 'booked', 'canceled')),
    hold_id    TEXT,
    booking_id TEXT,
    at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX seat_events_flight_idx ON seat_events (flight_id, id);

-- +goose StatementBegin
CREATE TRIGGER seat_events_no_update BEFORE UPDATE ON seat_events
BEGIN
    SELECT RAISE(ABORT, 'seat_events is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER seat_events_no_delete BEFORE DELETE ON seat_events
BEGIN
    SELECT RAISE(ABORT, 'seat_events is append-only');
END;
-- +goose StatementEnd

CREATE TABLE idempotency_keys (
    api_key_id  INTEGER NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('running', 'done')),
    lease_until TEXT NOT NULL,
    status      INTEGER,
    body        BLOB,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (api_key_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TRIGGER seat_events_no_delete;
DROP TRIGGER seat_events_no_update;
DROP TABLE seat_events;
DROP TABLE payments;
DROP TABLE booking_seats;
DROP TABLE bookings;
DROP INDEX seats_hold_idx;
DROP TABLE holds;
