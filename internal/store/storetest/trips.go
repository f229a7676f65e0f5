package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/idempotency"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/trips"
)

func testTrips(t *testing.T, newStore NewStore) {
	s := newStore(t)
	ctx := t.Context()
	_, digest := apikey.Generate()
	alice, err := s.APIKeyCreate(ctx, store.APIKeyCreateParams{Name: "alice", Digest: digest, Admin: false})
	if err != nil {
		t.Fatal(err)
	}
	req := trips.Request{Origin: "SFO", Destination: "JFK", DepartureDate: "2026-12-24", Currency: "USD",
		Passengers: []trips.Passenger{{GivenName: "Ada", FamilyName: "Lovelace", BornOn: "1990-12-10"}},
		MaxPrice:   &money.Money{Amount: 50000, Currency: "USD"}}
	if _, err := s.IdempotencyKeyClaim(ctx, idempotency.ClaimParams{KeyID: alice, Key: "trip-1", Fingerprint: "fp", Lease: time.Minute}); err != nil {
		t.Fatal(err)
	}
	done := &idempotency.Completion[trips.Trip]{KeyID: alice, Key: "trip-1", Status: 202, Render: func(tr trips.Trip) ([]byte, error) {
		return []byte(`{"id":"` + tr.ID + `"}`), nil
	}}
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	created, err := s.TripCreate(ctx, trips.Trip{ID: trips.NewID(), KeyID: alice, Request: req, TraceParent: traceparent}, done)
	if err != nil {
		t.Fatalf("CreateTrip: %v", err)
	}
	if created.Status != trips.Pending || created.CreatedAt.IsZero() || created.Request.MaxPrice.Amount != 50000 {
		t.Errorf("created trip = %+v", created)
	}
	if c, _ := s.IdempotencyKeyClaim(ctx, idempotency.ClaimParams{KeyID: alice, Key: "trip-1", Fingerprint: "fp", Lease: time.Minute}); c.Outcome != idempotency.Replay || c.Status != 202 {
		t.Errorf("trip key after CreateTrip = %+v, want a stored 202", c)
	}
	if _, err := s.TripGet(ctx, alice+1, created.ID); !errors.Is(err, trips.ErrNotFound) {
		t.Errorf("another key's Trip: %v, want ErrNotFound", err)
	}
	if d, err := s.WorkDepth(ctx); err != nil || d[store.QueueTrips] != 1 {
		t.Errorf("WorkDepth with one pending trip = %v, %v", d, err)
	}
	claimed, err := s.TripClaim(ctx, 200*time.Millisecond, 10)
	if err != nil || len(claimed) != 1 || claimed[0].ID != created.ID {
		t.Fatalf("ClaimTrips = %+v, %v", claimed, err)
	}
	if claimed[0].TraceParent != traceparent {
		t.Errorf("claimed trip's TraceParent = %q, want the creating request's %q", claimed[0].TraceParent, traceparent)
	}
	if again, _ := s.TripClaim(ctx, time.Minute, 10); len(again) != 0 {
		t.Errorf("a leased trip was claimed again")
	}
	tr := claimed[0]
	tr.Attempts = append(tr.Attempts, trips.Attempt{Provider: "kiwi", OfferID: "off_x", Price: money.Money{Amount: 100, Currency: "USD"}, Outcome: trips.OutcomeUnavailable, Reference: tr.ID + "-1"})
	tr.InFlight = &trips.Attempt{Provider: "duffel", OfferID: "off_y", Reference: tr.ID + "-2"}
	if err := s.TripSave(ctx, tr, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	resumed, err := s.TripClaim(ctx, time.Minute, 10)
	if err != nil || len(resumed) != 1 || len(resumed[0].Attempts) != 1 || resumed[0].InFlight == nil || resumed[0].InFlight.Reference != tr.ID+"-2" {
		t.Fatalf("resumed trip = %+v, %v", resumed, err)
	}
	// The first worker's claim is stale now: its saves are refused.
	if err := s.TripSave(ctx, tr, time.Minute); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("save with a superseded claim: %v, want ErrLeaseLost", err)
	}
	if resumed[0].Claim <= tr.Claim {
		t.Errorf("claims %d then %d: the fencing token must grow", tr.Claim, resumed[0].Claim)
	}
	tr = resumed[0]
	tr.Status, tr.Provider, tr.ProviderBookingReference, tr.InFlight = trips.Confirmed, "duffel", "PNR123", nil
	tr.Price = &money.Money{Amount: 200, Currency: "USD"}
	if err := s.TripSave(ctx, tr, time.Minute); err != nil {
		t.Fatal(err)
	}
	tr.Status = trips.Failed
	if err := s.TripSave(ctx, tr, time.Minute); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("SaveTrip of a finished trip: %v, want ErrLeaseLost", err)
	}
	got, err := s.TripGet(ctx, alice, tr.ID)
	if err != nil || got.Status != trips.Confirmed || got.ProviderBookingReference != "PNR123" || got.Price.Amount != 200 || got.InFlight != nil {
		t.Errorf("final trip = %+v, %v; want confirmed and never changed after", got, err)
	}
	if none, _ := s.TripClaim(ctx, time.Minute, 10); len(none) != 0 {
		t.Errorf("a finished trip was claimed")
	}
	if d, err := s.WorkDepth(ctx); err != nil || d[store.QueueTrips] != 0 {
		t.Errorf("WorkDepth once the trip is confirmed = %v, %v", d, err)
	}

	// Canceling: the cancellation is written down first (compare-and-set on
	// status and claim: of two racing updates one loses), then the outcome.
	got.OrderID = "ord_1"
	started := got
	started.Cancel = &trips.Cancellation{StartedAt: time.Now().UTC().Truncate(time.Millisecond)}
	owned, err := s.TripUpdate(ctx, started, trips.Confirmed)
	if err != nil || owned.Cancel == nil || !owned.Cancel.StartedAt.Equal(started.Cancel.StartedAt) || owned.Claim <= got.Claim || owned.OrderID != "ord_1" {
		t.Fatalf("TripUpdate writing a cancellation = %+v, %v", owned, err)
	}
	if _, err := s.TripUpdate(ctx, started, trips.Confirmed); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("a second update with the same claim: %v, want ErrLeaseLost", err)
	}
	if w, err := s.TripCancelsWritten(ctx, 10); err != nil || len(w) != 1 || w[0].ID != tr.ID || w[0].Cancel == nil {
		t.Errorf("TripCancelsWritten with one written down = %+v, %v", w, err)
	}
	canceled := owned
	canceled.Status, canceled.Cancel, canceled.Refund = trips.Canceled, nil, &money.Money{Amount: 150, Currency: "GBP"}
	if _, err := s.TripUpdate(ctx, canceled, trips.Pending); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("update from a status the trip is not in: %v, want ErrLeaseLost", err)
	}
	if _, err := s.TripUpdate(ctx, canceled, trips.Confirmed); err != nil {
		t.Fatalf("TripUpdate to canceled: %v", err)
	}
	got, err = s.TripGet(ctx, alice, tr.ID)
	if err != nil || got.Status != trips.Canceled || got.Refund == nil || *got.Refund != (money.Money{Amount: 150, Currency: "GBP"}) ||
		got.Cancel != nil || got.OrderID != "ord_1" || got.ProviderBookingReference != "PNR123" {
		t.Errorf("canceled trip = %+v, %v", got, err)
	}
	if none, _ := s.TripClaim(ctx, time.Minute, 10); len(none) != 0 {
		t.Errorf("a canceled trip was claimed")
	}
	if w, err := s.TripCancelsWritten(ctx, 10); err != nil || len(w) != 0 {
		t.Errorf("TripCancelsWritten once canceled = %+v, %v", w, err)
	}
}
