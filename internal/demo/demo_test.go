package demo

import (
	"testing"
	"time"
)

func TestCatalogueIsValid(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC)
	cat := Catalogue(now)
	if len(cat) != Days*len(routes) {
		t.Fatalf("catalogue has %d flights, want %d", len(cat), Days*len(routes))
	}
	for _, f := range cat {
		if err := f.Validate(); err != nil {
			t.Errorf("%s on %s: %v", f.Number, f.DepartsAt, err)
		}
		if !f.DepartsAt.After(now) {
			t.Errorf("%s departs %s, not after now %s", f.Number, f.DepartsAt, now)
		}
		if len(f.Seats) != 3*4+21*6 {
			t.Errorf("%s has %d seats, want %d", f.Number, len(f.Seats), 3*4+21*6)
		}
	}
}
