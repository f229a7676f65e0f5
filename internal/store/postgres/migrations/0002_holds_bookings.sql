-- +goose Up
-- Holds, bookings and the bookkeeping that makes them exactly-once. Every
-- table that holds inventory carries flight_id, the natural shard key.

CREATE TABLE holds (
    id             TEXT PRIMARY KEY,
    api_key_id     BIGINT NOT NULL REFERENCES api_keys (id),
    flight_id      BIGINT NOT NULL REFERENCES flights (id),
    seats          TEXT NOT NULL, -- labels in seat order, comma-separated
    status         TEXT NOT NULL CHECK (status IN ('active', 'booked', 'released', 'expired')),
    total_amount   BIGINT NOT NULL,
    currency       TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at     TIMESTAMPTZ NOT NULL,
    max_expires_at TIMESTAMPTZ NOT NULL,
    booking_id     TEXT,
    ended_at       TIMESTAMPTZ
);
-- The sweeper's queue: active holds by expiry.
CREATE INDEX holds_active_expiry_idx ON holds (expires_at) WHERE status = 'active';
CREATE INDEX seats_hold_idx ON seats (hold_id) WHERE hold_id IS NOT NULL;

CREATE TABLE bookings (
    id           TEXT PRIMARY KEY,
    hold_id      TEXT NOT NULL UNIQUE REFERENCES holds (id),
    api_key_id   BIGINT NOT NULL REFERENCES api_keys (id),
    flight_id    BIGINT NOT NULL REFERENCES flights (id),
    seats        TEXT NOT NULL,
    total_amount BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('confirmed', 'canceled')),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    canceled_at  TIMESTAMPTZ
);
CREATE INDEX bookings_owner_idx ON bookings (api_key_id, created_at DESC, id DESC);
CREATE INDEX bookings_flight_idx ON bookings (flight_id);

-- Defence in depth: whatever a code path does, one seat can never be in two
-- live bookings.
CREATE TABLE booking_seats (
    booking_id TEXT NOT NULL REFERENCES bookings (id),
    flight_id  BIGINT NOT NULL,
    seat       TEXT NOT NULL,
    live       BOOLEAN NOT NULL DEFAULT true,
    PRIMARY KEY (booking_id, seat)
);
CREATE UNIQUE INDEX booking_seats_one_live_idx ON booking_seats (flight_id, seat) WHERE live;

-- The durable record of a phased booking: intent, charge, booking (and refund).
CREATE TABLE payments (
    hold_id     TEXT PRIMARY KEY REFERENCES holds (id),
    flight_id   BIGINT NOT NULL,
    api_key_id  BIGINT NOT NULL,
    booking_id  TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    amount      BIGINT NOT NULL,
    currency    TEXT NOT NULL,
    token       TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'declined', 'completed', 'refunding', 'refunded')),
    charge_id   TEXT,
    refund_id   TEXT,
    lease_until TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX payments_work_idx ON payments (lease_until) WHERE state IN ('pending', 'refunding');

-- Append-only history of every seat status change, in database time.
CREATE TABLE seat_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flight_id  BIGINT NOT NULL,
    seat       TEXT NOT NULL,
    event      TEXT NOT NULL CHECK (event IN ('held', 'released', 'expired', 'booked', 'canceled')),
    hold_id    TEXT,
    booking_id TEXT,
    at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX seat_events_flight_idx ON seat_events (flight_id, id);

-- +goose StatementBegin
CREATE FUNCTION seat_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'seat_events is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER seat_events_no_rewrite BEFORE UPDATE OR DELETE ON seat_events
    FOR EACH ROW EXECUTE FUNCTION seat_events_append_only();

CREATE TABLE idempotency_keys (
    api_key_id  BIGINT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('running', 'done')),
    lease_until TIMESTAMPTZ NOT NULL,
    status      INTEGER,
    body        BYTEA,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (api_key_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TRIGGER seat_events_no_rewrite ON seat_events;
DROP FUNCTION seat_events_append_only();
DROP TABLE seat_events;
DROP TABLE payments;
DROP TABLE booking_seats;
DROP TABLE bookings;
DROP INDEX seats_hold_idx;
DROP TABLE holds;
