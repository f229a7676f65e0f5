-- +goose Up
-- Endpoints' stream positions and leases; see the PostgreSQL migration of
-- the same number.
ALTER TABLE webhook_endpoints ADD COLUMN stream_pos INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN stream_claims INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN stream_lease_until TEXT;
UPDATE webhook_endpoints SET stream_pos = (SELECT last_pos FROM webhook_fanout WHERE id = 1);

-- +goose Down
ALTER TABLE webhook_endpoints DROP COLUMN stream_lease_until;
ALTER TABLE webhook_endpoints DROP COLUMN stream_claims;
ALTER TABLE webhook_endpoints DROP COLUMN stream_pos;
