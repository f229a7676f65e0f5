package kiwi

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
)

func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatalf("fixture: %v", err)
	}
	return b
}

func eur(minor int64) money.Money { return money.Money{Amount: minor, Currency: "EUR"} }

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseSearchResponse(t *testing.T) {
	t.Parallel()
	exp := utc("2026-10-07T10:30:00Z")
	offers, err := parseSearchResponse(fixture(t, "search_response.json"), rawOffer{Adults: 1}, exp)
	if err != nil {
		t.Fatal(err)
	}
	if len(offers) != 2 {
		t.Fatalf("offers = %d, want 2", len(offers))
	}
	want := []struct {
		id    string
		price money.Money
		seg   provider.Segment
	}{
		{
			id: "E_c-rglOCRt1pesO8E3stJTNvwqz_FDJoYwRHRk36svI8lIkNiIVxuflb0PdmMfahFJ8spjSKpYuXnjdwzgu8nGibaUkOdYBTG4cKAa0amkQ0jcc", price: eur(4800),
			seg: provider.Segment{Carrier: "VY", FlightNumber: "8961", Origin: "LHR", Destination: "ORY",
				DepartsAt: utc("2026-10-07T14:00:00Z"), ArrivesAt: utc("2026-10-07T15:35:00Z")},
		},
		{
			id: "Bx2nT9pR3kXv7-QwLm1sYc8dHf0aGjUe5iOzNbVrKtPqWs4yMhDc6lFgJ1oA2uE", price: eur(5799),
			seg: provider.Segment{Carrier: "U2", FlightNumber: "4811", Origin: "CDG", Destination: "BCN",
				DepartsAt: utc("2026-12-24T05:45:00Z"), ArrivesAt: utc("2026-12-24T07:40:00Z")},
		},
	}
	for i, w := range want {
		o := offers[i]
		if o.Provider != "kiwi" || o.ID != w.id || o.Price != w.price || !o.ExpiresAt.Equal(exp) {
			t.Errorf("offer %d = %s %q %v %v", i, o.Provider, o.ID, o.Price, o.ExpiresAt)
		}
		if len(o.Segments) != 1 || !reflect.DeepEqual(o.Segments[0], w.seg) {
			t.Errorf("offer %d segments = %+v, want %+v", i, o.Segments, w.seg)
		}
		if loc := o.Segments[0].DepartsAt.Location(); loc != time.UTC {
			t.Errorf("offer %d departs in %v, want UTC", i, loc)
		}
		raw, err := decodeRaw(o.Raw)
		if err != nil || raw.Adults != 1 || !strings.Contains(string(raw.Itinerary), `"booking_token"`) {
			t.Errorf("offer %d raw = %+v, %v", i, raw, err)
		}
	}
}

func TestParseSearchResponseEmpty(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`{"currency": "EUR", "data": []}`, `{"data": [], "_results": 0}`} {
		offers, err := parseSearchResponse([]byte(body), rawOffer{Adults: 1}, time.Time{})
		if err != nil || len(offers) != 0 {
			t.Errorf("%s: %d offers, %v", body, len(offers), err)
		}
	}
	if _, err := parseSearchResponse([]byte(`{"currency": "XXX", "data": [{}]}`), rawOffer{Adults: 1}, time.Time{}); err == nil {
		t.Error("an unknown currency passed")
	}
}

// Kiwi's local_* times carry a "Z" but are the airport's wall clock: read at
// the airport's zone they must land on the same instant as utc_*.
func TestLegTimeLocalFallback(t *testing.T) {
	t.Parallel()
	cases := []struct{ local, iata, utc string }{
		{"2026-10-07T15:00:00.000Z", "LHR", "2026-10-07T14:00:00Z"}, // BST
		{"2026-10-07T17:35:00.000Z", "ORY", "2026-10-07T15:35:00Z"}, // CEST
		{"2026-12-24T06:45:00.000Z", "CDG", "2026-12-24T05:45:00Z"}, // CET
		{"2026-12-24T08:30:00.000Z", "JFK", "2026-12-24T13:30:00Z"}, // EST
	}
	for _, c := range cases {
		got, err := legTime("", c.local, c.iata)
		if err != nil || !got.Equal(utc(c.utc)) {
			t.Errorf("legTime(%s at %s) = %v, %v; want %s", c.local, c.iata, got, err, c.utc)
		}
		viaUTC, err := legTime(strings.Replace(c.utc, "Z", ".000Z", 1), c.local, c.iata)
		if err != nil || !viaUTC.Equal(got) {
			t.Errorf("utc_* and local_* disagree for %s: %v vs %v (%v)", c.local, viaUTC, got, err)
		}
	}
	if _, err := legTime("", "2026-12-24T06:45:00.000Z", "XXX"); err == nil {
		t.Error("a local time at an unknown airport passed")
	}
}

