-- +goose Up
-- Trips may be canceled; see the PostgreSQL migration of the same number.
-- SQLite cannot change a CHECK constraint, so the table is rebuilt (nothing
-- references trips).
CREATE TABLE trips_new (
    id          TEXT PRIMARY KEY,
    api_key_id  INTEGER NOT NULL REFERENCES api_keys (id),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'failed', 'canceled')),
    state       TEXT NOT NULL,
    lease_until TEXT NOT NULL,
    claims      INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO trips_new SELECT id, api_key_id, status, state, lease_until, claims, created_at, updated_at FROM trips;
DROP TABLE trips;
ALTER TABLE trips_new RENAME TO trips;
CREATE INDEX trips_pending_idx ON trips (lease_until) WHERE status = 'pending';

-- +goose Down
CREATE TABLE trips_old (
    id          TEXT PRIMARY KEY,
    api_key_id  INTEGER NOT NULL REFERENCES api_keys (id),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'failed')),
    state       TEXT NOT NULL,
    lease_until TEXT NOT NULL,
    claims      INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO trips_old SELECT id, api_key_id, CASE status WHEN 'canceled' THEN 'confirmed' ELSE status END,
    state, lease_until, claims, created_at, updated_at FROM trips;
DROP TABLE trips;
ALTER TABLE trips_old RENAME TO trips;
CREATE INDEX trips_pending_idx ON trips (lease_until) WHERE status = 'pending';
