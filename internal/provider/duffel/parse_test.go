package duffel

import (
	"errors"
	"net/http"
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
		tb.Fatal(err)
	}
	return b
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// The documentation's offer: LHR 16:38:02 BST (UTC+1) to JFK 16:38:02 EDT
// (UTC-4) on 13 June 2020, BA 1234, GBP 45.00.
var docSegment = provider.Segment{
	Carrier: "BA", FlightNumber: "1234", Origin: "LHR", Destination: "JFK",
	DepartsAt: utc("2020-06-13T15:38:02Z"), ArrivesAt: utc("2020-06-13T20:38:02Z"),
}

func checkDocOffer(t *testing.T, o provider.Offer) {
	t.Helper()
	if o.Provider != "duffel" || o.ID != "off_00009htYpSCXrwaB9DnUm0" {
		t.Errorf("offer = %s %s", o.Provider, o.ID)
	}
	if want := (money.Money{Amount: 4500, Currency: "GBP"}); o.Price != want {
		t.Errorf("price = %v, want %v", o.Price, want)
	}
	if want := utc("2020-01-17T10:42:14.545Z"); !o.ExpiresAt.Equal(want) || o.ExpiresAt.Location() != time.UTC {
		t.Errorf("expires_at = %v, want %v in UTC", o.ExpiresAt, want)
	}
	if len(o.Segments) != 1 || !reflect.DeepEqual(o.Segments[0], docSegment) {
		t.Errorf("segments = %+v, want [%+v]", o.Segments, docSegment)
	}
	for _, s := range o.Segments {
		if s.DepartsAt.Location() != time.UTC || s.ArrivesAt.Location() != time.UTC {
			t.Errorf("segment times not in UTC: %v %v", s.DepartsAt, s.ArrivesAt)
		}
	}
	ids, err := offerPassengerIDs(o.Raw)
	if err != nil || !reflect.DeepEqual(ids, []string{"pas_00009hj8USM7Ncg31cBCL"}) {
		t.Errorf("passenger ids from Raw = %v, %v", ids, err)
	}
}

