package faults

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/storetest"
	"github.com/reservd/reservd/internal/trips"
)

// waitSettled waits until no payment, refund or trip is left for the
// background jobs: recovery must finish what the fault interrupted.
func (c *cluster) waitSettled(limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		depth, err := c.direct.WorkDepth(c.t.Context())
		if err != nil {
			return time.Since(start), err
		}
		if depth[store.QueuePayments] == 0 && depth[store.QueueRefunds] == 0 && depth[store.QueueTrips] == 0 {
			return time.Since(start), nil
		}
		if time.Since(start) > limit {
			return time.Since(start), fmt.Errorf("work left %v after the fault healed: %v", limit, depth)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// audit checks the database, the gateway and the simulators against what
// the storm's clients were told. It reads through a direct connection.
func (c *cluster) audit(t *testing.T, flight int64, log *ledger) {
	t.Helper()
	ctx := t.Context()
	c.auditSeats(t, ctx, flight, log)
	c.auditPayments(t, ctx)
	c.auditTrips(t, ctx, log)
}

// auditSeats: no oversell, no lost acknowledged booking.
func (c *cluster) auditSeats(t *testing.T, ctx context.Context, flight int64, log *ledger) {
	db := c.direct.Pool()
	// Defence in depth holds (a unique index), and nothing went round it.
	var twice int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM booking_seats WHERE live GROUP BY flight_id, seat HAVING count(*) > 1) x`).Scan(&twice); err != nil {
		t.Fatalf("audit: %v", err)
	}
	if twice != 0 {
		t.Errorf("OVERSELL: %d seats are in two live bookings", twice)
	}
	// Every seat marked booked is a live seat of a confirmed booking, and
	// the other way round.
	var mismatched int
	if err := db.QueryRow(ctx, `
		SELECT count(*) FROM seats s
		FULL JOIN (SELECT bs.flight_id, bs.seat, bs.booking_id FROM booking_seats bs
		           JOIN bookings b ON b.id = bs.booking_id AND b.status = 'confirmed' WHERE bs.live) l
		  ON l.flight_id = s.flight_id AND l.seat = s.label
		WHERE s.booking_id IS DISTINCT FROM l.booking_id`).Scan(&mismatched); err != nil {
		t.Fatalf("audit: %v", err)
	}
	if mismatched != 0 {
		t.Errorf("%d seats disagree with the live seats of confirmed bookings", mismatched)
	}

	byID, booked, seatCount := storetest.AuditSeats(t, ctx, c.direct, flight)
	log.mu.Lock()
	defer log.mu.Unlock()
	for id, seats := range log.booked {
		b, ok := byID[id]
		if !ok {
			t.Errorf("LOST BOOKING: acknowledged booking %s (seats %v) is missing", id, seats)
			continue
		}
		if !slices.Equal(b.Seats, seats) {
			t.Errorf("booking %s has seats %v, the client was told %v", id, b.Seats, seats)
		}
		switch {
		case log.canceled[id] && b.Status != bookings.Canceled:
			t.Errorf("booking %s is %s, its cancellation was acknowledged", id, b.Status)
		case b.Status == bookings.Canceled && !log.canceled[id] && !log.cancelUnknown[id]:
			t.Errorf("booking %s is canceled, no one asked", id)
		}
	}
	// Bookings no client heard of come from requests whose answer was lost.
	if extra := len(byID) - len(log.booked); extra < 0 || extra > log.bookUnknown {
		t.Errorf("%d bookings in the database, %d acknowledged, %d booking requests with an unknown outcome", len(byID), len(log.booked), log.bookUnknown)
	}
	t.Logf("audit: %d bookings (%d acknowledged, %d of unknown outcome; %d live seats of %d), %d cancellations acknowledged",
		len(byID), len(log.booked), len(byID)-len(log.booked), booked, seatCount, len(log.canceled))
}

// auditPayments: every booking charged exactly once, every charge accounted
// for, every refund recorded, nothing pending.
func (c *cluster) auditPayments(t *testing.T, ctx context.Context) {
	rows, err := c.direct.Pool().Query(ctx, `
		SELECT p.hold_id, p.state, coalesce(p.charge_id, ''), coalesce(p.refund_id, ''), p.booking_id, b.id IS NOT NULL, coalesce(b.status, '')
		FROM payments p LEFT JOIN bookings b ON b.hold_id = p.hold_id`)
	if err != nil {
		t.Fatalf("audit payments: %v", err)
	}
	defer rows.Close()
	charged, refunded, bookingsSeen := 0, 0, 0
	for rows.Next() {
		var hold, state, charge, refund, bookingID, bstatus string
		var hasBooking bool
		if err := rows.Scan(&hold, &state, &charge, &refund, &bookingID, &hasBooking, &bstatus); err != nil {
			t.Fatal(err)
		}
		n := c.gateway.ChargedFor("charge_" + hold + "_")
		switch store.PaymentState(state) {
		case store.PaymentCompleted, store.PaymentRefunding, store.PaymentRefunded:
			charged++
			if n != 1 {
				t.Errorf("DOUBLE CHARGE: hold %s (payment %s) was charged %d times", hold, state, n)
			}
			if charge == "" {
				t.Errorf("payment of hold %s is %s without a charge id", hold, state)
			}
		case store.PaymentDeclined:
			if n != 0 {
				t.Errorf("hold %s: payment declined, yet charged %d times", hold, n)
			}
		default:
			t.Errorf("payment of hold %s is still %s after recovery had time", hold, state)
		}
		if state == string(store.PaymentRefunded) {
			refunded++
			if refund == "" {
				t.Errorf("payment of hold %s is refunded without a refund id", hold)
			}
		}
		if hasBooking {
			bookingsSeen++
			if state == string(store.PaymentDeclined) || state == string(store.PaymentPending) {
				t.Errorf("booking %s exists with its payment %s", bookingID, state)
			}
			if bstatus == string(bookings.Canceled) && state == string(store.PaymentCompleted) {
				t.Errorf("booking %s is canceled, its payment was never refunded", bookingID)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var nBookings int
	if err := c.direct.Pool().QueryRow(ctx, `SELECT count(*) FROM bookings`).Scan(&nBookings); err != nil {
		t.Fatal(err)
	}
	if nBookings != bookingsSeen {
		t.Errorf("%d bookings, %d with a payment", nBookings, bookingsSeen)
	}
	if got := c.gateway.Succeeded(); got != charged {
		t.Errorf("the gateway made %d successful charges, %d payments were charged", got, charged)
	}
	if got := c.gateway.Refunded(); got != refunded {
		t.Errorf("the gateway made %d refunds, %d payments are refunded", got, refunded)
	}
	t.Logf("audit: %d payments charged, %d refunded", charged, refunded)
}

// auditTrips: every trip has at most one order across the providers; a
// confirmed trip has exactly its order, a failed one none, and no order is
// anyone else's.
func (c *cluster) auditTrips(t *testing.T, ctx context.Context, log *ledger) {
	rows, err := c.direct.Pool().Query(ctx, `SELECT id, api_key_id FROM trips`)
	if err != nil {
		t.Fatalf("audit trips: %v", err)
	}
	type ref struct {
		id  string
		key int64
	}
	var all []ref
	for rows.Next() {
		var r ref
		if err := rows.Scan(&r.id, &r.key); err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	type order struct {
		provider, reference, bookingRef string
	}
	var orders []order
	for name, kit := range c.sims.Kits() {
		for _, o := range kit.Orders() {
			orders = append(orders, order{provider: name, reference: o.Reference, bookingRef: o.BookingReference})
		}
	}
	claimed := make([]bool, len(orders))
	seen := map[string]bool{}
	status := map[trips.Status]int{}
	for _, r := range all {
		seen[r.id] = true
		tr, err := c.direct.TripGet(ctx, r.key, r.id)
		if err != nil {
			t.Errorf("trip %s: %v", r.id, err)
			continue
		}
		status[tr.Status]++
		var mine []order
		for i, o := range orders {
			if strings.HasPrefix(o.reference, tr.ID+"-") {
				mine = append(mine, o)
				claimed[i] = true
			}
		}
		switch {
		case len(mine) > 1:
			t.Errorf("DOUBLE ORDER: trip %s has %d orders: %+v", tr.ID, len(mine), mine)
		case tr.Status == trips.Confirmed && len(mine) == 0:
			t.Errorf("trip %s is confirmed at %s (%s) with no order there", tr.ID, tr.Provider, tr.ProviderBookingReference)
		case tr.Status == trips.Confirmed && (mine[0].provider != tr.Provider || mine[0].bookingRef != tr.ProviderBookingReference):
			t.Errorf("trip %s is confirmed at %s (%s), its order is at %s (%s)", tr.ID, tr.Provider, tr.ProviderBookingReference, mine[0].provider, mine[0].bookingRef)
		case tr.Status == trips.Failed && len(mine) > 0:
			t.Errorf("LOST ORDER: trip %s failed, yet has an order at %s", tr.ID, mine[0].provider)
		case tr.Status == trips.Pending:
			t.Errorf("trip %s is still pending after the fault healed: %+v", tr.ID, tr.Attempts)
		case tr.Status == trips.Failed:
			// Allowed (every offer refused or failed), and worth seeing.
			outcomes := map[string]int{}
			for _, a := range tr.Attempts {
				outcomes[a.Provider+":"+a.Outcome]++
			}
			t.Logf("trip %s failed after %d attempts: %v", tr.ID, len(tr.Attempts), outcomes)
		}
	}
	for i, o := range orders {
		if !claimed[i] {
			t.Errorf("order %s at %s (reference %q) belongs to no trip", o.bookingRef, o.provider, o.reference)
		}
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	for id := range log.trips {
		if !seen[id] {
			t.Errorf("LOST TRIP: acknowledged trip %s is missing", id)
		}
	}
	if extra := len(all) - len(log.trips); extra < 0 || extra > log.tripUnknown {
		t.Errorf("%d trips in the database, %d acknowledged, %d trip requests with an unknown outcome", len(all), len(log.trips), log.tripUnknown)
	}
	t.Logf("audit: %d trips (%v), %d orders", len(all), status, len(orders))
}
