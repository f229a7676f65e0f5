package holds

import (
	"errors"
	"testing"
)

// TestLimitsCheck: each cap refuses exactly past it, 0 is no cap, and the
// seat cap is reported before the active one.
func TestLimitsCheck(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		lim                        Limits
		seats, flightSeats, active int
		want                       *LimitError
	}{
		{Limits{}, 100, 1000, 1000, nil},
		{Limits{SeatsPerFlight: 10}, 3, 7, 50, nil},
		{Limits{SeatsPerFlight: 10}, 4, 7, 0, &LimitError{Limit: 10, Held: 7}},
		{Limits{SeatsPerFlight: 10}, 11, 0, 0, &LimitError{Limit: 10, Held: 0}},
		{Limits{Active: 20}, 10, 100, 19, nil},
		{Limits{Active: 20}, 1, 0, 20, &LimitError{Limit: 20, Held: 20}},
		{Limits{SeatsPerFlight: 2, Active: 1}, 1, 2, 1, &LimitError{Limit: 2, Held: 2}},
	} {
		err := tt.lim.Check(tt.seats, tt.flightSeats, tt.active)
		var got *LimitError
		errors.As(err, &got)
		if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) || (err != nil && got == nil) {
			t.Errorf("%+v.Check(%d, %d, %d) = %v, want %v", tt.lim, tt.seats, tt.flightSeats, tt.active, err, tt.want)
		}
	}
}
