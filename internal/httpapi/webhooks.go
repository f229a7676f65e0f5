package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/validate"
	"github.com/reservd/reservd/internal/webhook"
)

// Limits of a webhook endpoint.
const (
	maxWebhookEndpoints   = 16 // per API key: each event is sent to each of them
	maxWebhookURL         = 2048
	maxWebhookDescription = 255
)

type webhookEndpointRequest struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description"`
}

// webhookEndpointView is the public WebhookEndpoint; Secret is shown only
// in the answer to its creation.
type webhookEndpointView struct {
	ID          string    `json:"id"`
	URL         string    `json:"url"`
	Events      []string  `json:"events"`
	Description string    `json:"description"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
	Secret      string    `json:"secret,omitempty"`
}

func endpointView(e store.WebhookEndpoint) webhookEndpointView {
	return webhookEndpointView{ID: e.ID, URL: e.URL, Events: e.Events, Description: e.Description,
		Status: e.Status, CreatedAt: e.CreatedAt.UTC()}
}

type webhookDeliveryView struct {
	ID             string     `json:"id"`
	EventID        string     `json:"event_id"`
	Attempt        int        `json:"attempt"`
	Status         string     `json:"status"`
	ResponseStatus *int       `json:"response_status"`
	DurationMS     *int       `json:"duration_ms"`
	NextAttemptAt  *time.Time `json:"next_attempt_at"`
	CreatedAt      time.Time  `json:"created_at"`
}

func deliveryView(d store.WebhookDelivery) webhookDeliveryView {
	v := webhookDeliveryView{ID: d.ID, EventID: d.EventID, Attempt: d.Attempt, Status: d.Status, CreatedAt: d.CreatedAt.UTC()}
	if d.ResponseStatus != 0 {
		v.ResponseStatus = &d.ResponseStatus
	}
	if d.Status != store.DeliveryPending {
		v.DurationMS = &d.DurationMS
	}
	if !d.NextAttemptAt.IsZero() {
		at := d.NextAttemptAt.UTC()
		v.NextAttemptAt = &at
	}
	return v
}

func (s *Server) createWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	var req webhookEndpointRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	var errs validate.Errors
	switch {
	case req.URL == "":
		errs.Add("url", "is required")
	case len(req.URL) > maxWebhookURL:
		errs.Add("url", fmt.Sprintf("must be at most %d characters", maxWebhookURL))
	default:
		if err := webhook.CheckURL(r.Context(), req.URL, s.webhookAllowPrivate); err != nil {
			errs.Add("url", err.Error())
		}
	}
	types, problem := webhookTypes(req.Events)
	if problem != "" {
		errs.Add("events", problem)
	}
	if len(req.Description) > maxWebhookDescription || !validate.Text(req.Description) {
		errs.Add("description", fmt.Sprintf("must be at most %d characters of text", maxWebhookDescription))
	}
	if err := errs.Err(); err != nil {
		return err
	}
	key := principal(r.Context()).KeyID
	existing, err := s.store.WebhookEndpointList(r.Context(), key)
	if err != nil {
		return err
	}
	if len(existing) >= maxWebhookEndpoints {
		return invalidRequest(validate.Errors{"url": fmt.Sprintf("this API key has %d webhook endpoints, the most it may have; delete one first", maxWebhookEndpoints)})
	}
	e, err := s.store.WebhookEndpointCreate(r.Context(), store.WebhookEndpoint{ID: store.NewWebhookEndpointID(), KeyID: key,
		URL: req.URL, Events: types, Description: req.Description, Secret: webhook.NewSecret()})
	if err != nil {
		return err
	}
	v := endpointView(e)
	v.Secret = e.Secret
	writeData(w, http.StatusCreated, v)
	return nil
}

// webhookTypes checks a subscription: at least one type, each an event
// type or "*"; duplicates are dropped.
func webhookTypes(in []string) ([]string, string) {
	if len(in) == 0 {
		return nil, `must list at least one event type, or "*" for all`
	}
	var out []string
	for _, t := range in {
		if t != events.All && !events.ValidType(t) {
			return nil, fmt.Sprintf("%q is not an event type", t)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, ""
}

func (s *Server) listWebhookEndpoints(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.WebhookEndpointList(r.Context(), principal(r.Context()).KeyID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(list, len(list), func(e store.WebhookEndpoint) any { return endpointView(e) }, nil))
	return nil
}

func (s *Server) getWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	e, err := s.store.WebhookEndpointGet(r.Context(), principal(r.Context()).KeyID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, endpointView(e))
	return nil
}

func (s *Server) deleteWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	key := principal(r.Context()).KeyID
	e, err := s.store.WebhookEndpointGet(r.Context(), key, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.store.WebhookEndpointDelete(r.Context(), key, e.ID); err != nil {
		return err
	}
	writeData(w, http.StatusOK, endpointView(e))
	return nil
}

// redeliveryView answers POST /events/{id}/redeliver: how many endpoints
// the event was queued for again.
type redeliveryView struct {
	EventID    string `json:"event_id"`
	Deliveries int    `json:"deliveries"`
}

type deliveryCursor struct {
	CreatedAt time.Time `json:"t"`
	ID        string    `json:"i"`
}

func (s *Server) listWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var errs validate.Errors
	limit := parseLimit(q.Get("limit"), &errs)
	var after *store.WebhookDeliveryCursor
	if v := q.Get("cursor"); v != "" {
		var c deliveryCursor
		if err := decodeCursor(v, &c); err != nil || c.ID == "" {
			errs.Add("cursor", "is not a cursor this API issued")
		} else {
			after = &store.WebhookDeliveryCursor{CreatedAt: c.CreatedAt, ID: c.ID}
		}
	}
	if err := errs.Err(); err != nil {
		return err
	}
	key := principal(r.Context()).KeyID
	e, err := s.store.WebhookEndpointGet(r.Context(), key, r.PathValue("id"))
	if err != nil {
		return err
	}
	list, err := s.store.WebhookDeliveryList(r.Context(), store.WebhookDeliveryListParams{KeyID: key, EndpointID: e.ID, After: after, Limit: limit + 1})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(list, limit, func(d store.WebhookDelivery) any { return deliveryView(d) }, func(d store.WebhookDelivery) any {
		return deliveryCursor{CreatedAt: d.CreatedAt, ID: d.ID}
	}))
	return nil
}

func (s *Server) redeliverEvent(w http.ResponseWriter, r *http.Request) error {
	if err := decodeOptionalEmpty(w, r); err != nil {
		return err
	}
	id := r.PathValue("id")
	if !events.ValidID(id) {
		return errNotFound
	}
	n, err := s.store.WebhookRedeliver(r.Context(), principal(r.Context()).KeyID, id)
	if err != nil {
		return err
	}
	writeData(w, http.StatusAccepted, redeliveryView{EventID: id, Deliveries: n})
	return nil
}
