package httpapi

import (
	"errors"
	"net/http"

	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/validate"
)

// listEvents serves GET /events: the customer's own events, oldest first
// (in commit order, by position), strictly after the event named by
// ?after=, of the types ?type= lists (comma-separated; all when absent).
// An event is listed once the sequencer has given it its position, within
// EVENT_SEQUENCE_INTERVAL of its commit (package events explains why).
// next_cursor continues the same query; a client polling for new events
// passes the last id it saw as after.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	keyID := principal(r.Context()).KeyID
	var errs validate.Errors
	limit := parseLimit(q.Get("limit"), &errs)
	types, err := events.ParseTypes(q.Get("type"))
	if err != nil {
		errs.Add("type", "must be event types separated by commas: "+err.Error())
	}
	var afterPos int64
	if v := q.Get("cursor"); v != "" {
		var c eventCursor
		if err := decodeCursor(v, &c); err != nil || c.Pos <= 0 {
			errs.Add("cursor", "is not a cursor this API issued")
		} else {
			afterPos = c.Pos
		}
	} else if id := q.Get("after"); id != "" {
		e, err := s.store.EventGet(r.Context(), keyID, id)
		if !events.ValidID(id) {
			e, err = events.Event{}, events.ErrNotFound
		}
		switch {
		case errors.Is(err, events.ErrNotFound):
			errs.Add("after", "is not one of this API key's events")
		case err != nil:
			return err
		case e.Pos == 0:
			// Not in the feed yet, so nothing is known to come after it:
			// the client asks again.
			writeJSON(w, http.StatusOK, page{Data: []events.Event{}})
			return nil
		default:
			afterPos = e.Pos
		}
	}
	if err := errs.Err(); err != nil {
		return err
	}
	list, err := s.store.EventList(r.Context(), store.EventListParams{KeyID: keyID, AfterPos: afterPos, Types: types, Limit: limit + 1})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(list, limit, func(e events.Event) events.Event { return e }, func(e events.Event) any {
		return eventCursor{Pos: e.Pos}
	}))
	return nil
}

// eventCursor continues a listing of events after a position.
type eventCursor struct {
	Pos int64 `json:"p"`
}
