-- +goose Up
CREATE TABLE api_keys (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL,
    digest     BYTEA NOT NULL UNIQUE,
    admin      BOOLEAN NOT NULL DEFAULT false,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at TIMESTAMPTZ
);

CREATE TABLE flights (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number      TEXT NOT NULL,
    origin      TEXT NOT NULL,
    destination TEXT NOT NULL,
    departs_at  TIMESTAMPTZ NOT NULL,
    arrives_at  TIMESTAMPTZ NOT NULL,
    currency    TEXT NOT NULL,
    seats_total INTEGER NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (arrives_at > departs_at)
);
CREATE INDEX flights_departs_at_idx ON flights (departs_at, id);
CREATE INDEX flights_route_idx ON flights (origin, destination, departs_at, id);

-- A seat is free when it is not booked and either not held or its hold has
-- expired (held_until <= now()): expiry is exact in the predicate that grants
-- it. Every row carries flight_id, the natural shard key.
CREATE TABLE seats (
    flight_id    BIGINT NOT NULL REFERENCES flights (id),
    label        TEXT NOT NULL,
    row_no       INTEGER NOT NULL,
    letter       TEXT NOT NULL,
    cabin        TEXT NOT NULL CHECK (cabin IN ('economy', 'premium_economy', 'business', 'first')),
    price_amount BIGINT NOT NULL CHECK (price_amount >= 0),
    hold_id      TEXT,
    held_until   TIMESTAMPTZ,
    booking_id   TEXT,
    PRIMARY KEY (flight_id, label)
);
CREATE INDEX seats_order_idx ON seats (flight_id, row_no, letter);

-- +goose Down
DROP TABLE seats;
DROP TABLE flights;
DROP TABLE api_keys;
