package httpapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/validate"
	"github.com/reservd/reservd/internal/views"
)

type holdRequest struct {
	FlightID *int64   `json:"flight_id"`
	Seats    []string `json:"seats"`
	Cabin    string   `json:"cabin"`
	Quantity int      `json:"quantity"`
}

func (s *Server) createHold(w http.ResponseWriter, r *http.Request) error {
	var req holdRequest
	if err := decodeJSON(w, r, &req, holdSeatsCap(s.reserve.Config().HoldMaxSeats)); err != nil {
		return err
	}
	hr := holds.Request{Seats: req.Seats, Cabin: flights.Cabin(req.Cabin), Quantity: req.Quantity}
	if req.FlightID != nil {
		hr.FlightID = *req.FlightID
		if err := s.checkQueueToken(r, hr.FlightID); err != nil {
			return err
		}
	}
	if req.Seats != nil && len(req.Seats) == 0 {
		return invalidRequest(validate.Errors{"seats": "must name at least one seat"})
	}
	h, err := s.reserve.Hold(r.Context(), principal(r.Context()), hr, completion(r, http.StatusCreated, views.OfHold))
	if err != nil {
		return err
	}
	writeData(w, http.StatusCreated, views.OfHold(h))
	return nil
}

func (s *Server) getHold(w http.ResponseWriter, r *http.Request) error {
	h, err := s.reserve.GetHold(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, views.OfHold(h))
	return nil
}

func (s *Server) extendHold(w http.ResponseWriter, r *http.Request) error {
	if err := decodeOptionalEmpty(w, r); err != nil {
		return err
	}
	h, err := s.reserve.Extend(r.Context(), principal(r.Context()), r.PathValue("id"), completion(r, http.StatusOK, views.OfHold))
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, views.OfHold(h))
	return nil
}

func (s *Server) releaseHold(w http.ResponseWriter, r *http.Request) error {
	h, err := s.reserve.Release(r.Context(), principal(r.Context()), r.PathValue("id"), completion(r, http.StatusOK, views.OfHold))
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, views.OfHold(h))
	return nil
}

// maxTokenLen bounds a payment token: gateways' tokens are a few dozen
// characters, and the token is stored with the booking's payment.
const maxTokenLen = 255

type bookingRequest struct {
	HoldID  string `json:"hold_id"`
	Payment *struct {
		Token string `json:"token"`
	} `json:"payment"`
}

func (s *Server) createBooking(w http.ResponseWriter, r *http.Request) error {
	var req bookingRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	var errs validate.Errors
	if req.HoldID == "" {
		errs.Add("hold_id", "is required")
	}
	switch {
	case req.Payment == nil || req.Payment.Token == "":
		errs.Add("payment.token", "is required, e.g. tok_visa")
	case len(req.Payment.Token) > maxTokenLen || !validate.Text(req.Payment.Token):
		errs.Add("payment.token", fmt.Sprintf("must be at most %d characters of text", maxTokenLen))
	}
	if err := errs.Err(); err != nil {
		return err
	}
	b, err := s.reserve.Book(r.Context(), principal(r.Context()), req.HoldID, req.Payment.Token, completion(r, http.StatusCreated, views.OfBooking))
	if err != nil {
		return err
	}
	writeData(w, http.StatusCreated, views.OfBooking(b))
	return nil
}

func (s *Server) getBooking(w http.ResponseWriter, r *http.Request) error {
	b, err := s.reserve.GetBooking(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, views.OfBooking(b))
	return nil
}

func (s *Server) listBookings(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var errs validate.Errors
	limit := parseLimit(q.Get("limit"), &errs)
	var after *store.BookingCursor
	if v := q.Get("cursor"); v != "" {
		var c bookingCursor
		if err := decodeCursor(v, &c); err != nil || !bookings.ValidID(c.ID) {
			errs.Add("cursor", "is not a cursor this API issued")
		} else {
			after = &store.BookingCursor{CreatedAt: c.CreatedAt, ID: c.ID}
		}
	}
	if err := errs.Err(); err != nil {
		return err
	}
	list, err := s.reserve.ListBookings(r.Context(), principal(r.Context()), after, limit+1)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(list, limit, func(b bookings.Booking) any { return views.OfBooking(b) }, func(b bookings.Booking) any {
		return bookingCursor{CreatedAt: b.CreatedAt, ID: b.ID}
	}))
	return nil
}

type bookingCursor struct {
	CreatedAt time.Time `json:"t"`
	ID        string    `json:"i"`
}

func (s *Server) cancelBooking(w http.ResponseWriter, r *http.Request) error {
	if err := decodeOptionalEmpty(w, r); err != nil {
		return err
	}
	b, err := s.reserve.Cancel(r.Context(), principal(r.Context()), r.PathValue("id"), completion(r, http.StatusOK, views.OfBooking))
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, views.OfBooking(b))
	return nil
}

// decodeOptionalEmpty accepts an action's body when it is absent or an empty
// JSON object, and rejects anything else as the strict decoder would.
func decodeOptionalEmpty(w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength == 0 {
		return nil
	}
	var empty struct{}
	err := decodeJSON(w, r, &empty)
	if e, ok := err.(*Error); ok && e.Message == invalidJSON("the body is empty").Message {
		return nil
	}
	return err
}
