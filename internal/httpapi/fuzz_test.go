package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/trips"
	"github.com/reservd/reservd/internal/validate"
)

// Fuzz targets for the request decoders and query parsers, called directly.
// Seeds are in testdata/fuzz/<target>/ (the API.md examples and edge cases);
// fuzz_http_test.go drives the listing endpoints through the whole handler.

// wantDecodeError checks an error of decodeJSON: a 400 invalid_json with a
// message, or the 413 of an oversized body; anything else would be a 5xx.
func wantDecodeError(t *testing.T, body []byte, err error) {
	t.Helper()
	var e *Error
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
	case errors.As(err, &e) && e.Status == http.StatusBadRequest && e.Code == "invalid_json" && e.Message != "":
	default:
		t.Fatalf("body %q: error %#v is not a 400 invalid_json", body, err)
	}
}

// wantFieldErrors checks that a validation error is validate.Errors naming
// fields, which the API answers with 422 invalid_request.
func wantFieldErrors(t *testing.T, what string, err error) {
	t.Helper()
	var v validate.Errors
	if !errors.As(err, &v) || len(v) == 0 {
		t.Fatalf("%s: error %#v is not validate.Errors", what, err)
	}
	if e := publicError(err); e.Status != http.StatusUnprocessableEntity || e.Code != "invalid_request" {
		t.Fatalf("%s: %v answers %d %s, want 422 invalid_request", what, err, e.Status, e.Code)
	}
}

func decode(body []byte, dst any) error {
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	return decodeJSON(httptest.NewRecorder(), r, dst)
}

// fuzzDecode checks that decodeJSON never panics, refuses bad bodies with a
// 400 invalid_json, and that what it accepts is valid JSON whose decoded
// value encodes and decodes back to itself; check, if any, then asserts the
// handler's own validation of the value.
func fuzzDecode[T any](f *testing.F, check func(t *testing.T, v *T)) {
	f.Fuzz(func(t *testing.T, body []byte) {
		var v T
		if err := decode(body, &v); err != nil {
			wantDecodeError(t, body, err)
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted a body that is not JSON: %q", body)
		}
		b, err := json.Marshal(&v)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", v, err)
		}
		var back T
		if err := decode(b, &back); err != nil || !reflect.DeepEqual(back, v) {
			t.Fatalf("round trip of %q: %s decodes to %+v, %v; want %+v", body, b, back, err, v)
		}
		if check != nil {
			check(t, &v)
		}
	})
}

// FuzzDecodeHoldRequest: POST /holds.
func FuzzDecodeHoldRequest(f *testing.F) {
	const maxSeats = 10
	fuzzDecode(f, func(t *testing.T, v *holdRequest) {
		hr := holds.Request{Seats: v.Seats, Cabin: flights.Cabin(v.Cabin), Quantity: v.Quantity}
		if v.FlightID != nil {
			hr.FlightID = *v.FlightID
		}
		if err := hr.Validate(maxSeats); err != nil {
			wantFieldErrors(t, "hold", err)
			return
		}
		if hr.FlightID <= 0 {
			t.Fatalf("accepted flight_id %d", hr.FlightID)
		}
		if len(hr.Seats) > 0 {
			if len(hr.Seats) > maxSeats || hr.Cabin != "" || hr.Quantity != 0 {
				t.Fatalf("accepted %+v", hr)
			}
			seen := map[string]bool{}
			for _, s := range hr.Seats {
				if _, _, err := flights.ParseSeatLabel(s); err != nil || seen[s] {
					t.Fatalf("accepted seat %q of %q", s, hr.Seats)
				}
				seen[s] = true
			}
		} else if !hr.Cabin.Valid() || hr.Quantity < 1 || hr.Quantity > maxSeats {
			t.Fatalf("accepted %+v", hr)
		}
		// Validation normalizes; what it accepted, it accepts again unchanged.
		again := hr
		again.Seats = append([]string(nil), hr.Seats...)
		if err := again.Validate(maxSeats); err != nil || !reflect.DeepEqual(again, hr) {
			t.Fatalf("normalized %+v revalidates as %+v, %v", hr, again, err)
		}
	})
}

// FuzzDecodeBookingRequest: POST /bookings.
func FuzzDecodeBookingRequest(f *testing.F) {
	fuzzDecode[bookingRequest](f, nil)
}

// FuzzDecodeFlightRequest: POST /flights (admin), through the handler's
// own parsing of times and the domain validation.
func FuzzDecodeFlightRequest(f *testing.F) {
	fuzzDecode(f, func(t *testing.T, req *newFlightRequest) {
		nf, err := req.flight()
		if err != nil {
			wantFieldErrors(t, "flight", err)
			return
		}
		if !flights.ValidAirport(nf.Origin) || !flights.ValidAirport(nf.Destination) || nf.Origin == nf.Destination ||
			!nf.ArrivesAt.After(nf.DepartsAt) || nf.DepartsAt.Location() != time.UTC || len(nf.Seats) == 0 {
			t.Fatalf("accepted %+v", nf)
		}
		for _, s := range nf.Seats {
			if _, _, err := flights.ParseSeatLabel(s.Label); err != nil || !s.Cabin.Valid() || !money.Known(s.Price.Currency) {
				t.Fatalf("accepted seat %+v", s)
			}
		}
		if err := nf.Validate(); err != nil {
			t.Fatalf("normalized flight revalidates with %v", err)
		}
	})
}

