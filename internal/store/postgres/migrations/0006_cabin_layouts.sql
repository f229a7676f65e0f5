-- +goose Up
-- Where each cabin's seat letters stand across the cabin, aisles included
-- ("ABC DEF"), as POST /flights states it: the best-available picker keeps a
-- group on one side of an aisle. A cabin without a row here gets the default
-- layout of its letters (flights.DefaultCabinLayout), which is also what
-- flights created before this migration get.
CREATE TABLE cabin_layouts (
    flight_id BIGINT NOT NULL REFERENCES flights (id),
    cabin     TEXT NOT NULL CHECK (cabin IN ('economy', 'premium_economy', 'business', 'first')),
    seats     TEXT NOT NULL,
    PRIMARY KEY (flight_id, cabin)
);

-- +goose Down
DROP TABLE cabin_layouts;
