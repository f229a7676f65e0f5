package trips

import (
	"fmt"
	"time"
)

// Passenger types.
const (
	Adult  = "adult"
	Child  = "child"
	Infant = "infant" // under 2, on an adult's lap, without a seat
)

// A passenger's type follows from their date of birth and the trip's
// departure date (the outbound flight's, for a round trip too), in whole
// years on that date: an infant is under 2 and travels on an adult's lap
// without a seat, a child is 2 to 11, an adult 12 or older (the IATA
// age bands the providers price by). Someone born on 29 February has their
// birthday on 1 March in a year without one.

// AgeOn is the age in whole years on day of someone born on bornOn.
func AgeOn(bornOn, day time.Time) int {
	age := day.Year() - bornOn.Year()
	d := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	if d.Before(birthdayOn(bornOn, day.Year())) {
		age--
	}
	return max(age, 0)
}

// birthdayOn is the birthday of someone born on bornOn in year.
func birthdayOn(bornOn time.Time, year int) time.Time {
	// time.Date normalizes 29 February of a common year to 1 March.
	return time.Date(year, bornOn.Month(), bornOn.Day(), 0, 0, 0, 0, time.UTC)
}

// PassengerType is Adult, Child or Infant for
// someone born on bornOn who departs on departure.
func PassengerType(bornOn, departure time.Time) string {
	switch age := AgeOn(bornOn, departure); {
	case age < 2:
		return Infant
	case age < 12:
		return Child
	}
	return Adult
}

func typeIndex(t string) int {
	switch t {
	case Child:
		return 1
	case Infant:
		return 2
	}
	return 0
}

// CheckParty says what is wrong with a party of travellers, or "": at least
// one adult, at most MaxPassengers with a seat, and no more infants than
// adults (each infant travels on an adult's lap).
func CheckParty(adults, children, infants int) string {
	switch {
	case adults < 1:
		return "at least one adult (12 or older on the departure date) is required"
	case infants > adults:
		return fmt.Sprintf("%d infants (under 2 on the departure date) need as many adults, not %d: each travels on an adult's lap", infants, adults)
	case adults+children > MaxPassengers:
		return fmt.Sprintf("at most %d passengers with a seat", MaxPassengers)
	}
	return ""
}

// CheckReturn says what is wrong with a round trip's return date given its
// departure date and today, or "": not before the departure, and within
// MaxDaysAhead from today.
func CheckReturn(departure, ret, today time.Time) string {
	if ret.Before(departure) {
		return "must not be before departure_date"
	}
	return CheckDeparture(ret, today)
}

// Party is a trip's travellers as a search asks for them: adults, children
// and infants, with the children's then the infants' ages.
func (r Request) Party() (adults, children, infants int, ages []int) {
	dep, err := ParseDate(r.DepartureDate)
	if err != nil {
		return len(r.Passengers), 0, 0, nil
	}
	var kids, babies []int
	for _, p := range r.Passengers {
		b, err := ParseDate(p.BornOn)
		if err != nil {
			adults++
			continue
		}
		switch PassengerType(b, dep) {
		case Child:
			kids = append(kids, AgeOn(b, dep))
		case Infant:
			babies = append(babies, AgeOn(b, dep))
		default:
			adults++
		}
	}
	return adults, len(kids), len(babies), append(kids, babies...)
}
