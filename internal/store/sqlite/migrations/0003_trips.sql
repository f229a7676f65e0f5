-- +goose Up
-- Third-party bookings; see the PostgreSQL migration of the same number.
CREATE TABLE trips (
    id          TEXT PRIMARY KEY,
    api_key_id  INTEGER NOT NULL REFERENCES api_keys (id),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'failed')),
    state       TEXT NOT NULL,
    lease_until TEXT NOT NULL,
    claims      INTEGER NOT NULL DEFAULT 0, -- fencing token: bumped by every claim
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX trips_pending_idx ON trips (lease_until) WHERE status = 'pending';

-- +goose Down
DROP TABLE trips;
