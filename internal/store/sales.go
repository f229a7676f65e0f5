package store

import (
	"context"
	"time"

	"github.com/reservd/reservd/internal/waitroom"
)

// Sales keeps flash sales and their waiting-room queues (see package
// waitroom for the rules). Every join locks the sale's row and reads the
// database clock after the lock, so joins are ordered the same on every
// replica.
type Sales interface {
	// SalePut puts a flight on sale behind a queue, or changes its sale;
	// changing any setting empties the queue (slots already handed out were
	// computed from the old settings). It returns flights.ErrNotFound for
	// an unknown flight.
	SalePut(ctx context.Context, s waitroom.Sale) error
	// SaleGet returns a flight's sale, or waitroom.ErrNoSale.
	SaleGet(ctx context.Context, flightID int64) (waitroom.Sale, error)
	// SaleDelete ends a sale and drops its queue, or returns waitroom.ErrNoSale.
	SaleDelete(ctx context.Context, flightID int64) error
	// QueueJoin gives the customer a ticket, or returns the one it has
	// (Created false). It returns waitroom.ErrNoSale when the flight has
	// no sale.
	QueueJoin(ctx context.Context, p QueueJoinParams) (QueueView, error)
	// QueueTicketGet returns a customer's ticket, or waitroom.ErrTicketNotFound
	// (also for another customer's ticket or another flight's).
	QueueTicketGet(ctx context.Context, p QueueTicketGetParams) (QueueView, error)
	// SaleSecret returns the queue-token signing secret kept in the
	// database, storing candidate first if there is none yet, so every
	// replica and every restart signs with the same secret.
	SaleSecret(ctx context.Context, candidate []byte) ([]byte, error)
}

// QueueJoinParams is a customer joining a sale's queue.
type QueueJoinParams struct {
	FlightID int64
	KeyID    int64
	// TicketID and Rank are used if the customer has no ticket yet: a new
	// id, and the random shuffle key of an early arrival.
	TicketID string
	Rank     int64
}

// QueueTicketGetParams names a customer's ticket.
type QueueTicketGetParams struct {
	FlightID int64
	KeyID    int64
	TicketID string
}

// QueueView is a ticket with its sale and the database clock it was read at.
type QueueView struct {
	Sale    waitroom.Sale
	Ticket  waitroom.Ticket
	Now     time.Time
	Created bool
}
