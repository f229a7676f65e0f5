package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/id"
)

// Webhooks keeps customers' webhook endpoints and the durable queue of
// deliveries to them (package webhook sends them).
//
// First attempts come from the sequenced event feed itself: each endpoint
// has a stream position (the last events.pos it has been sent), and a
// dispatcher leases an endpoint's stream, reads its customer's events past
// the position, sends those the endpoint subscribes to, and then, in one
// transaction, writes each attempt's row to the log and moves the position
// (WebhookStreamClaim, WebhookStreamRecord). No row exists for a first
// attempt before it is made, so the queue costs one batched insert per
// delivery. A dispatcher that dies leaves its lease to run out, and another
// sends the same events again: at least once.
//
// Retries (and redeliveries) are rows: a failed attempt writes the next
// attempt of its chain as a pending row, which a dispatcher claims with a
// lease, per endpoint and in batches (up to each endpoint's room on that
// replica, through the index on (endpoint_id, next_attempt_at) of the
// pending rows, so that an endpoint without room or work costs nothing),
// sends and records, many in one transaction, until the retry window since
// the chain's first attempt has passed and the endpoint is disabled.
type Webhooks interface {
	// WebhookEndpointCreate stores a new endpoint (ID, KeyID, URL, Events,
	// Description, Secret set) and returns it as stored.
	WebhookEndpointCreate(ctx context.Context, e WebhookEndpoint) (WebhookEndpoint, error)
	// WebhookEndpointGet returns one of keyID's endpoints or ErrWebhookEndpointNotFound.
	WebhookEndpointGet(ctx context.Context, keyID int64, id string) (WebhookEndpoint, error)
	// WebhookEndpointList returns keyID's endpoints, newest first.
	WebhookEndpointList(ctx context.Context, keyID int64) ([]WebhookEndpoint, error)
	// WebhookEndpointDelete deletes one of keyID's endpoints and its
	// deliveries, or returns ErrWebhookEndpointNotFound.
	WebhookEndpointDelete(ctx context.Context, keyID int64, id string) error

	// WebhookStreamClaim leases, for p.Lease, the streams of up to
	// p.Endpoints enabled endpoints (none of p.Skip) whose customer has
	// sequenced events past the stream's position, longest unleased first,
	// and returns each with the next p.Events of those events: Events are
	// those the endpoint subscribes to, oldest first, and Through the
	// position of the last one read, wanted or not.
	WebhookStreamClaim(ctx context.Context, p WebhookStreamClaimParams) ([]WebhookStream, error)
	// WebhookStreamRecord records the first attempts made from a claimed
	// stream and moves its position to s.Through, giving the lease back, in
	// one transaction: a row per outcome (delivered or failed), and for each
	// failure the next attempt of its chain, pending for RetryIn. With no
	// outcomes and s.Through = s.From it only gives the lease back. stale:
	// the claim is no longer the latest, or the position moved (the lease
	// ran out and another dispatcher took the stream over), and nothing was
	// written.
	WebhookStreamRecord(ctx context.Context, s WebhookStream, os []WebhookStreamOutcome) (stale bool, err error)
	// WebhookClaim leases up to each enabled endpoint's room (p.PerEndpoint
	// - p.Busy[id]) of its due, unleased pending deliveries, oldest due
	// first, and up to p.Limit in all (the oldest due across the
	// endpoints). An endpoint's first p.Wave are leased for p.Lease, each
	// further p.Wave for p.Step longer: the time to send them p.Wave at a
	// time. The result is ordered by endpoint, then position (WebhookClaim.Lease).
	WebhookClaim(ctx context.Context, p WebhookClaimParams) ([]WebhookClaim, error)
	// WebhookRelease gives back claims not sent, due again at once (a
	// dispatcher shutting down with claims it did not start).
	WebhookRelease(ctx context.Context, claims []WebhookClaim) error
	// WebhookRecordMany records the outcomes of claimed attempts in one
	// transaction and says what it did with each, in order. An outcome
	// whose claim is no longer the latest (its lease ran out and another
	// dispatcher took the delivery over) changes nothing and is Stale.
	WebhookRecordMany(ctx context.Context, os []WebhookOutcome) ([]WebhookRecorded, error)
	// WebhookDeliveryList returns an endpoint's deliveries newest first.
	WebhookDeliveryList(ctx context.Context, p WebhookDeliveryListParams) ([]WebhookDelivery, error)
	// WebhookRedeliver writes a new pending delivery of one of keyID's
	// events to each of keyID's enabled endpoints subscribed to its type and
	// returns how many; events.ErrNotFound for an event that is not keyID's.
	WebhookRedeliver(ctx context.Context, keyID int64, eventID string) (int, error)
	// WebhookPrune deletes up to limit finished deliveries (delivered or
	// failed) older than age: the log keeps what the event feed keeps.
	WebhookPrune(ctx context.Context, age time.Duration, limit int) (int, error)
	// WebhookGauges counts the pending deliveries of enabled endpoints (due
	// now, or waiting for a retry's backoff), the events past their stream
	// positions and the disabled endpoints.
	WebhookGauges(ctx context.Context) (WebhookCounts, error)
}

