-- +goose Up
-- When a request last authenticated with each key; see the PostgreSQL
-- migration of the same number.
ALTER TABLE api_keys ADD COLUMN last_used_at TEXT;

-- +goose Down
ALTER TABLE api_keys DROP COLUMN last_used_at;
