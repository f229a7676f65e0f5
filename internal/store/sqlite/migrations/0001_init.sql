-- +goose Up
-- Times are TEXT in one fixed-width UTC form, 2006-01-02T15:04:05.000Z, the
-- form strftime('%Y-%m-%dT%H:%M:%fZ', 'now') produces, so that comparing two
-- of them as strings compares them as instants.

CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    digest     BLOB NOT NULL UNIQUE,
    admin      INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    revoked_at TEXT
);

CREATE TABLE flights (
    id          INTEGER PRIMARY KEY,
    number      TEXT NOT NULL,
    origin      TEXT NOT NULL,
    destination TEXT NOT NULL,
    departs_at  TEXT NOT NULL,
    arrives_at  TEXT NOT NULL,
    currency    TEXT NOT NULL,
    seats_total INTEGER NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CHECK (arrives_at > departs_at)
);
CREATE INDEX flights_departs_at_idx ON flights (departs_at, id);
CREATE INDEX flights_route_idx ON flights (origin, destination, departs_at, id);

-- A seat is free when it is not booked and either not held or its hold has
-- expired (held_until <= now): expiry is exact in the predicate that grants it.
CREATE TABLE seats (
    flight_id    INTEGER NOT NULL REFERENCES flights (id),
    label        TEXT NOT NULL,
    row_no       INTEGER NOT NULL,
    letter       TEXT NOT NULL,
    cabin        TEXT NOT NULL CHECK (cabin IN ('economy', 'premium_economy', 'business', 'first')),
    price_amount INTEGER NOT NULL CHECK (price_amount >= 0),
    hold_id      TEXT,
    held_until   TEXT,
    booking_id   TEXT,
    PRIMARY KEY (flight_id, label)
) WITHOUT ROWID;
CREATE INDEX seats_order_idx ON seats (flight_id, row_no, letter);

-- +goose Down
DROP TABLE seats;
DROP TABLE flights;
DROP TABLE api_keys;
