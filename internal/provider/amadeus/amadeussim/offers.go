package amadeussim

import (
	"cmp"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider/simkit"
)

var iataRE = regexp.MustCompile(`^[A-Z]{3}$`)

// search is Flight Offers Search (GET).
func (s *Sim) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for _, p := range []string{"originLocationCode", "destinationLocationCode", "departureDate", "adults"} {
		if q.Get(p) == "" {
			writeErrors(w, http.StatusBadRequest, issue{Code: 32171, Title: "MANDATORY DATA MISSING", Detail: "This field must be filled.", Source: &source{Parameter: p}})
			return
		}
	}
	origin, dest := q.Get("originLocationCode"), q.Get("destinationLocationCode")
	for p, v := range map[string]string{"originLocationCode": origin, "destinationLocationCode": dest} {
		if !iataRE.MatchString(v) {
			writeErrors(w, http.StatusBadRequest, issue{Code: 477, Title: "INVALID FORMAT", Detail: "City/Airport - 3 characters IATA code", Source: &source{Parameter: p, Example: "CDG"}})
			return
		}
	}
	date, err := time.Parse(time.DateOnly, q.Get("departureDate"))
	if err != nil {
		writeErrors(w, http.StatusBadRequest, issue{Code: 425, Title: "INVALID DATE", Detail: "Date/Time is invalid", Source: &source{Parameter: "departureDate", Example: "2021-11-01"}})
		return
	}
	adults, err := strconv.Atoi(q.Get("adults"))
	if err != nil || adults < 1 || adults > 9 {
		writeErrors(w, http.StatusBadRequest, issue{Code: 477, Title: "INVALID FORMAT", Detail: "adults must be between 1 and 9", Source: &source{Parameter: "adults"}})
		return
	}
	currency := s.Currency
	if currency == "" {
		currency = "EUR"
	}
	if c := q.Get("currencyCode"); c != "" {
		if !money.Known(c) {
			writeErrors(w, http.StatusBadRequest, issue{Code: 477, Title: "INVALID FORMAT", Detail: "currencyCode is not a supported ISO 4217 code", Source: &source{Parameter: "currencyCode", Example: "EUR"}})
			return
		}
		currency = c
	}
	max := 250
	if m := q.Get("max"); m != "" {
		if max, err = strconv.Atoi(m); err != nil || max < 1 {
			writeErrors(w, http.StatusBadRequest, issue{Code: 477, Title: "INVALID FORMAT", Detail: "max must be a positive integer", Source: &source{Parameter: "max"}})
			return
		}
	}
	s.Kit.Count(func(st *simkit.Stats) { st.Searches++ })

	flights := simkit.Inventory(Name, Carriers, origin, dest, date)
	slices.SortStableFunc(flights, func(a, b simkit.Flight) int { return cmp.Compare(a.Amount, b.Amount) })
	if len(flights) > max {
		flights = flights[:max]
	}
	data := make([]offerJSON, 0, len(flights))
	for i, f := range flights {
		data = append(data, renderOffer(strconv.Itoa(i+1), f, currency, adults, f.Amount))
	}
	self := "https://test.api.amadeus.com/v2/shopping/flight-offers?" + q.Encode()
	writeJSON(w, http.StatusOK, map[string]any{
		"meta":         map[string]any{"count": len(data), "links": map[string]string{"self": self}},
		"data":         data,
		"dictionaries": dictionaries(flights, currency),
	})
}

// pricing is Flight Offers Price.
func (s *Sim) pricing(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Data struct {
			Type         string            `json:"type"`
			FlightOffers []json.RawMessage `json:"flightOffers"`
		} `json:"data"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if body.Data.Type != "flight-offers-pricing" || len(body.Data.FlightOffers) == 0 {
		writeErrors(w, http.StatusBadRequest, issue{Code: 32171, Title: "MANDATORY DATA MISSING", Detail: "data.type flight-offers-pricing and data.flightOffers are required", Source: &source{Pointer: "/data"}})
		return
	}
	s.Kit.Count(func(st *simkit.Stats) { st.Prices++ })
	sub, ok := identify(body.Data.FlightOffers[0])
	k := s.Kit.Knobs()
	if !ok || k.SoldOut {
		writeErrors(w, http.StatusBadRequest, issue{Code: 4926, Title: "INVALID DATA RECEIVED", Detail: "No fare applicable"})
		return
	}
	perTraveler := simkit.Adjust(sub.flight.Amount, k.PriceChangeAtPricing)
	offer := renderOffer(sub.id, sub.flight, sub.currency, sub.travelers, perTraveler)
	reply := map[string]any{
		"data":         map[string]any{"type": "flight-offers-pricing", "flightOffers": []offerJSON{offer}},
		"dictionaries": map[string]any{"locations": map[string]any{}},
	}
	if offer.Price.GrandTotal != sub.grandTotal {
		reply["warnings"] = []map[string]any{{
			"status": 200, "code": 0, "title": "PricingOrFareBasisDiscrepancyWarning",
			"detail": "Actual price and/or fare basis for some passengers is different from requested ones",
		}}
	}
	writeJSON(w, http.StatusOK, reply)
}