func TestParseCheckFlights(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file, want string
		res        checkResult
		err        bool
	}{
		{file: "check_flights_pending.json", want: "EUR", res: checkResult{SessionID: "c3f0a2d8-1b7e-4e57-9f3a-0c2e5b8d7a11"}},
		// conversion.amount 52.4849999999 USD: exact to the cent, rounded half away from zero.
		{file: "check_flights_checked.json", want: "USD", res: checkResult{Checked: true, SessionID: "c3f0a2d8-1b7e-4e57-9f3a-0c2e5b8d7a11", Total: money.Money{Amount: 5248, Currency: "USD"}}},
		{file: "check_flights_checked.json", want: "EUR", res: checkResult{Checked: true, SessionID: "c3f0a2d8-1b7e-4e57-9f3a-0c2e5b8d7a11", Total: eur(4800)}},
		{file: "check_flights_checked.json", want: "GBP", err: true},
		{file: "check_flights_price_change.json", want: "EUR", res: checkResult{Checked: true, PriceChange: true, SessionID: "c3f0a2d8-1b7e-4e57-9f3a-0c2e5b8d7a11", Total: eur(5550)}},
		{file: "check_flights_invalid.json", want: "EUR", res: checkResult{Invalid: true, SessionID: "c3f0a2d8-1b7e-4e57-9f3a-0c2e5b8d7a11"}},
	}
	for _, c := range cases {
		got, err := parseCheckFlights(fixture(t, c.file), c.want)
		if c.err {
			if err == nil {
				t.Errorf("%s in %s: no error", c.file, c.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		got.HandBags, got.HoldBags = nil, nil
		if !reflect.DeepEqual(got, c.res) {
			t.Errorf("%s in %s = %+v, want %+v", c.file, c.want, got, c.res)
		}
	}
}

func TestBaggageForOrdersFreeCombinations(t *testing.T) {
	t.Parallel()
	res, err := parseCheckFlights(fixture(t, "check_flights_checked.json"), "EUR")
	if err != nil {
		t.Fatal(err)
	}
	sel := res.baggageFor(2)
	if len(sel) != 2 {
		t.Fatalf("selections = %d, want hand and hold", len(sel))
	}
	for _, s := range sel {
		var c struct {
			Category string                       `json:"category"`
			Indices  []int                        `json:"indices"`
			Price    struct{ Amount json.Number } `json:"price"`
		}
		if err := json.Unmarshal(s.Combination, &c); err != nil || !isZero(c.Price.Amount) {
			t.Errorf("combination %s: not free (%v)", s.Combination, err)
		}
		if !reflect.DeepEqual(s.Passengers, []int{0, 1}) {
			t.Errorf("passengers = %v", s.Passengers)
		}
	}
}

func TestParseSaveBooking(t *testing.T) {
	t.Parallel()
	got, err := parseSaveBooking(fixture(t, "save_booking.json"), "EUR")
	want := saveResult{BookingID: "6676524", TransactionID: "3b1e2f7c9d8a4c6e", Status: "success", Total: eur(4800)}
	if err != nil || got != want {
		t.Errorf("save_booking = %+v, %v; want %+v", got, err, want)
	}
	got, err = parseSaveBooking(fixture(t, "save_booking_price_change.json"), "EUR")
	want = saveResult{BookingID: "6676525", TransactionID: "8d1c0e5a7f2b4d93", Status: "success", PriceChange: true, Total: eur(5250)}
	if err != nil || got != want {
		t.Errorf("save_booking with price change = %+v, %v; want %+v", got, err, want)
	}
	got, err = parseSaveBooking([]byte(`{"status": "error", "flights_invalid": true}`), "EUR")
	if err != nil || !got.Invalid {
		t.Errorf("invalid flights = %+v, %v", got, err)
	}
	if _, err := parseSaveBooking([]byte(`{"status": "success", "total": 48}`), "EUR"); err == nil {
		t.Error("an answer without booking_id passed")
	}
}

func TestParseConfirmPayment(t *testing.T) {
	t.Parallel()
	if err := parseConfirmPayment(fixture(t, "confirm_payment.json")); err != nil {
		t.Errorf("status 0: %v", err)
	}
	err := parseConfirmPayment(fixture(t, "confirm_payment_timeout.json"))
	if !errors.Is(err, provider.ErrRejected) || !strings.Contains(err.Error(), "confirm payment timeout") {
		t.Errorf("status -1: %v", err)
	}
	if err := parseConfirmPayment([]byte(`{}`)); err == nil {
		t.Error("no status passed")
	}
}

func TestParseBookingLookup(t *testing.T) {
	t.Parallel()
	got, err := parseBookingLookup(fixture(t, "bookings.json"))
	want := provider.Order{ID: "6676524", BookingReference: "6676524", Price: eur(97801)}
	if err != nil || got != want {
		t.Errorf("bookings = %+v, %v; want %+v", got, err, want)
	}
	for _, body := range []string{string(fixture(t, "bookings_empty.json")), `{"bookings": []}`, `{}`} {
		if _, err := parseBookingLookup([]byte(body)); !errors.Is(err, provider.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", body, err)
		}
	}
	single := `{"bid": 42, "status": "confirmed", "price": 12.5, "currency": "EUR"}`
	if got, err := parseBookingLookup([]byte(single)); err != nil || got.ID != "42" || got.Price != eur(1250) {
		t.Errorf("single booking = %+v, %v", got, err)
	}
}

func TestParseErrorBody(t *testing.T) {
	t.Parallel()
	cases := []struct{ body, code, detail string }{
		{string(fixture(t, "error_expired_token.json")), "", "Expired booking token"},
		{string(fixture(t, "error_status_message.json")), "Error", "Unauthorized: missing or invalid apikey"},
		{string(fixture(t, "confirm_payment_timeout.json")), "-1", "confirm payment timeout"},
		{`<html>Bad Gateway</html>`, "", "<html>Bad Gateway</html>"},
		{`{"error": {"fly_from": ["Unknown location"]}}`, "", `{"fly_from": ["Unknown location"]}`},
	}
	for _, c := range cases {
		code, detail := parseErrorBody([]byte(c.body))
		if code != c.code || detail != c.detail {
			t.Errorf("%s = (%q, %q), want (%q, %q)", c.body, code, detail, c.code, c.detail)
		}
	}
}

func TestParseAmount(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, cur string
		want    int64
		err     bool
	}{
		{"48", "EUR", 4800, false},
		{"57.99", "EUR", 5799, false},
		{"1171.2987657582971", "EUR", 117130, false},
		{"52.485", "USD", 5249, false},
		{"52.4849999999", "USD", 5248, false},
		{"-0.005", "EUR", -1, false},
		{"12345", "JPY", 12345, false},
		{"0.5", "JPY", 1, false},
		{"1.2345", "KWD", 1235, false},
		{"1e3", "EUR", 0, true},
		{"", "EUR", 0, true},
		{"10", "XXX", 0, true},
		{"99999999999999999999", "EUR", 0, true},
	}
	for _, c := range cases {
		got, err := parseAmount(json.Number(c.in), c.cur)
		if c.err {
			if err == nil {
				t.Errorf("parseAmount(%q, %s) = %v, want an error", c.in, c.cur, got)
			}
			continue
		}
		if err != nil || got != (money.Money{Amount: c.want, Currency: c.cur}) {
			t.Errorf("parseAmount(%q, %s) = %v, %v; want %d", c.in, c.cur, got, err, c.want)
		}
	}
}

func TestStatusError(t *testing.T) {
	t.Parallel()
	now := utc("2026-12-24T10:00:00Z")
	var rl *provider.RateLimitedError
	if err := statusError(429, "7", nil, now); !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
		t.Errorf("429 = %v", err)
	}
	if err := statusError(429, "Thu, 24 Dec 2026 10:00:30 GMT", nil, now); !errors.As(err, &rl) || rl.RetryAfter != 30*time.Second {
		t.Errorf("429 with a date = %v", err)
	}
	var he *provider.HTTPError
	err := statusError(401, "", fixture(t, "error_status_message.json"), now)
	if !errors.Is(err, provider.ErrRejected) || !errors.As(err, &he) || he.Status != 401 || he.Temporary() {
		t.Errorf("401 = %v", err)
	}
	err = statusError(503, "", []byte(`{"status": "Error", "message": "down"}`), now)
	if errors.Is(err, provider.ErrRejected) || !errors.As(err, &he) || !he.Temporary() || he.Detail != "down" {
		t.Errorf("503 = %v", err)
	}
	err = offerGone(statusError(400, "", fixture(t, "error_expired_token.json"), now))
	if !errors.Is(err, provider.ErrUnavailable) {
		t.Errorf("expired token = %v, want ErrUnavailable", err)
	}
}

func TestDigits(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"8961": "8961", "FR1234": "1234", "0123": "123", "0": "0", "": "", "VY": ""} {
		if got := provider.FlightNumber(in); got != want {
			t.Errorf("provider.FlightNumber(%q) = %q, want %q", in, got, want)
		}
	}
}