// ErrWebhookEndpointNotFound reports an endpoint that does not exist or is
// another customer's.
var ErrWebhookEndpointNotFound = errors.New("webhook endpoint not found")

// Webhook endpoint statuses.
const (
	WebhookEnabled  = "enabled"
	WebhookDisabled = "disabled"
)

// Webhook delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// WebhookEndpoint is where a customer wants its events sent.
type WebhookEndpoint struct {
	ID          string
	KeyID       int64
	URL         string
	Events      []string // event types, or events.All
	Description string
	Secret      string
	Status      string
	CreatedAt   time.Time
	DisabledAt  time.Time // zero while enabled
}

// Subscribes reports whether the endpoint wants events of type t.
func (e WebhookEndpoint) Subscribes(t events.Type) bool { return events.Matches(e.Events, t) }

// WebhookDelivery is one attempt to send an event to an endpoint.
type WebhookDelivery struct {
	ID             string
	EndpointID     string
	EventID        string
	KeyID          int64
	Attempt        int
	Status         string
	ResponseStatus int // 0: no HTTP answer (or not attempted yet)
	DurationMS     int
	NextAttemptAt  time.Time // when a pending attempt is due; zero once done
	FirstAttemptAt time.Time // when the chain's first attempt was written
	CreatedAt      time.Time
}

// WebhookStreamClaimParams selects endpoints' streams to lease.
type WebhookStreamClaimParams struct {
	Endpoints int           // streams to lease at most
	Events    int           // events to read per stream at most
	Lease     time.Duration // how long each is leased
	Skip      []string      // endpoint ids not to lease (streamed by the caller)
}

// WebhookStream is a leased endpoint stream with the events to send.
type WebhookStream struct {
	EndpointID string
	KeyID      int64
	URL        string
	Secret     string
	Claim      int   // the lease's number; recording needs it
	From       int64 // the stream's position when claimed
	Through    int64 // the position of the last event read
	// Events are the events read that the endpoint subscribes to.
	Events []events.Event
}

// WebhookStreamLease is an endpoint whose stream an engine has just
// leased: its claim number and its position.
type WebhookStreamLease struct {
	Endpoint WebhookEndpoint
	Claim    int
	Pos      int64
}

// ReadWebhookStreams turns leased streams into claims: for each, the next
// limit events of its customer past its position, read through list (the
// engine's EventList), of which Events keeps those the endpoint subscribes
// to and Through is the last one's position. Both engines' claims end here.
func ReadWebhookStreams(ctx context.Context, leases []WebhookStreamLease, limit int,
	list func(context.Context, EventListParams) ([]events.Event, error)) ([]WebhookStream, error) {
	out := make([]WebhookStream, 0, len(leases))
	for _, l := range leases {
		evs, err := list(ctx, EventListParams{KeyID: l.Endpoint.KeyID, AfterPos: l.Pos, Limit: limit})
		if err != nil {
			return nil, fmt.Errorf("read webhook stream of %s: %w", l.Endpoint.ID, err)
		}
		st := WebhookStream{EndpointID: l.Endpoint.ID, KeyID: l.Endpoint.KeyID, URL: l.Endpoint.URL, Secret: l.Endpoint.Secret,
			Claim: l.Claim, From: l.Pos, Through: l.Pos, Events: l.Endpoint.Subscribed(evs)}
		if len(evs) > 0 {
			st.Through = evs[len(evs)-1].Pos
		}
		out = append(out, st)
	}
	return out, nil
}

// Released is s as recording nothing: its lease given back, its position
// left where it was.
func (s WebhookStream) Released() WebhookStream {
	s.Through, s.Events = s.From, nil
	return s
}

// WebhookStreamOutcome is the result of a stream's first attempt to send
// one event.
type WebhookStreamOutcome struct {
	EventID        string
	Delivered      bool
	ResponseStatus int
	Duration       time.Duration
	RetryIn        time.Duration // when the next attempt is due after a failure
}

