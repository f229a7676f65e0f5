package duffel

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/providertest"
)

// Fuzz targets for every parser of Duffel's answers: no input may panic, and
// what parses keeps the adapter's invariants. Seeds: the fixtures under
// testdata/ (f.Add, so they follow the fixtures) and the corpus files under
// testdata/fuzz/<target>/ (variants of the fixtures and edge cases).

func checkOfferInvariants(t *testing.T, o provider.Offer) {
	t.Helper()
	if o.Provider != "duffel" || o.ID == "" || len(o.Segments) == 0 || !money.Known(o.Price.Currency) {
		t.Fatalf("bad offer %+v", o)
	}
	for _, s := range o.Segments {
		if s.Carrier == "" || s.FlightNumber == "" || strings.Trim(s.FlightNumber, "0123456789") != "" {
			t.Fatalf("bad segment %+v", s)
		}
		if s.DepartsAt.Location() != time.UTC || s.ArrivesAt.Location() != time.UTC {
			t.Fatalf("segment times not UTC: %+v", s)
		}
	}
}

func FuzzParseSearchResponse(f *testing.F) {
	f.Add(fixture(f, "offer_request.json"))
	f.Add(fixture(f, "error_422_offer_gone.json"))
	f.Fuzz(func(t *testing.T, body []byte) {
		offers, err := parseSearchResponse(body)
		if err != nil {
			return
		}
		for _, o := range offers {
			checkOfferInvariants(t, o)
		}
	})
}

func FuzzParseOfferResponse(f *testing.F) {
	f.Add(fixture(f, "offer.json"))
	f.Add(fixture(f, "error_404.json"))
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := parseOfferResponse(body)
		if err == nil {
			checkOfferInvariants(t, o)
		}
	})
}

func FuzzParseOrderResponse(f *testing.F) {
	f.Add(fixture(f, "order.json"))
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := parseOrderResponse(body)
		if err == nil && (o.ID == "" || !money.Known(o.Price.Currency)) {
			t.Fatalf("bad order %+v", o)
		}
	})
}

func FuzzParseOrderList(f *testing.F) {
	f.Add(fixture(f, "orders_list.json"))
	f.Fuzz(func(t *testing.T, body []byte) {
		orders, _, err := parseOrderList(body)
		if err != nil {
			return
		}
		for _, o := range orders {
			if o.Order.ID == "" && o.Reference == "" {
				t.Fatalf("order with neither id nor reference: %+v", o)
			}
		}
	})
}

func FuzzParseErrorResponse(f *testing.F) {
	for _, name := range []string{"error_401.json", "error_404.json", "error_422_offer_gone.json",
		"error_422_payment_amount.json", "error_429.json", "error_500_airline.json"} {
		f.Add(fixture(f, name))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, _, ok := parseErrorResponse(body); ok && !json.Valid(body) {
			t.Fatalf("read an error envelope from %q, which is not JSON", body)
		}
	})
}

func FuzzMapError(f *testing.F) {
	for _, name := range []string{"error_401.json", "error_404.json", "error_422_offer_gone.json",
		"error_422_payment_amount.json", "error_429.json", "error_500_airline.json"} {
		f.Add(uint16(22), "", fixture(f, name))
	}
	now := utc("2026-12-01T10:00:00Z")
	f.Fuzz(func(t *testing.T, code uint16, retry string, body []byte) {
		status := 400 + int(code%200)
		h := http.Header{}
		h.Set("Retry-After", retry)
		err := mapError(status, h, body, now)
		providertest.WantMappedError(t, status, err)
		var he *provider.HTTPError
		if e, _, ok := parseErrorResponse(body); ok && (e.Code != "" || e.Type != "") && errors.As(err, &he) && he.Code == "" {
			t.Fatalf("error code of %q lost: %v", body, err)
		}
	})
}

func FuzzOfferPassengerIDs(f *testing.F) {
	f.Add(fixture(f, "offer.json"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ids, err := offerPassengerIDs(raw)
		if err != nil {
			if ids != nil {
				t.Fatalf("ids %q with error %v", ids, err)
			}
			return
		}
		if len(ids) == 0 {
			t.Fatalf("no ids from %q", raw)
		}
		for _, id := range ids {
			if id == "" {
				t.Fatalf("empty id in %q", ids)
			}
		}
	})
}
