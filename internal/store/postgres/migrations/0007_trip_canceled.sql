-- +goose Up
-- A confirmed trip can be canceled at its provider; the cancellation in
-- progress and the refund live in the state document.
-- contract: the status check is replaced by a wider one (it adds 'canceled'), so nothing the
-- previous release writes is refused; that release reads a canceled trip's status as stored.
ALTER TABLE trips DROP CONSTRAINT trips_status_check;
ALTER TABLE trips ADD CONSTRAINT trips_status_check CHECK (status IN ('pending', 'confirmed', 'failed', 'canceled'));

-- +goose Down
UPDATE trips SET status = 'confirmed' WHERE status = 'canceled';
ALTER TABLE trips DROP CONSTRAINT trips_status_check;
ALTER TABLE trips ADD CONSTRAINT trips_status_check CHECK (status IN ('pending', 'confirmed', 'failed'));
