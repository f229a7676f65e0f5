package trips

import (
	"strings"
	"testing"
	"time"
)

func day(s string) time.Time {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestPassengerType(t *testing.T) {
	dep := day("2036-06-15")
	for _, c := range []struct {
		born string
		want string
		age  int
	}{
		{"2034-06-16", Infant, 1}, // 2 the day after departure
		{"2034-06-15", Child, 2},  // 2 on the departure date
		{"2024-06-16", Child, 11},
		{"2024-06-15", Adult, 12},
		{"1980-01-01", Adult, 56},
		{"2036-01-01", Infant, 0},
		{"2032-02-29", Child, 4},
	} {
		if got := PassengerType(day(c.born), dep); got != c.want {
			t.Errorf("born %s: type %s, want %s", c.born, got, c.want)
		}
		if got := AgeOn(day(c.born), dep); got != c.age {
			t.Errorf("born %s: age %d, want %d", c.born, got, c.age)
		}
	}
	// Born on 29 February: 12 on 1 March of a common year, not before.
	if got := AgeOn(day("2024-02-29"), day("2036-02-28")); got != 11 {
		t.Errorf("leapling on 28 Feb: %d", got)
	}
	if got := AgeOn(day("2024-02-29"), day("2035-03-01")); got != 11 {
		t.Errorf("leapling on 1 Mar 2035: %d, want 11", got)
	}
	if got := AgeOn(day("2023-02-28"), day("2035-02-28")); got != 12 {
		t.Errorf("28 Feb birthday: %d, want 12", got)
	}
}

func TestValidateParty(t *testing.T) {
	today := day("2035-12-01")
	pax := func(born ...string) []Passenger {
		var out []Passenger
		for _, b := range born {
			out = append(out, Passenger{GivenName: "A", FamilyName: "B", BornOn: b})
		}
		return out
	}
	base := Request{Origin: "SFO", Destination: "JFK", DepartureDate: "2036-06-15", Currency: "USD"}
	for _, c := range []struct {
		name, ret string
		pax       []Passenger
		field     string // "" for valid
	}{
		{"one way adult", "", pax("1980-01-01"), ""},
		{"round trip family", "2036-06-22", pax("1980-01-01", "1982-01-01", "2030-01-01", "2035-09-01"), ""},
		{"same-day return", "2036-06-15", pax("1980-01-01"), ""},
		{"return before departure", "2036-06-14", pax("1980-01-01"), "return_date"},
		{"bad return", "22/06/2036", pax("1980-01-01"), "return_date"},
		{"return too far", "2038-06-22", pax("1980-01-01"), "return_date"},
		{"infants over adults", "", pax("1980-01-01", "2035-09-01", "2035-10-01"), "passengers"},
		{"no adult", "", pax("2030-01-01"), "passengers"},
	} {
		r := base
		r.ReturnDate, r.Passengers = c.ret, c.pax
		err := r.Validate(today)
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: error %v, want one about %s", c.name, err, c.field)
		}
	}
	r := base
	r.Passengers = pax("1980-01-01", "2035-09-01", "2030-01-01", "1990-05-05")
	a, ch, inf, ages := r.Party()
	if a != 2 || ch != 1 || inf != 1 || len(ages) != 2 || ages[0] != 6 || ages[1] != 0 {
		t.Errorf("Party = %d %d %d %v", a, ch, inf, ages)
	}
}
