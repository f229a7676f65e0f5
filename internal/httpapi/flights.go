package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/reserve"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/validate"
)

// flightView is a Flight as the API shows it.
type flightView struct {
	ID             int64        `json:"id"`
	Number         string       `json:"number"`
	Origin         string       `json:"origin"`
	Destination    string       `json:"destination"`
	DepartsAt      time.Time    `json:"departs_at"`
	ArrivesAt      time.Time    `json:"arrives_at"`
	SeatsTotal     int          `json:"seats_total"`
	SeatsAvailable int          `json:"seats_available"`
	LowestPrice    *money.Money `json:"lowest_price"`
}

func viewFlight(f flights.Flight) flightView {
	return flightView{
		ID: f.ID, Number: f.Number, Origin: f.Origin, Destination: f.Destination,
		DepartsAt: f.DepartsAt.UTC(), ArrivesAt: f.ArrivesAt.UTC(),
		SeatsTotal: f.SeatsTotal, SeatsAvailable: f.SeatsAvailable, LowestPrice: f.LowestPrice,
	}
}

type seatView struct {
	Seat   string      `json:"seat"`
	Cabin  string      `json:"cabin"`
	Price  money.Money `json:"price"`
	Status string      `json:"status"`
}

// flightID parses the {id} of a flight path; anything that is not a positive
// integer is a flight that does not exist, as in the original service.
func flightID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errFlight404
	}
	return id, nil
}

func (s *Server) getFlight(w http.ResponseWriter, r *http.Request) error {
	id, err := flightID(r)
	if err != nil {
		return err
	}
	return s.cachedJSON(w, r, reserve.FlightCacheKey(id), func() (any, error) {
		f, err := s.store.FlightGet(r.Context(), id)
		return data{Data: viewFlight(f)}, err
	})
}

func (s *Server) listSeats(w http.ResponseWriter, r *http.Request) error {
	id, err := flightID(r)
	if err != nil {
		return err
	}
	return s.cachedJSON(w, r, reserve.SeatsCacheKey(id), func() (any, error) {
		seats, err := s.store.SeatList(r.Context(), id)
		return seatsPage(seats), err
	})
}

// cachedJSON answers 200 with the body load builds, through the read cache.
func (s *Server) cachedJSON(w http.ResponseWriter, r *http.Request, key string, load func() (any, error)) error {
	build := func() ([]byte, error) {
		v, err := load()
		if err != nil {
			return nil, err
		}
		return encodeBody(v)
	}
	body, err := s.reserve.Cached(r.Context(), key, build)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(body) // #nosec G705 G104 -- JSON from storage served as application/json under nosniff; the client may be gone
	return nil
}

func (s *Server) listFlights(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var errs validate.Errors
	var filter flights.Filter
	for _, p := range []struct {
		name string
		dst  *string
	}{{"origin", &filter.Origin}, {"destination", &filter.Destination}} {
		if v := strings.ToUpper(q.Get(p.name)); v != "" {
			if !flights.ValidAirport(v) {
				errs.Add(p.name, "must be a three-letter IATA airport code")
			}
			*p.dst = v
		}
	}
	if v := q.Get("date"); v != "" {
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			errs.Add("date", "must be a date like 2026-12-24")
		}
		filter.Date = d
	}
	if v := q.Get("include_departed"); v != "" {
		switch v {
		case "true":
			filter.IncludeDeparted = true
		case "false":
		default:
			errs.Add("include_departed", "must be true or false")
		}
	}
	limit, after := pagination(q, &errs)
	if err := errs.Err(); err != nil {
		return err
	}
	list, err := s.store.FlightList(r.Context(), store.FlightListParams{Filter: filter, After: after, Limit: limit + 1})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(list, limit, viewFlight, func(f flights.Flight) any {
		return flightCursor{DepartsAt: f.DepartsAt, ID: f.ID}
	}))
	return nil
}

// pageOf builds a list response from up to limit+1 rows: the extra row, if
// any, only says there is a next page, which starts after the last row shown.
func pageOf[T, V any](rows []T, limit int, show func(T) V, cursor func(T) any) page {
	var next string
	if len(rows) > limit {
		rows = rows[:limit]
		next = encodeCursor(cursor(rows[len(rows)-1]))
	}
	out := make([]V, len(rows))
	for i, r := range rows {
		out[i] = show(r)
	}
	return page{Data: out, NextCursor: next}
}

