package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/aggregator"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/trips"
	"github.com/reservd/reservd/internal/validate"
	"github.com/reservd/reservd/internal/views"
)

type segmentView struct {
	Carrier      string    `json:"carrier"`
	FlightNumber string    `json:"flight_number"`
	Origin       string    `json:"origin"`
	Destination  string    `json:"destination"`
	DepartsAt    time.Time `json:"departs_at"`
	ArrivesAt    time.Time `json:"arrives_at"`
}

type offerView struct {
	ID            string        `json:"id"`
	Provider      string        `json:"provider"`
	Price         money.Money   `json:"price"`
	ProviderPrice money.Money   `json:"provider_price"`
	Segments      []segmentView `json:"segments"`
	Slices        []sliceView   `json:"slices"`
	ExpiresAt     time.Time     `json:"expires_at"`
}

// sliceView is one journey of an offer: the outbound, and a round trip's
// return.
type sliceView struct {
	Origin      string        `json:"origin"`
	Destination string        `json:"destination"`
	Segments    []segmentView `json:"segments"`
}

type providerView struct {
	Name      string `json:"name"`
	Status    string `json:"status"`
	Offers    int    `json:"offers"`
	LatencyMS int64  `json:"latency_ms"`
	Simulated bool   `json:"simulated"`
}

type offersPage struct {
	Data      []offerView    `json:"data"`
	Providers []providerView `json:"providers"`
}

func viewOffer(o aggregator.Offer) offerView {
	v := offerView{ID: o.ID, Provider: o.Provider, Price: o.Price, ProviderPrice: o.ProviderPrice, ExpiresAt: o.ExpiresAt.UTC(),
		Segments: make([]segmentView, len(o.Segments))}
	for i, s := range o.Segments {
		v.Segments[i] = segmentView{Carrier: s.Carrier, FlightNumber: s.FlightNumber, Origin: s.Origin, Destination: s.Destination,
			DepartsAt: s.DepartsAt.UTC(), ArrivesAt: s.ArrivesAt.UTC()}
		if i == 0 || s.Slice != o.Segments[i-1].Slice {
			v.Slices = append(v.Slices, sliceView{Origin: s.Origin})
		}
		sl := &v.Slices[len(v.Slices)-1]
		sl.Destination = s.Destination
		sl.Segments = append(sl.Segments, v.Segments[i])
	}
	return v
}