func TestParseSearchResponseFixture(t *testing.T) {
	t.Parallel()
	offers, err := parseSearchResponse(fixture(t, "offer_request.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(offers) != 1 {
		t.Fatalf("got %d offers, want 1", len(offers))
	}
	checkDocOffer(t, offers[0])
}

func TestParseOfferResponseFixture(t *testing.T) {
	t.Parallel()
	o, err := parseOfferResponse(fixture(t, "offer.json"))
	if err != nil {
		t.Fatal(err)
	}
	checkDocOffer(t, o)
}

func TestParseOrderResponseFixture(t *testing.T) {
	t.Parallel()
	o, err := parseOrderResponse(fixture(t, "order.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := provider.Order{ID: "ord_00009hthhsUZ8W4LxQgkjo", BookingReference: "RZPNX8", Price: money.Money{Amount: 9080, Currency: "GBP"}}
	if o != want {
		t.Errorf("order = %+v, want %+v", o, want)
	}
}

func TestParseOrderListFixture(t *testing.T) {
	t.Parallel()
	orders, after, err := parseOrderList(fixture(t, "orders_list.json"))
	if err != nil {
		t.Fatal(err)
	}
	if after != "g2wAAAACbQAAABBBZXJvbWlzdC1LaGFya2l2bQAAAB=" {
		t.Errorf("after = %q", after)
	}
	if len(orders) != 2 {
		t.Fatalf("got %d orders, want 2", len(orders))
	}
	if orders[0].Reference != "" {
		t.Errorf("order without our metadata has reference %q", orders[0].Reference)
	}
	want := listedOrder{
		Order:     provider.Order{ID: "ord_0000A3bQ8xT1hYqV4Kk2Wm", BookingReference: "QWE7RT", Price: money.Money{Amount: 21235, Currency: "GBP"}},
		Reference: "trp_01HX9/attempt-1",
	}
	if orders[1] != want {
		t.Errorf("order = %+v, want %+v", orders[1], want)
	}
	// The last page has "after": null.
	_, after, err = parseOrderList([]byte(`{"data": [], "meta": {"limit": 50, "after": null, "before": null}}`))
	if err != nil || after != "" {
		t.Errorf("last page: after = %q, err = %v", after, err)
	}
}

func TestMapErrorFixtures(t *testing.T) {
	t.Parallel()
	now := utc("2026-12-01T10:00:00Z")
	type check func(t *testing.T, err error)
	isHTTP := func(status int, code string, temporary bool) check {
		return func(t *testing.T, err error) {
			var he *provider.HTTPError
			if !errors.As(err, &he) || he.Status != status || he.Code != code || he.Temporary() != temporary {
				t.Errorf("err = %v, want HTTPError %d %s temporary=%v", err, status, code, temporary)
			}
		}
	}
	is := func(target error) check {
		return func(t *testing.T, err error) {
			if !errors.Is(err, target) {
				t.Errorf("err = %v, want %v", err, target)
			}
		}
	}
	rateLimited := func(want time.Duration) check {
		return func(t *testing.T, err error) {
			var rl *provider.RateLimitedError
			if !errors.As(err, &rl) || rl.RetryAfter != want {
				t.Errorf("err = %v, want RateLimitedError after %v", err, want)
			}
		}
	}
	priceMismatch := func(t *testing.T, err error) {
		var pm *priceMismatchError
		if !errors.As(err, &pm) {
			t.Errorf("err = %v, want a price mismatch", err)
		}
	}
	tests := []struct {
		name   string
		status int
		header http.Header
		body   []byte
		checks []check
	}{
		{"401", 401, nil, fixture(t, "error_401.json"),
			[]check{is(provider.ErrRejected), isHTTP(401, "missing_authorization_header", false)}},
		{"404", 404, nil, fixture(t, "error_404.json"),
			[]check{is(provider.ErrRejected), isHTTP(404, "not_found", false)}},
		{"offer gone", 422, nil, fixture(t, "error_422_offer_gone.json"),
			[]check{is(provider.ErrUnavailable), isHTTP(422, "offer_no_longer_available", false)}},
		{"payment amount", 422, nil, fixture(t, "error_422_payment_amount.json"),
			[]check{priceMismatch, is(provider.ErrRejected)}},
		{"429 retry-after seconds", 429, http.Header{"Retry-After": {"7"}}, fixture(t, "error_429.json"),
			[]check{rateLimited(7 * time.Second)}},
		{"429 ratelimit-reset date", 429, http.Header{"Ratelimit-Reset": {"Tue, 01 Dec 2026 10:00:42 GMT"}}, fixture(t, "error_429.json"),
			[]check{rateLimited(42 * time.Second)}},
		{"429 no header", 429, nil, fixture(t, "error_429.json"), []check{rateLimited(0)}},
		{"500 airline", 500, nil, fixture(t, "error_500_airline.json"),
			[]check{isHTTP(500, "airline_unknown", true)}},
		{"503 not json", 503, nil, []byte("<html>upstream unavailable</html>"),
			[]check{isHTTP(503, "", true)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			err := mapError(tt.status, h, tt.body, now)
			for _, c := range tt.checks {
				c(t, err)
			}
		})
	}
	if err := mapError(401, http.Header{}, fixture(t, "error_401.json"), now); !strings.Contains(err.Error(), "FZW0H3HdJwKk5HMAAKxB") {
		t.Errorf("error %q does not quote the request_id", err)
	}
}

func TestNormalization(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"1234": "1234", "0012": "12", "BA117": "117", "117A": "117", "0": "0", "": "", "ZZ": ""} {
		if got := provider.FlightNumber(in); got != want {
			t.Errorf("provider.FlightNumber(%q) = %q, want %q", in, got, want)
		}
	}
	for _, tt := range []struct {
		amount, cur string
		want        int64
		ok          bool
	}{
		{"45.00", "GBP", 4500, true},
		{"1000.00", "JPY", 1000, true}, // zeros past the currency's digits carry nothing
		{"12.345", "KWD", 12345, true},
		{"12.345", "GBP", 0, false},
		{"1.50", "JPY", 0, false},
		{"1e3", "USD", 0, false},
		{"", "GBP", 0, false},
		{"10.00", "", 0, false},
	} {
		m, err := parseAmount(tt.amount, tt.cur)
		if (err == nil) != tt.ok || (tt.ok && m.Amount != tt.want) {
			t.Errorf("parseAmount(%q, %q) = %v, %v", tt.amount, tt.cur, m, err)
		}
	}
	// Across the European DST change: 01:30 on 29 March 2026 in London does
	// not exist; 00:30 is GMT and 02:30 is BST.
	for local, want := range map[string]string{"2026-03-29T00:30:00": "2026-03-29T00:30:00Z", "2026-03-29T02:30:00": "2026-03-29T01:30:00Z"} {
		got, err := localToUTC(wirePlace{IATACode: "LHR"}, local)
		if err != nil || !got.Equal(utc(want)) {
			t.Errorf("LHR %s = %v, %v; want %s", local, got, err, want)
		}
	}
	// An airport the zone table lacks falls back to Duffel's time_zone.
	got, err := localToUTC(wirePlace{IATACode: "KEF", TimeZone: "Atlantic/Reykjavik"}, "2026-07-01T08:00:00")
	if err != nil || !got.Equal(utc("2026-07-01T08:00:00Z")) {
		t.Errorf("KEF = %v, %v", got, err)
	}
	if _, err := localToUTC(wirePlace{IATACode: "XXX"}, "2026-07-01T08:00:00"); err == nil {
		t.Error("unknown airport without time_zone accepted")
	}
	got, err = localToUTC(wirePlace{IATACode: "LHR"}, "2026-07-01T08:00:00+01:00")
	if err != nil || !got.Equal(utc("2026-07-01T07:00:00Z")) {
		t.Errorf("time with offset = %v, %v", got, err)
	}
}

func TestParseSearchSkipsUnreadableOffers(t *testing.T) {
	t.Parallel()
	good := `{"id":"off_1","total_amount":"10.00","total_currency":"GBP","passengers":[{"id":"pas_1","type":"adult"}],
		"slices":[{"segments":[{"departing_at":"2026-12-24T08:30:00","arriving_at":"2026-12-24T11:45:00",
		"origin":{"iata_code":"LHR","time_zone":"Europe/London"},"destination":{"iata_code":"JFK","time_zone":"America/New_York"},
		"marketing_carrier":{"iata_code":"VS"},"marketing_carrier_flight_number":"0003"}]}]}`
	bad := `{"id":"off_2","total_amount":"10.001","total_currency":"GBP","slices":[]}`
	offers, err := parseSearchResponse([]byte(`{"data":{"id":"orq_1","offers":[` + good + `,` + bad + `]}}`))
	if err != nil || len(offers) != 1 {
		t.Fatalf("offers = %v, err = %v", offers, err)
	}
	s := offers[0].Segments[0]
	if s.Carrier != "VS" || s.FlightNumber != "3" || !s.DepartsAt.Equal(utc("2026-12-24T08:30:00Z")) || !s.ArrivesAt.Equal(utc("2026-12-24T16:45:00Z")) {
		t.Errorf("segment = %+v", s)
	}
	if _, err := parseSearchResponse([]byte(`{"data":{"id":"orq_1","offers":[` + bad + `]}}`)); err == nil {
		t.Error("a search whose only offer is unreadable succeeded")
	}
	if offers, err := parseSearchResponse([]byte(`{"data":{"id":"orq_1","offers":[]}}`)); err != nil || len(offers) != 0 {
		t.Errorf("no offers: %v, %v", offers, err)
	}
	for _, body := range []string{``, `{}`, `{"data":null}`, `{"errors":[]}`, `[1,2]`} {
		if _, err := parseSearchResponse([]byte(body)); err == nil {
			t.Errorf("parseSearchResponse(%q) succeeded", body)
		}
	}
}