// FuzzDecodeTripRequest: POST /trips.
func FuzzDecodeTripRequest(f *testing.F) {
	fuzzDecode(f, func(t *testing.T, v *trips.Request) {
		if err := v.Validate(testNow); err != nil {
			wantFieldErrors(t, "trip", err)
			return
		}
		if !flights.ValidAirport(v.Origin) || !flights.ValidAirport(v.Destination) || v.Origin == v.Destination ||
			!money.Known(v.Currency) || len(v.Passengers) < 1 || len(v.Passengers) > trips.MaxPassengers {
			t.Fatalf("accepted %+v", v)
		}
		d, err := trips.ParseDate(v.DepartureDate)
		if err != nil || d.Before(testNow.Truncate(24*time.Hour)) || d.Format(time.DateOnly) != v.DepartureDate {
			t.Fatalf("accepted departure_date %q: %v, %v", v.DepartureDate, d, err)
		}
		if m := v.MaxPrice; m != nil && (m.Currency != v.Currency || m.Amount <= 0) {
			t.Fatalf("accepted max_price %+v for %s", m, v.Currency)
		}
		// The stored document (trips.Trip state) keeps the request exactly.
		b, err := trips.Trip{Request: *v}.MarshalState()
		if err != nil {
			t.Fatal(err)
		}
		var back trips.Trip
		if err := back.UnmarshalState(b); err != nil || !reflect.DeepEqual(back.Request, *v) {
			t.Fatalf("stored request %s reads back as %+v, %v", b, back.Request, err)
		}
		again := *v
		if err := again.Validate(testNow); err != nil || !reflect.DeepEqual(again, *v) {
			t.Fatalf("normalized request revalidates as %+v, %v", again, err)
		}
	})
}

// FuzzDecodeOptionalEmpty: the optional body of POST /holds/{id}/extend and
// POST /bookings/{id}/cancel. Only nothing, whitespace, {} or null pass.
func FuzzDecodeOptionalEmpty(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		err := decodeOptionalEmpty(httptest.NewRecorder(), r)
		if err != nil {
			if len(body) == 0 {
				t.Fatalf("refused an absent body: %v", err)
			}
			wantDecodeError(t, body, err)
			return
		}
		if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 {
			var v any
			if json.Unmarshal(body, &v) != nil {
				t.Fatalf("accepted %q", body)
			}
			if m, ok := v.(map[string]any); v != nil && (!ok || len(m) > 0) {
				t.Fatalf("accepted %q, which is neither {} nor null", body)
			}
		}
	})
}

// FuzzFlightListQuery checks the ?limit= and ?cursor= parsing of the listings
// on its own: no query panics, what is refused is a field error on limit or
// cursor, and an accepted cursor is one encodeCursor issues.
func FuzzFlightListQuery(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		var errs validate.Errors
		limit, after := pagination(q, &errs)
		if err := errs.Err(); err != nil {
			for k := range errs {
				if k != "limit" && k != "cursor" {
					t.Fatalf("query %q: error on %q", raw, k)
				}
			}
			wantFieldErrors(t, raw, err)
			return
		}
		if limit < 1 || limit > maxLimit || (q.Get("limit") == "" && limit != defaultLimit) {
			t.Fatalf("query %q accepted limit %d", raw, limit)
		}
		if after == nil {
			if q.Get("cursor") != "" {
				t.Fatalf("query %q: cursor ignored", raw)
			}
			return
		}
		if after.ID <= 0 {
			t.Fatalf("query %q accepted cursor %+v", raw, after)
		}
		// Re-issuing the cursor gives the same position.
		var errs2 validate.Errors
		_, again := pagination(url.Values{"cursor": {encodeCursor(flightCursor{DepartsAt: after.DepartsAt, ID: after.ID})}}, &errs2)
		if errs2.Err() != nil || again == nil || again.ID != after.ID || !again.DepartsAt.Equal(after.DepartsAt) {
			t.Fatalf("cursor %+v re-issued reads as %+v, %v", after, again, errs2)
		}
	})
}

// FuzzRequestHeaders: the Idempotency-Key and X-Request-Id headers.
func FuzzRequestHeaders(f *testing.F) {
	f.Fuzz(func(t *testing.T, idemKey, requestID string) {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header["Idempotency-Key"] = []string{idemKey}
		err := checkIdempotencyKey(r)
		// API.md: 1 to 255 characters of valid UTF-8, no control characters.
		ok := idemKey != "" && utf8.ValidString(idemKey) && utf8.RuneCountInString(idemKey) <= 255 &&
			strings.IndexFunc(idemKey, unicode.IsControl) < 0
		if ok != (err == nil) {
			t.Fatalf("Idempotency-Key %q (%d bytes): %v", idemKey, len(idemKey), err)
		}
		if err != nil {
			if e := publicError(err); e.Status != http.StatusBadRequest || e.Code != "invalid_idempotency_key" {
				t.Fatalf("Idempotency-Key %q: %v", idemKey, err)
			}
		}
		if validRequestID(requestID) {
			if len(requestID) == 0 || len(requestID) > 128 || strings.IndexFunc(requestID, func(r rune) bool { return r < '!' || r > '~' }) >= 0 {
				t.Fatalf("accepted X-Request-Id %q", requestID)
			}
		}
	})
}

var testNow = time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
