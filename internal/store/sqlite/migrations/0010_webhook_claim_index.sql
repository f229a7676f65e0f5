-- +goose Up
-- The claim takes each endpoint's oldest due pending deliveries up to its
-- room (package webhook): through this index, an endpoint without room or
-- work costs nothing, however long another endpoint's backlog. The
-- queue-wide webhook_deliveries_due_idx of 0009 is no longer used by this
-- release but stays while the previous one may still run (migrations only
-- expand); a later release drops it.
CREATE INDEX webhook_deliveries_endpoint_due_idx ON webhook_deliveries (endpoint_id, next_attempt_at) WHERE status = 'pending';

-- +goose Down
DROP INDEX webhook_deliveries_endpoint_due_idx;