func (s *Server) listOffers(w http.ResponseWriter, r *http.Request) error {
	arrived := arrival(r.Context()) // the budget runs from here; see answerMargin
	q := r.URL.Query()
	var errs validate.Errors
	req := provider.SearchRequest{
		Origin: strings.ToUpper(q.Get("origin")), Destination: strings.ToUpper(q.Get("destination")),
		Adults: 1, Currency: "USD",
	}
	if !flights.ValidAirport(req.Origin) {
		errs.Add("origin", "is required: a three-letter IATA airport code")
	}
	if !flights.ValidAirport(req.Destination) {
		errs.Add("destination", "is required: a three-letter IATA airport code")
	} else if req.Destination == req.Origin {
		errs.Add("destination", "must differ from origin")
	}
	now := time.Now()
	if d, err := trips.ParseDate(q.Get("departure_date")); err != nil {
		errs.Add("departure_date", "is required: a date like 2026-12-24")
	} else if problem := trips.CheckDeparture(d, now); problem != "" {
		errs.Add("departure_date", problem)
	} else {
		req.DepartureDate = d
	}
	if v := q.Get("return_date"); v != "" {
		if d, err := trips.ParseDate(v); err != nil {
			errs.Add("return_date", "must be a date like 2026-12-31")
		} else if !req.DepartureDate.IsZero() {
			if problem := trips.CheckReturn(req.DepartureDate, d, now); problem != "" {
				errs.Add("return_date", problem)
			} else {
				req.ReturnDate = d
			}
		}
	}
	counted := true
	for _, c := range []struct {
		name string
		n    *int
		min  int
	}{{"adults", &req.Adults, 1}, {"children", &req.Children, 0}, {"infants", &req.Infants, 0}} {
		if v := q.Get(c.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < c.min || n > trips.MaxPassengers {
				errs.Add(c.name, fmt.Sprintf("must be an integer from %d to %d", c.min, trips.MaxPassengers))
				counted = false
			}
			*c.n = n
		}
	}
	if counted {
		if problem := trips.CheckParty(req.Adults, req.Children, req.Infants); problem != "" {
			field := "adults"
			if req.Infants > req.Adults {
				field = "infants"
			}
			errs.Add(field, problem)
		}
	}
	if v := q.Get("currency"); v != "" {
		req.Currency = strings.ToUpper(v)
	}
	if _, err := s.agg.Rates().Convert(money.Money{Currency: "USD"}, req.Currency); err != nil {
		errs.Add("currency", "must be a currency the exchange-rate table knows, such as USD or EUR")
	}
	if err := errs.Err(); err != nil {
		return err
	}
	// The budget counts from the request's arrival, less a margin, so that a
	// search waiting on a slow provider answers within SEARCH_BUDGET end to
	// end, not SEARCH_BUDGET after whatever came before the search.
	budget := s.agg.SearchBudget()
	ctx, cancel := context.WithDeadline(r.Context(), arrived.Add(budget-min(answerMargin, budget/10)))
	defer cancel()
	body, err := s.agg.Answer(ctx, req, offersEncoding)
	var none *aggregator.NoProvidersError
	if errors.As(err, &none) {
		return &Error{Status: http.StatusServiceUnavailable, Code: "no_providers", Message: "No flight provider answered; try again shortly",
			Details: map[string]any{"providers": providerViews(none.Providers)}, RetryAfter: 5}
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(body) // #nosec G104 -- the status is sent; a failed write means the client went away and there is no one left to tell
	return nil
}

// answerMargin is kept from the search budget for what the search's
// deadline cannot cover: the time before the middleware saw the request
// (reading its headers, waiting for a CPU) and after the search ends
// (encoding and writing the answer, waiting for a CPU under load). The target is SEARCH_BUDGET +
// 50 ms end to end (docs/PERFORMANCE.md, "Offers").
const answerMargin = 50 * time.Millisecond

// offersEncoding is GET /offers' answer, as the aggregator caches it.
var offersEncoding = aggregator.Encoding{Name: "api1", Encode: func(res aggregator.Result) ([]byte, error) {
	out := offersPage{Data: make([]offerView, len(res.Offers)), Providers: providerViews(res.Providers)}
	for i, o := range res.Offers {
		out.Data[i] = viewOffer(o)
	}
	return encodeBody(out)
}}

func providerViews(ps []aggregator.ProviderStatus) []providerView {
	out := make([]providerView, len(ps))
	for i, p := range ps {
		out[i] = providerView{Name: p.Name, Status: p.Status, Offers: p.Offers, LatencyMS: p.LatencyMS, Simulated: p.Simulated}
	}
	return out
}

func (s *Server) createTrip(w http.ResponseWriter, r *http.Request) error {
	var req trips.Request
	if err := decodeJSON(w, r, &req, passengersCap); err != nil {
		return err
	}
	t, err := s.trips.Create(r.Context(), principal(r.Context()), req, completion(r, http.StatusAccepted, views.OfTrip))
	if err != nil {
		return err
	}
	writeData(w, http.StatusAccepted, views.OfTrip(t))
	return nil
}

func (s *Server) getTrip(w http.ResponseWriter, r *http.Request) error {
	t, err := s.trips.Get(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, views.OfTrip(t))
	return nil
}

func (s *Server) cancelTrip(w http.ResponseWriter, r *http.Request) error {
	if err := decodeOptionalEmpty(w, r); err != nil {
		return err
	}
	t, err := s.trips.Cancel(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, views.OfTrip(t))
	return nil
}
