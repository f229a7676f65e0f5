-- +goose Up
-- The outbox; see the PostgreSQL migration of the same number. SQLite runs
-- one writer at a time, so write order is commit order and the sequencer
-- gives each event pos = seq.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    api_key_id INTEGER NOT NULL,
    type       TEXT NOT NULL,
    flight_id  INTEGER,
    data       TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    pos        INTEGER UNIQUE
);
CREATE INDEX events_unsequenced_idx ON events (seq) WHERE pos IS NULL;
CREATE INDEX events_owner_idx ON events (api_key_id, pos) WHERE pos IS NOT NULL;
CREATE INDEX events_created_idx ON events (created_at);

-- +goose Down
DROP TABLE events;
