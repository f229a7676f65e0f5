// Package demo builds the small catalogue an empty embedded database starts
// with, so that a newcomer's first `go run ./cmd/reservd` has something to
// sell, and sells again when a returning user finds every flight departed.
package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/store"
)

type route struct {
	number, origin, destination string
	departHourUTC               int
	duration                    time.Duration
	currency                    string
	economy, business           int64 // base fares in minor units
}

var routes = []route{
	{"RV100", "SFO", "JFK", 15, 5*time.Hour + 35*time.Minute, "USD", 12900, 89900},
	{"RV101", "JFK", "SFO", 13, 6*time.Hour + 25*time.Minute, "USD", 13900, 92900},
	{"RV200", "SFO", "LAX", 16, 1*time.Hour + 25*time.Minute, "USD", 6900, 29900},
	{"RV201", "LAX", "SFO", 19, 1*time.Hour + 30*time.Minute, "USD", 6900, 29900},
	{"RV300", "JFK", "LHR", 23, 7*time.Hour + 5*time.Minute, "USD", 45900, 329900},
	{"RV301", "LHR", "JFK", 10, 8*time.Hour + 10*time.Minute, "GBP", 39900, 279900},
}

// Days is how many days ahead the catalogue covers.
const Days = 7

// Catalogue returns the demo flights for the Days days after today (UTC):
// each has three business rows (1–3, seats AC DF) and twenty-one economy
// rows (10–30, seats ABC DEF; a space is the aisle), the first economy rows
// and exit row 14 priced higher.
func Catalogue(now time.Time) []flights.NewFlight {
	today := now.UTC().Truncate(24 * time.Hour)
	var out []flights.NewFlight
	for day := 1; day <= Days; day++ {
		for _, r := range routes {
			dep := today.AddDate(0, 0, day).Add(time.Duration(r.departHourUTC) * time.Hour)
			f := flights.NewFlight{
				Number: r.number, Origin: r.origin, Destination: r.destination,
				DepartsAt: dep, ArrivesAt: dep.Add(r.duration),
				// Both cabins have one aisle down the middle: stated, so
				// that best available keeps a pair on one side of it.
				Layout: flights.Layout{flights.Business: "AC DF", flights.Economy: "ABC DEF"},
			}
			for row := 1; row <= 3; row++ {
				for _, l := range "ACDF" {
					f.Seats = append(f.Seats, seat(row, l, flights.Business, r.business, r.currency))
				}
			}
			for row := 10; row <= 30; row++ {
				fare := r.economy
				if row <= 12 || row == 14 {
					fare += r.economy / 5 // extra legroom
				}
				for _, l := range "ABCDEF" {
					f.Seats = append(f.Seats, seat(row, l, flights.Economy, fare, r.currency))
				}
			}
			out = append(out, f)
		}
	}
	return out
}

func seat(row int, letter rune, cabin flights.Cabin, amount int64, currency string) flights.NewSeat {
	return flights.NewSeat{Label: fmt.Sprintf("%d%c", row, letter), Cabin: cabin, Price: money.Money{Amount: amount, Currency: currency}}
}

// Seed loads the catalogue into st and returns how many flights it created.
func Seed(ctx context.Context, st store.Store, now time.Time) (int, error) {
	cat := Catalogue(now)
	for _, f := range cat {
		if err := f.Validate(); err != nil {
			return 0, fmt.Errorf("demo flight %s: %w", f.Number, err)
		}
		if _, err := st.FlightCreate(ctx, f); err != nil {
			return 0, fmt.Errorf("seed demo flight %s: %w", f.Number, err)
		}
	}
	return len(cat), nil
}

// Ensure keeps something to sell in st: when no flight is still to depart
// (the catalogue is empty, or a returning user's demo week has passed and
// every flight has departed), it seeds the catalogue for the Days days
// after now and returns how many flights it created; otherwise it creates
// nothing. Departed flights stay, with their bookings, as history (listed
// with include_departed=true); new ones are added beside them rather than
// moved, since a flight that has been sold must not change its time.
func Ensure(ctx context.Context, st store.Store, now time.Time) (int, error) {
	// FlightList leaves departed flights out by the database's clock.
	upcoming, err := st.FlightList(ctx, store.FlightListParams{Limit: 1})
	if err != nil {
		return 0, fmt.Errorf("demo catalogue: %w", err)
	}
	if len(upcoming) > 0 {
		return 0, nil
	}
	return Seed(ctx, st, now)
}
