package amadeussim

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider/simkit"
)

var iataRE = regexp.MustCompile(`^[A-Z]{3}$`)

// searchQuery is a Flight Offers Search, from the GET's query or the POST's body.
type searchQuery struct {
	origin, dest string
	date, ret    time.Time // ret zero: one way
	types        []string  // simkit passenger types, in the travelers' order
	currency     string
	max          int
}

// search is Flight Offers Search (GET): one way or with returnDate, adults,
// children and infants (held infants).
func (s *Sim) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for _, p := range []string{"originLocationCode", "destinationLocationCode", "departureDate", "adults"} {
		if q.Get(p) == "" {
			writeErrors(w, http.StatusBadRequest, issue{Code: 32171, Title: "MANDATORY DATA MISSING", Detail: "This field must be filled.", Source: &source{Parameter: p}})
			return
		}
	}
	sq := searchQuery{origin: q.Get("originLocationCode"), dest: q.Get("destinationLocationCode"), currency: q.Get("currencyCode"), max: 250}
	for p, v := range map[string]string{"originLocationCode": sq.origin, "destinationLocationCode": sq.dest} {
		if !iataRE.MatchString(v) {
			writeErrors(w, http.StatusBadRequest, issue{Code: 477, Title: "INVALID FORMAT", Detail: "City/Airport - 3 characters IATA code", Source: &source{Parameter: p, Example: "CDG"}})
			return
		}
	}
	var err error
	for p, d := range map[string]*time.Time{"departureDate": &sq.date, "returnDate": &sq.ret} {
		if v := q.Get(p); v != "" {
			if *d, err = time.Parse(time.DateOnly, v); err != nil {
				writeErrors(w, http.StatusBadRequest, issue{Code: 425, Title: "INVALID DATE", Detail: "Date/Time is invalid", Source: &source{Parameter: p, Example: "2021-11-01"}})
				return
			}
		}
	}
	var party simkit.Party
	for p, n := range map[string]*int{"adults": &party.Adults, "children": &party.Children, "infants": &party.Infants} {
		if v := q.Get(p); v != "" {
			if *n, err = strconv.Atoi(v); err != nil || *n < 0 || *n > 9 {
				writeErrors(w, http.StatusBadRequest, issue{Code: 477, Title: "INVALID FORMAT", Detail: p + " must be between 0 and 9", Source: &source{Parameter: p}})
				return
			}
		}
	}
	if !party.Valid() {
		writeErrors(w, http.StatusBadRequest, issue{Code: 477, Title: "INVALID FORMAT", Detail: "adults must be between 1 and 9, with at most 9 seated travelers and no more infants than adults", Source: &source{Parameter: "adults"}})
		return
	}
	sq.types = party.Types()
	if m := q.Get("max"); m != "" {
		if sq.max, err = strconv.Atoi(m); err != nil || sq.max < 1 {
			writeErrors(w, http.StatusBadRequest, issue{Code: 477, Title: "INVALID FORMAT", Detail: "max must be a positive integer", Source: &source{Parameter: "max"}})
			return
		}
	}
	s.answerSearch(w, sq, "https://test.api.amadeus.com/v2/shopping/flight-offers?"+q.Encode())
}

