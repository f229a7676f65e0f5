package kiwi

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/providertest"
)

// Fuzz targets for every parser of Kiwi's answers: no input may panic, and
// what parses keeps the adapter's invariants. Seeds: the fixtures under
// testdata/ (f.Add, so they follow the fixtures) and the corpus files under
// testdata/fuzz/<target>/ (variants of the fixtures and edge cases).

func FuzzParseSearchResponse(f *testing.F) {
	f.Add(fixture(f, "search_response.json"))
	f.Fuzz(func(t *testing.T, body []byte) {
		offers, err := parseSearchResponse(body, rawOffer{Adults: 1}, time.Time{})
		if err != nil {
			return
		}
		for _, o := range offers {
			if o.ID == "" || o.Provider != "kiwi" || !money.Known(o.Price.Currency) || len(o.Segments) == 0 {
				t.Fatalf("bad offer %+v", o)
			}
			for _, s := range o.Segments {
				if s.Carrier == "" || s.FlightNumber == "" || s.ArrivesAt.Before(s.DepartsAt) ||
					s.DepartsAt.Location() != time.UTC || strings.Trim(s.FlightNumber, "0123456789") != "" {
					t.Fatalf("bad segment %+v", s)
				}
			}
		}
	})
}

func FuzzParseCheckFlights(f *testing.F) {
	for _, name := range []string{"check_flights_pending.json", "check_flights_checked.json", "check_flights_price_change.json", "check_flights_invalid.json"} {
		f.Add(fixture(f, name), "EUR")
	}
	f.Add(fixture(f, "check_flights_checked.json"), "USD")
	f.Fuzz(func(t *testing.T, body []byte, want string) {
		res, err := parseCheckFlights(body, want)
		if err != nil {
			return
		}
		if res.Checked && !res.Invalid && res.Total.Currency != want {
			t.Fatalf("total %v, want currency %q", res.Total, want)
		}
		_ = res.baggageFor(3)
	})
}

func FuzzParseSaveBooking(f *testing.F) {
	f.Add(fixture(f, "save_booking.json"), "EUR")
	f.Add(fixture(f, "save_booking_price_change.json"), "EUR")
	f.Fuzz(func(t *testing.T, body []byte, want string) {
		res, err := parseSaveBooking(body, want)
		if err != nil || res.Invalid {
			return
		}
		if res.BookingID == "" || res.TransactionID == "" || res.Total.Currency != want {
			t.Fatalf("bad save result %+v", res)
		}
	})
}

func FuzzParseConfirmPayment(f *testing.F) {
	f.Add(fixture(f, "confirm_payment.json"))
	f.Add(fixture(f, "confirm_payment_timeout.json"))
	f.Fuzz(func(t *testing.T, body []byte) { _ = parseConfirmPayment(body) })
}

func FuzzParseBookingLookup(f *testing.F) {
	f.Add(fixture(f, "bookings.json"))
	f.Add(fixture(f, "bookings_empty.json"))
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := parseBookingLookup(body)
		if err == nil && (o.ID == "" || !money.Known(o.Price.Currency)) {
			t.Fatalf("bad order %+v", o)
		}
	})
}

func FuzzParseErrorBody(f *testing.F) {
	f.Add(fixture(f, "error_expired_token.json"))
	f.Add(fixture(f, "error_status_message.json"))
	f.Add(fixture(f, "confirm_payment_timeout.json"))
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, detail := parseErrorBody(body); len(detail) > 300 {
			t.Fatalf("detail of %d bytes", len(detail))
		}
	})
}

func FuzzParseAmount(f *testing.F) {
	f.Fuzz(func(t *testing.T, s, cur string) {
		m, err := parseAmount(json.Number(s), cur)
		if err != nil {
			return
		}
		if m.Currency != cur || !money.Known(cur) {
			t.Fatalf("%q %s: currency %q", s, cur, m.Currency)
		}
		// What parses is an exact amount in minor units: it prints back
		// as itself.
		if back, err := parseAmount(json.Number(m.Decimal()), cur); err != nil || back != m {
			t.Fatalf("%q %s → %v → %q → %v, %v", s, cur, m, m.Decimal(), back, err)
		}
	})
}

func FuzzStatusError(f *testing.F) {
	for _, name := range []string{"error_expired_token.json", "error_status_message.json", "confirm_payment_timeout.json"} {
		f.Add(uint16(0), "", fixture(f, name))
	}
	now := utc("2026-12-01T10:00:00Z")
	f.Fuzz(func(t *testing.T, code uint16, retry string, body []byte) {
		status := 400 + int(code%200)
		err := statusError(status, retry, body, now)
		providertest.WantMappedError(t, status, err)
		if status >= 500 && errors.Is(err, provider.ErrRejected) {
			t.Fatalf("status %d rejected: %v", status, err)
		}
		var he *provider.HTTPError
		if errors.As(err, &he) && len(he.Detail) > 300 {
			t.Fatalf("detail of %d bytes", len(he.Detail))
		}
		providertest.WantMappedError(t, status, offerGone(err))
	})
}

// FuzzDecodeRaw: the raw offer kept between search and booking.
func FuzzDecodeRaw(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRaw(b)
		if err != nil {
			return
		}
		if r.Adults < 1 {
			t.Fatalf("%q: %d adults", b, r.Adults)
		}
		enc, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", r, err)
		}
		back, err := decodeRaw(enc)
		if err != nil || back.Adults != r.Adults || (len(r.Itinerary) > 0) != (len(back.Itinerary) > 0) {
			t.Fatalf("%q → %s → %+v, %v", b, enc, back, err)
		}
	})
}
