// Package flights holds the inventory we sell ourselves: flights, their seat
// maps and seat prices, with the rules a new flight must satisfy.
package flights

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/validate"
)

// ErrNotFound reports a flight that does not exist.
var ErrNotFound = errors.New("flight not found")

// ErrDeparted reports a flight whose departure time has passed by the
// database's clock: it can no longer be held, booked or canceled.
var ErrDeparted = errors.New("flight has departed")

// Cabin is a class of service.
type Cabin string

// The cabins a seat may belong to.
const (
	Economy        Cabin = "economy"
	PremiumEconomy Cabin = "premium_economy"
	Business       Cabin = "business"
	First          Cabin = "first"
)

// Valid reports whether c is one of the known cabins.
func (c Cabin) Valid() bool {
	switch c {
	case Economy, PremiumEconomy, Business, First:
		return true
	}
	return false
}

// SeatStatus is what a seat looks like to a buyer right now.
type SeatStatus string

// Seat statuses.
const (
	Available SeatStatus = "available"
	Held      SeatStatus = "held"
	Booked    SeatStatus = "booked"
)

// Flight is one departure of our own inventory.
type Flight struct {
	ID             int64
	Number         string
	Origin         string
	Destination    string
	DepartsAt      time.Time
	ArrivesAt      time.Time
	SeatsTotal     int
	SeatsAvailable int
	// LowestPrice is the cheapest available seat, nil when none is available.
	LowestPrice *money.Money
}

// Seat is one seat of a flight's seat map.
type Seat struct {
	Label  string
	Cabin  Cabin
	Price  money.Money
	Status SeatStatus
}

// Filter narrows a flight listing; zero fields match everything.
type Filter struct {
	Origin      string
	Destination string
	// Date matches flights departing on that UTC calendar day.
	Date time.Time
	// IncludeDeparted lists flights that have departed too; by default a
	// listing shows only what can still be sold.
	IncludeDeparted bool
}

// NewSeat describes a seat of a flight being created.
type NewSeat struct {
	Label string
	Cabin Cabin
	Price money.Money
}

// NewFlight is a flight to create, with its full seat map.
type NewFlight struct {
	Number      string
	Origin      string
	Destination string
	DepartsAt   time.Time
	ArrivesAt   time.Time
	Seats       []NewSeat
	// Layout places each cabin's seat letters across the cabin, aisles
	// included; optional, see Layout.
	Layout Layout
}

// MaxSeats bounds the seat map of one flight (the largest airliners seat ~850).
const MaxSeats = 1000

var (
	airportRe = regexp.MustCompile(`^[A-Z]{3}$`)
	numberRe  = regexp.MustCompile(`^[A-Z0-9]{2}[0-9]{1,4}[A-Z]?$`)
	seatRe    = regexp.MustCompile(`^([1-9][0-9]{0,2})([A-Z])$`)
)

// ValidAirport reports whether code looks like an IATA airport code.
func ValidAirport(code string) bool { return airportRe.MatchString(code) }

// ParseSeatLabel splits a label such as "12A" into its row and seat letter.
func ParseSeatLabel(label string) (row int, letter byte, err error) {
	m := seatRe.FindStringSubmatch(label)
	if m == nil {
		return 0, 0, fmt.Errorf("seat label %q is not a row number and a letter, like 12A", label)
	}
	row, _ = strconv.Atoi(m[1])
	return row, m[2][0], nil
}

// Validate checks a new flight and reports every bad field.
func (f NewFlight) Validate() error {
	var errs validate.Errors
	if !numberRe.MatchString(f.Number) {
		errs.Add("number", "must be an airline designator and a flight number, like UA123")
	}
	if !ValidAirport(f.Origin) {
		errs.Add("origin", "must be a three-letter IATA airport code")
	}
	if !ValidAirport(f.Destination) {
		errs.Add("destination", "must be a three-letter IATA airport code")
	} else if f.Destination == f.Origin {
		errs.Add("destination", "must differ from origin")
	}
	if f.DepartsAt.IsZero() {
		errs.Add("departs_at", "is required")
	}
	if f.ArrivesAt.IsZero() {
		errs.Add("arrives_at", "is required")
	} else if !f.DepartsAt.IsZero() && !f.ArrivesAt.After(f.DepartsAt) {
		errs.Add("arrives_at", "must be after departs_at")
	}
	switch {
	case len(f.Seats) == 0:
		errs.Add("seats", "at least one seat is required")
	case len(f.Seats) > MaxSeats:
		errs.Add("seats", fmt.Sprintf("at most %d seats", MaxSeats))
	}
	seen := make(map[string]bool, len(f.Seats))
	currency := ""
	for i, s := range f.Seats {
		field := fmt.Sprintf("seats[%d]", i)
		if _, _, err := ParseSeatLabel(s.Label); err != nil {
			errs.Add(field+".seat", err.Error())
		} else if seen[s.Label] {
			errs.Add("seats", "duplicate label "+s.Label)
		}
		seen[s.Label] = true
		if !s.Cabin.Valid() {
			errs.Add(field+".cabin", "must be one of economy, premium_economy, business, first")
		}
		switch {
		case !money.Known(s.Price.Currency):
			errs.Add(field+".price.currency", fmt.Sprintf("unknown currency %q", s.Price.Currency))
		case currency == "":
			currency = s.Price.Currency
		case s.Price.Currency != currency:
			errs.Add(field+".price.currency", "all seats of a flight share one currency")
		}
		if s.Price.Amount < 0 {
			errs.Add(field+".price.amount", "must not be negative")
		} else if s.Price.Amount > money.MaxAmount {
			// Bounded so that a hold's total, the sum of its seats' prices,
			// cannot overflow.
			errs.Add(field+".price.amount", fmt.Sprintf("must be at most %d", int64(money.MaxAmount)))
		}
	}
	f.Layout.validate(f.Seats, errs.Add)
	return errs.Err()
}

// Normalize upper-cases codes and puts times in UTC.
func (f *NewFlight) Normalize() {
	f.Number = strings.ToUpper(strings.TrimSpace(f.Number))
	f.Origin = strings.ToUpper(strings.TrimSpace(f.Origin))
	f.Destination = strings.ToUpper(strings.TrimSpace(f.Destination))
	f.DepartsAt = f.DepartsAt.UTC()
	f.ArrivesAt = f.ArrivesAt.UTC()
	for i := range f.Seats {
		f.Seats[i].Label = strings.ToUpper(strings.TrimSpace(f.Seats[i].Label))
		f.Seats[i].Price.Currency = strings.ToUpper(f.Seats[i].Price.Currency)
	}
	f.Layout.normalize()
}

// SortSeatLabels returns labels in seat order: by row number, then letter.
// Labels that do not parse sort last, by text.
func SortSeatLabels(labels []string) []string {
	out := slices.Clone(labels)
	slices.SortFunc(out, func(a, b string) int {
		ra, la, ea := ParseSeatLabel(a)
		rb, lb, eb := ParseSeatLabel(b)
		switch {
		case ea != nil || eb != nil:
			if ea == nil {
				return -1
			}
			if eb == nil {
				return 1
			}
			return strings.Compare(a, b)
		case ra != rb:
			return ra - rb
		}
		return int(la) - int(lb)
	})
	return out
}