// searchPost is Flight Offers Search (POST, with X-HTTP-Method-Override:
// GET): originDestinations (one, or two for a round trip: the second the
// way back) and travelers ADULT, CHILD and HELD_INFANT, each held infant
// naming its adult in associatedAdultId.
func (s *Sim) searchPost(w http.ResponseWriter, r *http.Request) {
	var body struct {
		CurrencyCode       string `json:"currencyCode"`
		OriginDestinations []struct {
			ID                      string `json:"id"`
			OriginLocationCode      string `json:"originLocationCode"`
			DestinationLocationCode string `json:"destinationLocationCode"`
			DepartureDateTimeRange  struct {
				Date string `json:"date"`
			} `json:"departureDateTimeRange"`
		} `json:"originDestinations"`
		Travelers []struct {
			ID                string `json:"id"`
			TravelerType      string `json:"travelerType"`
			AssociatedAdultID string `json:"associatedAdultId"`
		} `json:"travelers"`
		SearchCriteria struct {
			MaxFlightOffers int `json:"maxFlightOffers"`
		} `json:"searchCriteria"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	bad := func(pointer, detail string) {
		writeErrors(w, http.StatusBadRequest, issue{Code: 477, Title: "INVALID FORMAT", Detail: detail, Source: &source{Pointer: pointer}})
	}
	ods := body.OriginDestinations
	if len(ods) != 1 && len(ods) != 2 {
		bad("/originDestinations", "the simulator searches one or two originDestinations (a round trip)")
		return
	}
	sq := searchQuery{origin: ods[0].OriginLocationCode, dest: ods[0].DestinationLocationCode, currency: body.CurrencyCode, max: 250}
	for i, od := range ods {
		if !iataRE.MatchString(od.OriginLocationCode) || !iataRE.MatchString(od.DestinationLocationCode) {
			bad(fmt.Sprintf("/originDestinations[%d]", i), "City/Airport - 3 characters IATA code")
			return
		}
		d, perr := time.Parse(time.DateOnly, od.DepartureDateTimeRange.Date)
		if perr != nil {
			writeErrors(w, http.StatusBadRequest, issue{Code: 425, Title: "INVALID DATE", Detail: "Date/Time is invalid", Source: &source{Pointer: fmt.Sprintf("/originDestinations[%d]/departureDateTimeRange/date", i)}})
			return
		}
		if i == 0 {
			sq.date = d
		} else {
			if od.OriginLocationCode != sq.dest || od.DestinationLocationCode != sq.origin || d.Before(sq.date) {
				bad("/originDestinations[1]", "the simulator's second originDestination is the way back, not before the first")
				return
			}
			sq.ret = d
		}
	}
	var party simkit.Party
	adults := map[string]bool{}
	held := map[string]bool{}
	for i, t := range body.Travelers {
		typ, ok := simkitType(t.TravelerType)
		if !ok || t.ID == "" {
			bad(fmt.Sprintf("/travelers[%d]", i), "traveler id and travelerType ADULT, CHILD or HELD_INFANT are required")
			return
		}
		switch typ {
		case simkit.Adult:
			party.Adults++
			adults[t.ID] = true
		case simkit.Child:
			party.Children++
		case simkit.Infant:
			party.Infants++
			if !adults[t.AssociatedAdultID] || held[t.AssociatedAdultID] {
				writeErrors(w, http.StatusBadRequest, issue{Code: 32171, Title: "MANDATORY DATA MISSING", Detail: "Missing associated Adult Id for HELD_INFANT", Source: &source{Pointer: fmt.Sprintf("/travelers[%d]", i)}})
				return
			}
			held[t.AssociatedAdultID] = true
		}
		sq.types = append(sq.types, typ)
	}
	if !party.Valid() {
		bad("/travelers", "1 to 9 seated travelers with an adult, and no more held infants than adults")
		return
	}
	if m := body.SearchCriteria.MaxFlightOffers; m > 0 {
		sq.max = m
	}
	s.answerSearch(w, sq, "https://test.api.amadeus.com/v2/shopping/flight-offers")
}

func (s *Sim) answerSearch(w http.ResponseWriter, sq searchQuery, self string) {
	currency := s.Currency
	if currency == "" {
		currency = "EUR"
	}
	if c := sq.currency; c != "" {
		if !money.Known(c) {
			writeErrors(w, http.StatusBadRequest, issue{Code: 477, Title: "INVALID FORMAT", Detail: "currencyCode is not a supported ISO 4217 code", Source: &source{Parameter: "currencyCode", Example: "EUR"}})
			return
		}
		currency = c
	}
	s.Kit.Count(func(st *simkit.Stats) { st.Searches++ })

	journeys := simkit.Journeys(Name, Carriers, sq.origin, sq.dest, sq.date, sq.ret)
	slices.SortStableFunc(journeys, func(a, b simkit.Journey) int { return cmp.Compare(a.Fare(), b.Fare()) })
	if len(journeys) > sq.max {
		journeys = journeys[:sq.max]
	}
	data := make([]offerJSON, 0, len(journeys))
	var flights []simkit.Flight
	for i, j := range journeys {
		data = append(data, renderOffer(strconv.Itoa(i+1), j, currency, sq.types, j.Fare()))
		flights = append(flights, j...)
	}
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
	offer := renderOffer(sub.id, sub.journey, sub.currency, sub.types, simkit.Adjust(sub.journey.Fare(), k.PriceChangeAtPricing))
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
