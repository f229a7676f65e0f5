-- +goose Up
-- Third-party bookings. The request, attempts and the order call in flight
-- are one JSON document; status and lease are columns because workers
-- claim pending trips by them.
CREATE TABLE trips (
    id          TEXT PRIMARY KEY,
    api_key_id  BIGINT NOT NULL REFERENCES api_keys (id),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'failed')),
    state       JSONB NOT NULL,
    lease_until TIMESTAMPTZ NOT NULL,
    claims      BIGINT NOT NULL DEFAULT 0, -- fencing token: bumped by every claim
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX trips_pending_idx ON trips (lease_until) WHERE status = 'pending';

-- +goose Down
DROP TABLE trips;
