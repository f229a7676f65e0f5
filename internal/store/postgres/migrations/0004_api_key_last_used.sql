-- +goose Up
-- When a request last authenticated with each key, for `reservd keys list`.
-- Replicas keep uses in memory and flush them at most once per key per
-- minute, so a request never writes this row.
ALTER TABLE api_keys ADD COLUMN last_used_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE api_keys DROP COLUMN last_used_at;
