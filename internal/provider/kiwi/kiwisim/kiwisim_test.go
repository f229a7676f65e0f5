package kiwisim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/reservd/reservd/internal/provider/simkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func serve(tb testing.TB, s *Sim) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(s.Handler())
	tb.Cleanup(srv.Close)
	tb.Cleanup(s.Close)
	return srv
}

func call(tb testing.TB, srv *httptest.Server, method, path, key, body string) (int, map[string]any) {
	tb.Helper()
	req, err := http.NewRequestWithContext(tb.Context(), method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if key != "" {
		req.Header.Set("apikey", key)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	dec := json.NewDecoder(res.Body)
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	out, _ = raw.(map[string]any)
	return res.StatusCode, out
}

func TestTokenRoundTrip(t *testing.T) {
	t.Parallel()
	date := time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC)
	flights := simkit.Inventory("kiwi", Carriers, "LHR", "BCN", date)
	ref := offerRef{Origin: "LHR", Destination: "BCN", Date: date, Index: len(flights) - 1, Party: simkit.Party{Adults: 2}, Currency: "USD"}
	got, j, err := decodeToken(encodeToken(ref))
	if err != nil || got != ref || len(j) != 1 || j[0] != flights[len(flights)-1] {
		t.Errorf("round trip = %+v %+v %v", got, j, err)
	}
	back := date.AddDate(0, 0, 7)
	rt := offerRef{Origin: "LHR", Destination: "BCN", Date: date, Return: back, Index: 0, Party: simkit.Party{Adults: 2, Children: 1, Infants: 1}, Currency: "EUR"}
	got, j, err = decodeToken(encodeToken(rt))
	if err != nil || got != rt || len(j) != 2 || j[1].Origin != "BCN" || j[1].DepartsAt.Before(back) {
		t.Errorf("round trip token = %+v %+v %v", got, j, err)
	}
	for _, bad := range []string{"", "!!", encodeToken(offerRef{Origin: "LHR", Destination: "BCN", Date: date, Index: 99, Party: simkit.Party{Adults: 1}, Currency: "EUR"}),
		encodeToken(offerRef{Origin: "LHR", Destination: "BCN", Date: date, Party: simkit.Party{Adults: 1, Infants: 2}, Currency: "EUR"})} {
		if _, _, err := decodeToken(bad); err == nil {
			t.Errorf("token %q decoded", bad)
		}
	}
}

func TestAuthOnEveryEndpoint(t *testing.T) {
	t.Parallel()
	s := New()
	s.APIKey = "right"
	srv := serve(t, s)
	for _, ep := range []struct{ method, path string }{
		{"GET", "/v2/search?fly_from=LHR&fly_to=BCN&date_from=24/12/2026"},
		{"GET", "/v2/booking/check_flights?booking_token=x"},
		{"POST", "/v2/booking/save_booking"},
		{"POST", "/v2/booking/confirm_payment"},
		{"GET", "/v2/booking/bookings?visitor_uniqid=x"},
	} {
		for _, key := range []string{"", "wrong"} {
			status, body := call(t, srv, ep.method, ep.path, key, "{}")
			if status != http.StatusUnauthorized || body["status"] != "Error" || body["message"] == nil {
				t.Errorf("%s %s with key %q = %d %v", ep.method, ep.path, key, status, body)
			}
		}
	}
	if n := len(s.Kit.Orders()); n != 0 {
		t.Errorf("orders = %d", n)
	}
}

func TestCheckFlightsNeedsPolling(t *testing.T) {
	t.Parallel()
	s := New()
	srv := serve(t, s)
	_, search := call(t, srv, "GET", "/v2/search?fly_from=LHR&fly_to=BCN&date_from=24/12/2026&date_to=24/12/2026&curr=EUR", "k", "")
	data, _ := search["data"].([]any)
	if len(data) == 0 || search["currency"] != "EUR" {
		t.Fatalf("search = %v", search)
	}
	first := data[0].(map[string]any)
	q := url.Values{"booking_token": {first["booking_token"].(string)}, "adults": {"1"}, "currency": {"EUR"}}
	_, check := call(t, srv, "GET", "/v2/booking/check_flights?"+q.Encode(), "k", "")
	if check["flights_checked"] != false || check["session_id"] == "" {
		t.Fatalf("first check = %v", check)
	}
	q.Set("session_id", check["session_id"].(string))
	_, check = call(t, srv, "GET", "/v2/booking/check_flights?"+q.Encode(), "k", "")
	conv, _ := check["conversion"].(map[string]any)
	if check["flights_checked"] != true || conv["amount"].(json.Number) != first["price"].(json.Number) {
		t.Errorf("second check = %v, want checked at %v", check, first["price"])
	}
	if st := s.Kit.Stats(); st.Searches != 1 || st.Prices != 2 {
		t.Errorf("stats = %+v", st)
	}
}
