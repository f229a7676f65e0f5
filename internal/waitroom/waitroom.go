// Package waitroom holds the rules of a flash sale's waiting room: who is
// admitted when, and the signed Queue-Token that lets an admitted customer
// hold seats. It imports nothing internal; the store keeps sales and
// tickets, the HTTP layer asks this package what they mean.
//
// # Admission without a coordinator
//
// Every replica must agree on who is admitted, so the queue lives in the
// database and admission is a pure function of what is stored there and the
// database's clock — no replica runs a ticker, holds the queue in memory or
// elects a leader. With interval = 1s / admit_per_second, each ticket gets a
// slot, the instant it is admitted:
//
//   - A customer who joins before opens_at (an early arrival) draws a random
//     rank at join time. Early tickets are ordered by (rank, id); the one at
//     index i of that order has slot opens_at + i·interval. The order exists
//     only once nobody can join early any more, which is exactly at
//     opens_at, so "shuffled at opens_at" needs no job at opens_at: the
//     shuffle key was fixed at join time and the index is counted on read.
//     Before opens_at a ticket has no position (the draw is not over).
//   - A customer who joins at or after opens_at takes the next slot in
//     arrival order: slot = max(next, joined_at), next = slot + interval,
//     where next starts at opens_at + (number of early tickets)·interval.
//     next is a column of the sale row, and every join locks that row
//     first and reads the clock after the lock, so joins are serialized in
//     arrival order and a join cannot be early once a later one counted
//     the early group. max(…, joined_at) is a leaky bucket: a queue that
//     ran empty does not bank admissions for a later burst.
//
// Slots are therefore at least one interval apart, so at most
// 1 + elapsed·admit_per_second tickets are admitted in any window, counted
// across all replicas. A waiting ticket's slots ahead of it are contiguous
// (a gap only opens when a ticket is admitted the instant it joins), so its
// position is ceil((slot − now) / interval) without counting rows.
//
// A ticket is admitted from its slot until slot + admission_ttl, then
// expired. An admitted ticket carries a token: HMAC-SHA-256 over the
// ticket, flight, customer, the sale's opens_at (so a sale put anew with
// another opens_at refuses the old one's tokens) and the expiry, checked
// on POST /holds with the
// replica's own clock and no database read. Every replica must share the
// signing secret: set QUEUE_TOKEN_SECRET to the same value everywhere, or
// leave it unset and the secret is generated once and kept in the
// database, which all replicas of one deployment share.
package waitroom

import (
	"errors"
	"time"
)

// ErrNoSale reports a flight that is not on sale behind a queue.
var ErrNoSale = errors.New("no sale")

// ErrTicketNotFound reports a ticket that does not exist for this customer.
var ErrTicketNotFound = errors.New("queue ticket not found")

// Limits of a sale's settings.
const (
	MaxAdmitPerSecond = 100_000
	MinAdmissionTTL   = time.Second
	MaxAdmissionTTL   = 24 * time.Hour
)

// Sale is a flight put on sale behind a waiting room.
type Sale struct {
	FlightID       int64
	OpensAt        time.Time
	AdmitPerSecond int
	AdmissionTTL   time.Duration
}

// Interval is the time between two admissions.
func (s Sale) Interval() time.Duration {
	return time.Second / time.Duration(s.AdmitPerSecond)
}

// Validate reports what is wrong with a sale's settings, field by field.
func (s Sale) Validate() map[string]string {
	errs := map[string]string{}
	if s.OpensAt.IsZero() {
		errs["opens_at"] = "is required"
	}
	if s.AdmitPerSecond < 1 || s.AdmitPerSecond > MaxAdmitPerSecond {
		errs["admit_per_second"] = "must be between 1 and 100000"
	}
	if s.AdmissionTTL < MinAdmissionTTL || s.AdmissionTTL > MaxAdmissionTTL {
		errs["admission_ttl"] = "must be a duration between 1s and 24h"
	}
	return errs
}

// Ticket is one customer's place in a sale's queue, as stored.
type Ticket struct {
	ID       string
	FlightID int64
	KeyID    int64
	JoinedAt time.Time
	// Early says the customer joined before opens_at; its slot comes from
	// EarlyIndex, its index in the (rank, id) order of the early tickets.
	Early      bool
	EarlyIndex int64
	// Slot is a late ticket's admission time, fixed at join.
	Slot time.Time
}

// Status of a ticket.
const (
	StatusWaiting  = "waiting"
	StatusAdmitted = "admitted"
	StatusExpired  = "expired"
)

// Admission is what a ticket means at one instant.
type Admission struct {
	Status string
	// Position is 1 for the next ticket to be admitted; 0 when the ticket
	// has none (admitted, expired, or before opens_at).
	Position   int64
	AdmittedAt time.Time // the ticket's slot; zero before opens_at
	ExpiresAt  time.Time // AdmittedAt + admission_ttl; zero before opens_at
}

// SlotOf is the instant a ticket is admitted.
func SlotOf(s Sale, t Ticket) time.Time {
	if t.Early {
		return s.OpensAt.Add(time.Duration(t.EarlyIndex) * s.Interval())
	}
	return t.Slot
}

// NextSlot is the slot a ticket joining at now takes when next is the
// sale's next free slot (zero before any late join) and early counts the
// early tickets; it returns the slot and the new next.
func NextSlot(s Sale, next time.Time, early int64, now time.Time) (slot, newNext time.Time) {
	if next.IsZero() {
		next = s.OpensAt.Add(time.Duration(early) * s.Interval())
	}
	slot = next
	if now.After(slot) {
		slot = now
	}
	return slot, slot.Add(s.Interval())
}

// Admit says what ticket t of sale s means at now (the database's clock).
func Admit(s Sale, t Ticket, now time.Time) Admission {
	if t.Early && now.Before(s.OpensAt) {
		return Admission{Status: StatusWaiting}
	}
	slot := SlotOf(s, t)
	a := Admission{AdmittedAt: slot, ExpiresAt: slot.Add(s.AdmissionTTL)}
	switch {
	case !now.Before(a.ExpiresAt):
		a.Status = StatusExpired
	case !now.Before(slot):
		a.Status = StatusAdmitted
	default:
		a.Status = StatusWaiting
		iv := int64(s.Interval())
		a.Position = (int64(slot.Sub(now)) + iv - 1) / iv
	}
	return a
}
