package flights

import (
	"strings"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/money"
)

func TestDefaultCabinLayout(t *testing.T) {
	for letters, want := range map[string]string{
		"FEDCBA": "ABC DEF", "ACDF": "AC DF", "AAF": "A F", "A": "A", "": "", "ABCDEFGHJ": "ABCD EFGHJ",
	} {
		if got := DefaultCabinLayout([]byte(letters)); got != want {
			t.Errorf("DefaultCabinLayout(%q) = %q, want %q", letters, got, want)
		}
	}
	l := Layout{Economy: "AB CD EF"}
	if got := l.CabinLayout(Economy, []byte("ABCDEF")); got != "AB CD EF" {
		t.Errorf("stated layout = %q", got)
	}
	if got := l.CabinLayout(Business, []byte("ACDF")); got != "AC DF" {
		t.Errorf("default business layout = %q", got)
	}
}

func layoutFlight(layout Layout) NewFlight {
	dep := time.Date(2026, 12, 24, 8, 0, 0, 0, time.UTC)
	f := NewFlight{Number: "RV1", Origin: "SFO", Destination: "JFK", DepartsAt: dep, ArrivesAt: dep.Add(time.Hour), Layout: layout}
	for _, l := range []string{"10A", "10B", "10C", "10D"} {
		f.Seats = append(f.Seats, NewSeat{Label: l, Cabin: Economy, Price: money.Money{Amount: 100, Currency: "USD"}})
	}
	return f
}

func TestLayoutValidate(t *testing.T) {
	ok := layoutFlight(Layout{Economy: " ab   cd "})
	ok.Normalize()
	if err := ok.Validate(); err != nil || ok.Layout[Economy] != "AB CD" {
		t.Fatalf("Validate(%q) = %v, want nil and \"AB CD\"", ok.Layout[Economy], err)
	}
	if err := layoutFlight(nil).Validate(); err != nil {
		t.Fatalf("no layout: %v", err)
	}
	for name, tc := range map[string]struct {
		layout Layout
		want   string
	}{
		"unknown cabin":  {Layout{"coach": "AB CD"}, "is not a cabin"},
		"empty cabin":    {Layout{Business: "AB CD"}, "no seat of the flight"},
		"bad characters": {Layout{Economy: "AB|CD"}, "seat letters across the cabin"},
		"letter twice":   {Layout{Economy: "AB CDA"}, "letter A appears twice"},
		"letter missing": {Layout{Economy: "AB C"}, "does not place seat letters D"},
	} {
		f := layoutFlight(tc.layout)
		f.Normalize()
		err := f.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate = %v, want an error containing %q", name, err, tc.want)
		}
	}
}
