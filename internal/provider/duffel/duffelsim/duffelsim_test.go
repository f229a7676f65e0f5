package duffelsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type errorsOut struct {
	Errors []struct {
		Type, Code, Title, Message string
	} `json:"errors"`
	Meta struct {
		Status    int    `json:"status"`
		RequestID string `json:"request_id"`
	} `json:"meta"`
}

func do(t *testing.T, srv *httptest.Server, method, path, body string, h map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

var goodHeaders = map[string]string{"Authorization": "Bearer duffel_test_x", "Duffel-Version": "v2", "Content-Type": "application/json"}

func TestEnvelopesAndAuth(t *testing.T) {
	t.Parallel()
	s := New()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close)

	tests := []struct {
		name, method, path, body string
		headers                  map[string]string
		status                   int
		code                     string
	}{
		{"no auth", "GET", "/air/orders", "", map[string]string{"Duffel-Version": "v2"}, 401, "missing_authorization_header"},
		{"not bearer", "GET", "/air/orders", "", map[string]string{"Authorization": "Basic eDp5", "Duffel-Version": "v2"}, 401, "invalid_authorization_header"},
		{"no version", "GET", "/air/orders", "", map[string]string{"Authorization": "Bearer t"}, 400, "unsupported_version"},
		{"unknown path", "GET", "/air/nothing", "", goodHeaders, 404, "not_found"},
		{"unknown offer", "GET", "/air/offers/off_nope", "", goodHeaders, 404, "not_found"},
		{"unwrapped body", "POST", "/air/offer_requests", `{"slices":[]}`, goodHeaders, 422, "validation_required"},
		{"bad json", "POST", "/air/orders", `{`, goodHeaders, 400, "malformed_json"},
		{"bad limit", "GET", "/air/orders?limit=500", "", goodHeaders, 422, "validation_format"},
	}
	for _, tt := range tests {
		res, body := do(t, srv, tt.method, tt.path, tt.body, tt.headers)
		var e errorsOut
		if err := json.Unmarshal(body, &e); err != nil || res.StatusCode != tt.status || len(e.Errors) != 1 ||
			e.Errors[0].Code != tt.code || e.Meta.Status != tt.status || e.Meta.RequestID == "" {
			t.Errorf("%s: %d %s", tt.name, res.StatusCode, body)
		}
		if res.Header.Get("ratelimit-limit") == "" && res.StatusCode != 401 && res.StatusCode != 400 {
			t.Errorf("%s: no ratelimit headers", tt.name)
		}
	}
	if st := s.Kit.Stats(); st.Orders != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestOfferIDsRoundTrip(t *testing.T) {
	t.Parallel()
	k := offerKey{Origin: "LHR", Destination: "JFK", Date: "2026-12-24", Adults: 2, Created: 1798000000000, Request: 17, Index: 3}
	got, ok := parseOfferID(k.offerID())
	if !ok || got != k {
		t.Errorf("round trip = %+v, %v", got, ok)
	}
	for _, id := range []string{"", "off_", "off_0000!!", "ord_0000abc", "off_0000" + "TEhSLkpGSy4yMDI2LTEyLTI0LngueC54LngK"} {
		if _, ok := parseOfferID(id); ok {
			t.Errorf("parseOfferID(%q) accepted", id)
		}
	}
	if k.passengerID(0) == k.passengerID(1) || !strings.HasPrefix(k.passengerID(0), "pas_") {
		t.Error("passenger ids")
	}
}

func TestSearchAndListShapes(t *testing.T) {
	t.Parallel()
	s := New()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close)
	res, body := do(t, srv, "POST", "/air/offer_requests?return_offers=true",
		`{"data":{"slices":[{"origin":"SFO","destination":"JFK","departure_date":"2026-12-24"}],"passengers":[{"type":"adult"}],"cabin_class":"economy"}}`, goodHeaders)
	if res.StatusCode != 201 {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
	var out struct {
		Data struct {
			ID     string `json:"id"`
			Offers []struct {
				ID            string `json:"id"`
				TotalAmount   string `json:"total_amount"`
				TotalCurrency string `json:"total_currency"`
				Slices        []struct {
					Segments []struct {
						DepartingAt string `json:"departing_at"`
						Origin      struct {
							IATACode string `json:"iata_code"`
							TimeZone string `json:"time_zone"`
						} `json:"origin"`
					} `json:"segments"`
				} `json:"slices"`
			} `json:"offers"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil || !strings.HasPrefix(out.Data.ID, "orq_") || len(out.Data.Offers) < 3 {
		t.Fatalf("offer request = %s", body)
	}
	o := out.Data.Offers[0]
	seg := o.Slices[0].Segments[0]
	if o.TotalCurrency != "GBP" || !strings.Contains(o.TotalAmount, ".") || seg.Origin.IATACode != "SFO" ||
		seg.Origin.TimeZone != "America/Los_Angeles" || strings.ContainsAny(seg.DepartingAt[10:], "Z+") {
		t.Errorf("offer = %+v", o)
	}
	res, body = do(t, srv, "GET", "/air/orders", "", goodHeaders)
	if res.StatusCode != 200 || !strings.Contains(string(body), `"data":[]`) || !strings.Contains(string(body), `"after":null`) {
		t.Errorf("empty list = %d %s", res.StatusCode, body)
	}
}
