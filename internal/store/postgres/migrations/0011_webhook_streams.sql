-- +goose Up
-- First attempts are sent from the event feed: each endpoint keeps its
-- stream position (the last events.pos sent to it) and a lease on the
-- stream (stream_claims numbers the leases; only the latest may record).
-- Endpoints carry on from the fan-out cursor of 0009: every event up to it
-- already has its delivery rows. webhook_fanout is no longer used by this
-- release but stays while the previous one may still run (migrations only
-- expand); while both run, an event may reach an endpoint twice, which
-- delivery at least once allows.
ALTER TABLE webhook_endpoints ADD COLUMN stream_pos BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN stream_claims INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN stream_lease_until TIMESTAMPTZ;
UPDATE webhook_endpoints SET stream_pos = (SELECT last_pos FROM webhook_fanout WHERE id = 1);

-- +goose Down
ALTER TABLE webhook_endpoints DROP COLUMN stream_lease_until;
ALTER TABLE webhook_endpoints DROP COLUMN stream_claims;
ALTER TABLE webhook_endpoints DROP COLUMN stream_pos;
