package amadeus

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/providertest"
)

// Fuzz targets for every parser of Amadeus's answers: no input may panic, and
// what parses keeps the adapter's invariants. Seeds: the fixtures under
// testdata/ (f.Add, so they follow the fixtures) and the corpus files under
// testdata/fuzz/<target>/ (variants of the fixtures and edge cases).

func FuzzParseSearchResponse(f *testing.F) {
	f.Add(fixture(f, "search_response.json"))
	f.Add(fixture(f, "search_response_get.json"))
	f.Fuzz(func(t *testing.T, body []byte) {
		offers, err := parseSearchResponse(body, time.Unix(0, 0), time.Hour)
		if err != nil {
			return
		}
		for _, o := range offers {
			if o.ID == "" || len(o.Segments) == 0 || !money.Known(o.Price.Currency) || o.Price.Amount < 0 || len(o.Raw) == 0 {
				t.Fatalf("bad offer %+v", o)
			}
			for _, s := range o.Segments {
				if s.DepartsAt.IsZero() || s.ArrivesAt.IsZero() || s.DepartsAt.Location() != time.UTC || s.FlightNumber == "" {
					t.Fatalf("bad segment %+v", s)
				}
			}
		}
	})
}

func FuzzParsePricingResponse(f *testing.F) {
	f.Add(fixture(f, "pricing_response.json"))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := parsePricingResponse(body, "1")
		if err != nil {
			return
		}
		if !money.Known(p.Price.Currency) || p.Price.Amount < 0 || len(p.Raw) == 0 {
			t.Fatalf("bad priced offer %+v", p)
		}
	})
}

func FuzzParseOrderResponse(f *testing.F) {
	f.Add(fixture(f, "order_response.json"))
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := parseOrderResponse(body)
		if err != nil {
			return
		}
		if o.Order.ID == "" {
			t.Fatalf("order without id %+v", o)
		}
	})
}

func FuzzParseOrderList(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		list, err := parseOrderList(body)
		if err != nil {
			return
		}
		for _, o := range list {
			if o.Order.ID == "" {
				t.Fatalf("order without id %+v", o)
			}
		}
	})
}

func FuzzParseErrorResponse(f *testing.F) {
	for _, name := range []string{"error_invalid_client.json", "error_invalid_header.json", "error_price_discrepancy.json", "error_segment_sell_failure.json"} {
		f.Add(fixture(f, name))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, e := range parseErrorResponse(body) {
			_ = soldOut(e)
		}
		_ = tokenRejected(body)
	})
}

func FuzzParseTokenResponse(f *testing.F) {
	f.Add(fixture(f, "token_response.json"))
	f.Fuzz(func(t *testing.T, body []byte) {
		tk, err := parseTokenResponse(body)
		if err != nil {
			return
		}
		if tk.AccessToken == "" || tk.ExpiresIn <= 0 {
			t.Fatalf("bad token %+v", tk)
		}
	})
}

func FuzzParseDiscrepancyDetail(f *testing.F) {
	f.Fuzz(func(t *testing.T, detail string) {
		if m, ok := parseDiscrepancyDetail(detail, "EUR"); ok && (m.Currency != "EUR" || m.Amount < 0) {
			t.Fatalf("bad price %v", m)
		}
	})
}

func FuzzAPIError(f *testing.F) {
	for _, tt := range []struct {
		status uint16
		file   string
	}{{0, "error_segment_sell_failure.json"}, {0, "error_no_fare.json"}, {1, "error_invalid_client.json"},
		{100, "error_internal.json"}, {4, "error_order_not_found.json"}, {29, "error_rate_limited.json"}} {
		f.Add(tt.status, "", fixture(f, tt.file))
	}
	c := New(Config{}, nil)
	f.Fuzz(func(t *testing.T, code uint16, retry string, body []byte) {
		status := 400 + int(code%200)
		err := c.apiErr(response{status: status, header: http.Header{"Retry-After": {retry}}, body: body})
		providertest.WantMappedError(t, status, err)
		if status >= 500 && errors.Is(err, provider.ErrRejected) {
			t.Fatalf("status %d rejected: %v", status, err)
		}
		var rl *provider.RateLimitedError
		if errors.As(err, &rl) && rl.RetryAfter == 0 {
			if _, ok := provider.ParseRetryAfter(retry, time.Now()); !ok {
				t.Fatalf("429 without a Retry-After waits 0, not a second")
			}
		}
		_, _ = findIssue(body, codePriceDiscrepancy)
		_ = tokenRejected(body)
	})
}