// Subscribed keeps the events e subscribes to, in order: the one rule of
// what an endpoint is sent, beside WebhookMatches.
func (e WebhookEndpoint) Subscribed(evs []events.Event) []events.Event {
	var out []events.Event
	for _, ev := range evs {
		if ev.KeyID == e.KeyID && e.Subscribes(ev.Type) {
			out = append(out, ev)
		}
	}
	return out
}

// WebhookClaimParams selects deliveries to lease.
type WebhookClaimParams struct {
	// PerEndpoint is how many deliveries of one endpoint the caller may
	// hold at once; Busy is how many it holds now by endpoint id. An
	// endpoint's room, PerEndpoint - Busy[id], is the most it is given.
	PerEndpoint int
	Busy        map[string]int
	Limit       int // in all, oldest due first across endpoints; 0: no limit
	Lease       time.Duration
	Wave        int           // deliveries of an endpoint per lease step; 0: all leased for Lease
	Step        time.Duration // added to the lease of each further wave
}

// WebhookClaim is a leased delivery with what sending it needs.
type WebhookClaim struct {
	Delivery WebhookDelivery
	Claim    int           // the lease's number; recording the outcome needs it
	Lease    time.Duration // how long it is leased for, from the claim
	URL      string
	Secret   string
	// Event is the event to send; ok is false when it no longer exists
	// (pruned past retention).
	Event   events.Event
	EventOK bool
}

// WebhookOutcome is the result of sending a claimed delivery.
type WebhookOutcome struct {
	ID             string
	Claim          int
	Delivered      bool
	ResponseStatus int
	Duration       time.Duration
	// RetryIn is when the next attempt is due after a failure; a negative
	// value gives up on the chain without disabling the endpoint.
	RetryIn time.Duration
	// RetryFor is the retry window: a failure at least this long after the
	// chain's first attempt disables the endpoint instead of retrying.
	RetryFor time.Duration
}

// WebhookRecorded says what recording an outcome did.
type WebhookRecorded struct {
	Stale    bool // the claim was not the latest; nothing was written
	Retry    bool // a next attempt was written
	Disabled bool // the endpoint was disabled (it was enabled until this outcome)
}

// WebhookDeliveryListParams selects a page of an endpoint's deliveries.
type WebhookDeliveryListParams struct {
	KeyID      int64
	EndpointID string
	After      *WebhookDeliveryCursor // nil for the first page
	Limit      int
}

// WebhookDeliveryCursor is where a page of deliveries, newest first, ends.
type WebhookDeliveryCursor struct {
	CreatedAt time.Time
	ID        string
}

// WebhookCounts are the webhook gauges.
type WebhookCounts struct {
	Due      int // pending deliveries of enabled endpoints due now
	Waiting  int // pending deliveries of enabled endpoints waiting for a retry's backoff
	Disabled int // disabled endpoints
	// Unsent is how many sequenced events lie past the stream positions
	// of enabled endpoints (of every type, so at least the first attempts
	// to make): it grows while no replica delivers (every one
	// WEBHOOK_DELIVER=false) or the dispatchers fall behind.
	Unsent int
}

// WebhookMatches pairs events with the endpoints that want them, in event
// order: the one rule of who receives what, shared by both engines.
func WebhookMatches(evs []events.Event, endpoints []WebhookEndpoint) []WebhookDelivery {
	var out []WebhookDelivery
	for _, ev := range evs {
		for _, e := range endpoints {
			if e.KeyID == ev.KeyID && e.Status == WebhookEnabled && e.Subscribes(ev.Type) {
				out = append(out, WebhookDelivery{ID: NewWebhookDeliveryID(), EndpointID: e.ID, EventID: ev.ID, KeyID: ev.KeyID, Attempt: 1})
			}
		}
	}
	return out
}

// WaveLease is the lease of the delivery at position k of an endpoint's
// claimed batch (see WebhookClaimParams): lease, and step more per wave.
func WaveLease(lease, step time.Duration, wave, k int) time.Duration {
	if wave <= 0 {
		return lease
	}
	return lease + step*time.Duration(k/wave)
}

// NewWebhookEndpointID returns a fresh endpoint id.
func NewWebhookEndpointID() string { return id.New("we") }

// NewWebhookDeliveryID returns a fresh delivery id.
func NewWebhookDeliveryID() string { return id.New("wd") }

// ValidWebhookEndpointID reports whether s could be an endpoint id.
func ValidWebhookEndpointID(s string) bool { return id.Valid("we", s) }
