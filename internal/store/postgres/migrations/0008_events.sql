-- +goose Up
-- The outbox: every change to a customer's hold, booking, payment outcome or
-- trip writes its event in the transaction that makes the change. seq is
-- write order and tx the writing transaction; pos is commit order, given by
-- the sequencer once tx is certainly over (every transaction still running
-- is newer), and is what readers page by (internal/events explains why).
CREATE TABLE events (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    api_key_id BIGINT NOT NULL,
    type       TEXT NOT NULL,
    flight_id  BIGINT,
    data       JSON NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    tx         XID8 NOT NULL DEFAULT pg_current_xact_id(),
    pos        BIGINT UNIQUE
);
CREATE SEQUENCE events_pos_seq OWNED BY events.pos;
-- The sequencer's queue.
CREATE INDEX events_unsequenced_idx ON events (seq) WHERE pos IS NULL;
-- A customer's feed.
CREATE INDEX events_owner_idx ON events (api_key_id, pos) WHERE pos IS NOT NULL;
-- Retention: rows arrive in created_at order, so a BRIN index finds the old
-- ones at almost no cost per insert.
CREATE INDEX events_created_idx ON events USING brin (created_at);

-- +goose Down
DROP TABLE events;
