package httpapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/trips"
	"github.com/reservd/reservd/internal/validate"
)

// clientError reports whether err is one the API answers with a 4xx.
func clientError(err error) bool {
	var e *Error
	var v validate.Errors
	var tooLarge *http.MaxBytesError
	return errors.As(err, &v) || errors.As(err, &tooLarge) || (errors.As(err, &e) && e.Status >= 400 && e.Status < 500)
}

// fuzzDecode checks that no body makes a decoder panic or fail as a 5xx.
func fuzzDecode[T any](f *testing.F, seeds []string, check func(t *testing.T, v *T)) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		var v T
		if err := decodeJSON(httptest.NewRecorder(), r, &v); err != nil {
			if !clientError(err) {
				t.Fatalf("body %q: error %v is not a client error", body, err)
			}
			return
		}
		check(t, &v)
	})
}

func FuzzDecodeHoldRequest(f *testing.F) {
	fuzzDecode(f, []string{
		`{"flight_id": 1, "seats": ["12A", "12B"]}`, `{"flight_id": 1, "cabin": "economy", "quantity": 2}`,
		`{"flight_id": 1.5}`, `{"seats": null}`, `[]`, ``, `{"flight_id": 1} {}`,
	}, func(t *testing.T, v *holdRequest) {
		hr := holds.Request{Seats: v.Seats, Cabin: "economy", Quantity: v.Quantity}
		if v.FlightID != nil {
			hr.FlightID = *v.FlightID
		}
		if err := hr.Validate(10); err != nil && !clientError(err) {
			t.Fatalf("Validate: %v", err)
		}
	})
}

func FuzzDecodeBookingRequest(f *testing.F) {
	fuzzDecode(f, []string{`{"hold_id": "hld_x", "payment": {"token": "tok_visa"}}`, `{"payment": {}}`, `{"hold_id": 5}`},
		func(t *testing.T, v *bookingRequest) {})
}

func FuzzDecodeFlightRequest(f *testing.F) {
	fuzzDecode(f, []string{
		`{"number": "UA1", "origin": "SFO", "destination": "JFK", "departs_at": "2026-12-24T08:00:00Z", "arrives_at": "2026-12-24T13:00:00Z", "seats": [{"seat": "1A", "cabin": "first", "price": {"amount": 1, "currency": "USD"}}]}`,
		`{"seats": [{"price": {"amount": 1.5}}]}`,
	}, func(t *testing.T, v *newFlightRequest) {})
}

func FuzzDecodeTripRequest(f *testing.F) {
	fuzzDecode(f, []string{
		`{"origin": "SFO", "destination": "JFK", "departure_date": "2030-01-01", "currency": "USD", "passengers": [{"given_name": "A", "family_name": "B", "born_on": "1990-01-01"}]}`,
		`{"passengers": [{}], "max_price": {"amount": -1, "currency": "usd"}}`,
	}, func(t *testing.T, v *trips.Request) {
		if err := v.Validate(testNow); err != nil && !clientError(err) {
			t.Fatalf("Validate: %v", err)
		}
	})
}

// FuzzFlightListQuery checks that no query string makes the listing
// parameters panic or fail as anything but a field error.
func FuzzFlightListQuery(f *testing.F) {
	for _, s := range []string{"limit=5&cursor=eyJ0IjoiMjAyNi0xMi0yNFQwODowMDowMFoiLCJpIjozfQ", "limit=-1", "cursor=%%%", "limit=99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		var errs validate.Errors
		limit, after := pagination(q, &errs)
		if errs.Err() == nil && (limit < 1 || limit > maxLimit || (after != nil && after.ID <= 0)) {
			t.Fatalf("query %q accepted limit %d cursor %+v", raw, limit, after)
		}
	})
}

var testNow = time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