const (
	defaultLimit = 50
	maxLimit     = 200
)

// pagination reads ?limit= and ?cursor=.
func pagination(q url.Values, errs *validate.Errors) (int, *store.FlightCursor) {
	limit := parseLimit(q.Get("limit"), errs)
	var after *store.FlightCursor
	if v := q.Get("cursor"); v != "" {
		var c flightCursor
		if err := decodeCursor(v, &c); err != nil || c.ID <= 0 {
			errs.Add("cursor", "is not a cursor this API issued")
		} else {
			after = &store.FlightCursor{DepartsAt: c.DepartsAt, ID: c.ID}
		}
	}
	return limit, after
}

// parseLimit reads ?limit=: default 50, from 1 to 200.
func parseLimit(v string, errs *validate.Errors) int {
	if v == "" {
		return defaultLimit
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		errs.Add("limit", "must be an integer from 1 to 200")
	}
	return n
}

type flightCursor struct {
	DepartsAt time.Time `json:"t"`
	ID        int64     `json:"i"`
}

// Cursors are opaque to clients: base64url of a small JSON object.
func encodeCursor(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

type newFlightRequest struct {
	Number      string           `json:"number"`
	Origin      string           `json:"origin"`
	Destination string           `json:"destination"`
	DepartsAt   string           `json:"departs_at"`
	ArrivesAt   string           `json:"arrives_at"`
	Seats       []newSeatRequest `json:"seats"`
	// Layout maps a cabin to its seat letters across the cabin, a space for
	// each aisle ("ABC DEF"); optional, see flights.Layout.
	Layout map[string]string `json:"layout,omitempty"`
}

type newSeatRequest struct {
	Seat  string      `json:"seat"`
	Cabin string      `json:"cabin"`
	Price money.Money `json:"price"`
}

// flight reads the request into a normalized flight, or returns every
// problem found as validate.Errors.
func (req newFlightRequest) flight() (flights.NewFlight, error) {
	var errs validate.Errors
	nf := flights.NewFlight{Number: req.Number, Origin: req.Origin, Destination: req.Destination}
	nf.DepartsAt = parseTime(req.DepartsAt, "departs_at", &errs)
	nf.ArrivesAt = parseTime(req.ArrivesAt, "arrives_at", &errs)
	for _, st := range req.Seats {
		nf.Seats = append(nf.Seats, flights.NewSeat{Label: st.Seat, Cabin: flights.Cabin(st.Cabin), Price: st.Price})
	}
	if len(req.Layout) > 0 {
		nf.Layout = make(flights.Layout, len(req.Layout))
		for c, seats := range req.Layout {
			nf.Layout[flights.Cabin(c)] = seats
		}
	}
	nf.Normalize()
	if err := nf.Validate(); err != nil {
		var v validate.Errors
		if !errors.As(err, &v) {
			return flights.NewFlight{}, err
		}
		for k, msg := range v {
			errs.Add(k, msg)
		}
	}
	return nf, errs.Err()
}

func (s *Server) createFlight(w http.ResponseWriter, r *http.Request) error {
	var req newFlightRequest
	if err := decodeJSON(w, r, &req, flightSeatsCap); err != nil {
		return err
	}
	nf, err := req.flight()
	if err != nil {
		return err
	}
	// A flight that has left could never be sold (holds on it answer
	// flight_departed); refusing it here keeps the catalogue honest.
	if !nf.DepartsAt.After(time.Now()) {
		return invalidRequest(validate.Errors{"departs_at": "has already passed: a new flight must depart in the future"})
	}
	f, err := s.store.FlightCreate(r.Context(), nf)
	if err != nil {
		return err
	}
	writeData(w, http.StatusCreated, viewFlight(f))
	return nil
}

// parseTime reads an RFC 3339 time, recording a problem under field.
func parseTime(v, field string, errs *validate.Errors) time.Time {
	if v == "" {
		errs.Add(field, "is required")
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		errs.Add(field, "must be an RFC 3339 time with a zone, like 2026-12-24T08:30:00Z")
		return time.Time{}
	}
	return t
}
