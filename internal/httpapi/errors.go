package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/reservd/reservd/internal/aggregator"
	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/reserve"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/trips"
	"github.com/reservd/reservd/internal/validate"
)

// Error is an error with its public face: the status, machine code and human
// message a client sees. Anything else that goes wrong is a 500 whose cause
// is logged and never sent.
type Error struct {
	Status  int
	Code    string
	Message string
	Details any
	// RetryAfter, in seconds, is sent as the Retry-After header when set.
	RetryAfter int
	// cause, when set on a 4xx, is what went wrong underneath (a body cut
	// short); it is logged at info, never sent.
	cause error
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// errorBody is the one error envelope of the API.
type errorBody struct {
	Message string `json:"message"`
	Code    string `json:"code"`
	Details any    `json:"details,omitempty"`
}

var (
	errInternal     = &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "Unknown error"}
	errNotFound     = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "Not found"}
	errUnauthorized = &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "A valid API key is required: Authorization: Bearer <key>"}
	errForbidden    = &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "This endpoint needs an admin API key"}
	errFlight404    = &Error{Status: http.StatusNotFound, Code: "flight_not_found", Message: "Unable to find the requested flight"}
)

func invalidJSON(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: "The body is not valid JSON for this request: " + msg}
}

func invalidRequest(details validate.Errors) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_request", Message: "The request has invalid fields; see details", Details: details}
}

// publicError maps any error to what the client is told. It is the only place
// where domain errors become statuses and codes.
func publicError(err error) *Error {
	var e *Error
	var verrs validate.Errors
	var tooLarge *http.MaxBytesError
	var unavailable *holds.SeatsUnavailableError
	var unknown *holds.UnknownSeatsError
	var limit *holds.LimitError
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &verrs):
		return invalidRequest(verrs)
	case errors.As(err, &tooLarge):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Message: "The body is larger than " + strconv.FormatInt(tooLarge.Limit, 10) + " bytes"}
	case errors.Is(err, flights.ErrNotFound):
		return errFlight404
	case errors.Is(err, flights.ErrDeparted):
		// Before holds.ErrExpired: a booking refused because the flight left
		// during the charge carries both, and the departure is the reason.
		return &Error{Status: http.StatusConflict, Code: "flight_departed", Message: "The flight has departed: it can no longer be held, booked or canceled"}
	case errors.As(err, &unavailable):
		return &Error{Status: http.StatusConflict, Code: "seats_unavailable", Message: "Some of the seats are taken", Details: map[string]any{"seats": unavailable.Seats}}
	case errors.As(err, &limit):
		return &Error{Status: http.StatusConflict, Code: "hold_limit_reached", Message: "This customer holds as much as it may; release or book a hold first",
			Details: map[string]any{"limit": limit.Limit, "held": limit.Held}}
	case errors.As(err, &unknown):
		return invalidRequest(validate.Errors{"seats": "the flight has no seat " + strings.Join(unknown.Seats, ", ")})
	case errors.Is(err, holds.ErrNotEnoughSeats):
		return &Error{Status: http.StatusConflict, Code: "not_enough_seats", Message: "Not enough seats are available in that cabin"}
	case errors.Is(err, holds.ErrNotFound), errors.Is(err, bookings.ErrNotFound), errors.Is(err, trips.ErrNotFound),
		errors.Is(err, events.ErrNotFound), errors.Is(err, store.ErrWebhookEndpointNotFound):
		return errNotFound
	case errors.Is(err, holds.ErrExpired):
		return &Error{Status: http.StatusGone, Code: "hold_expired", Message: "The hold has expired"}
	case errors.Is(err, holds.ErrAlreadyBooked):
		return &Error{Status: http.StatusConflict, Code: "hold_already_booked", Message: "The hold is booked; cancel the booking instead"}
	case errors.Is(err, holds.ErrNotActive), errors.Is(err, bookings.ErrPaymentInProgress):
		return &Error{Status: http.StatusConflict, Code: "hold_not_active", Message: "The hold is not active (released, or booked through another request)"}
	case errors.Is(err, bookings.ErrPaymentDeclined):
		return &Error{Status: http.StatusPaymentRequired, Code: "payment_declined", Message: "The payment was declined; the hold stays active until it expires"}
	case errors.Is(err, trips.ErrNotCancelable):
		return &Error{Status: http.StatusConflict, Code: "trip_not_cancelable", Message: "The trip cannot be canceled: it is not confirmed, or its provider refused", cause: err}
	case errors.Is(err, aggregator.ErrCancelInProgress):
		return &Error{Status: http.StatusServiceUnavailable, Code: "cancel_in_progress", Message: "The cancellation's outcome is not known yet; retry shortly", RetryAfter: 2, cause: err}
	case errors.Is(err, reserve.ErrPaymentUnavailable):
		return &Error{Status: http.StatusServiceUnavailable, Code: "payment_unavailable", Message: "The payment gateway did not answer; retry with the same Idempotency-Key", RetryAfter: 2}
	}
	return errInternal
}

// writeError answers with err's public face and logs the cause of a 5xx once.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	pe := publicError(err)
	if pe.Status >= 500 {
		level := slog.LevelError
		// The client went away: whatever broke (a canceled query, a
		// transaction the driver already rolled back) broke because of that.
		if r.Context().Err() != nil {
			level = slog.LevelInfo // the client went away; nothing is wrong with us
		}
		s.log.Log(r.Context(), level, "request failed", "error", err.Error())
	} else if pe.cause != nil {
		s.log.InfoContext(r.Context(), "request refused", "code", pe.Code, "error", pe.cause.Error())
	}
	if pe.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(pe.RetryAfter))
	}
	writeJSON(w, pe.Status, errorBody{Message: pe.Message, Code: pe.Code, Details: pe.Details})
}
