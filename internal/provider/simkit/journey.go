package simkit

import (
	"time"
)

// Fares by passenger type, in percent of the adult fare: what every
// simulator charges a child (2 to 11, with a seat) and an infant (under 2,
// on an adult's lap).
const (
	ChildFarePercent  = 75
	InfantFarePercent = 10
)

// Passenger types, as the simulators name them among themselves.
const (
	Adult  = "adult"
	Child  = "child"
	Infant = "infant"
)

// Party is who travels on an offer.
type Party struct{ Adults, Children, Infants int }

// Valid reports a party a provider sells to: at least one adult, at most 9
// seats, no more infants than adults.
func (p Party) Valid() bool {
	return p.Adults >= 1 && p.Children >= 0 && p.Infants >= 0 && p.Adults+p.Children <= 9 && p.Infants <= p.Adults
}

// Types lists the party's passenger types: adults, then children, then infants.
func (p Party) Types() []string {
	out := make([]string, 0, p.Adults+p.Children+p.Infants)
	for range p.Adults {
		out = append(out, Adult)
	}
	for range p.Children {
		out = append(out, Child)
	}
	for range p.Infants {
		out = append(out, Infant)
	}
	return out
}

// Total is what the party pays for a journey whose adult fare is adultFare.
func (p Party) Total(adultFare int64) int64 {
	var sum int64
	for _, t := range p.Types() {
		sum += FareFor(adultFare, t)
	}
	return sum
}

// FareFor is one passenger's fare of type t given the adult fare.
func FareFor(adultFare int64, t string) int64 {
	switch t {
	case Child:
		return adultFare * ChildFarePercent / 100
	case Infant:
		return adultFare * InfantFarePercent / 100
	}
	return adultFare
}

// Journey is the flights of one offer: the outbound flight, and the return
// flight of a round trip.
type Journey []Flight

// Fare is the journey's adult fare: the sum of its flights' fares.
func (j Journey) Fare() int64 {
	var sum int64
	for _, f := range j {
		sum += f.Amount
	}
	return sum
}

// Journeys returns the offers' flights for a search: one journey per
// outbound flight of Inventory, and for a round trip (ret not zero) each
// paired with a return flight of the inventory from destination on ret
// that leaves after the outbound flight lands. The same search gets the
// same journeys every time.
func Journeys(provider string, carriers []string, origin, destination string, date, ret time.Time) []Journey {
	out := Inventory(provider, carriers, origin, destination, date)
	journeys := make([]Journey, 0, len(out))
	if ret.IsZero() {
		for _, f := range out {
			journeys = append(journeys, Journey{f})
		}
		return journeys
	}
	back := Inventory(provider, carriers, destination, origin, ret)
	for i, f := range out {
		for k := range back {
			b := back[(i+k)%len(back)]
			if b.DepartsAt.After(f.ArrivesAt.Add(time.Hour)) {
				journeys = append(journeys, Journey{f, b})
				break
			}
		}
	}
	return journeys
}

// FindJourney returns the journey of a search whose outbound flight has
// index out; ok is false when there is none.
func FindJourney(provider string, carriers []string, origin, destination string, date, ret time.Time, out int) (Journey, bool) {
	for _, j := range Journeys(provider, carriers, origin, destination, date, ret) {
		if j[0].Index == out {
			return j, true
		}
	}
	return nil, false
}
