-- +goose Up
-- Each cabin's seats across the cabin, aisles included; see the PostgreSQL
-- migration of the same number.
CREATE TABLE cabin_layouts (
    flight_id INTEGER NOT NULL REFERENCES flights (id),
    cabin     TEXT NOT NULL CHECK (cabin IN ('economy', 'premium_economy', 'business', 'first')),
    seats     TEXT NOT NULL,
    PRIMARY KEY (flight_id, cabin)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE cabin_layouts;
