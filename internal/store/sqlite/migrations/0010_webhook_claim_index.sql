-- +goose Up
-- The claim takes each endpoint's oldest due pending deliveries up to its
-- room (package webhook): through this index, an endpoint without room or
-- work costs nothing, however long another endpoint's backlog. It replaces
-- the queue-wide due index, which nothing orders by any more.
CREATE INDEX webhook_deliveries_endpoint_due_idx ON webhook_deliveries (endpoint_id, next_attempt_at) WHERE status = 'pending';
DROP INDEX webhook_deliveries_due_idx;

-- +goose Down
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
DROP INDEX webhook_deliveries_endpoint_due_idx;
