package amadeus_test

import (
	"errors"
	"testing"

	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/simkit"
)

// TestFindOrderNeverTakesA404OfAKnownOrderForAbsence: an order this client
// booked (so it knows its id) that answers 404 later was made; it is not
// "no order exists", which would let a trip order a second time.
func TestFindOrderNeverTakesA404OfAKnownOrderForAbsence(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	offer := e.firstOffer(t)
	if _, err := e.client.Book(t.Context(), provider.OrderRequest{Offer: offer, Passengers: []provider.Passenger{ada}, Reference: "trp_gone-1"}); err != nil {
		t.Fatalf("book: %v", err)
	}
	e.sim.Kit.Update(func(k *simkit.Knobs) { k.NoLookupRoute = true })
	if _, err := e.client.FindOrder(t.Context(), "trp_gone-1"); err == nil || errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("find order behind a 404 = %v, want an error that is not ErrNotFound", err)
	}
	e.orders(t, 1)
}

// TestBookReturnsTheOrderAnUnreadableAnswerNames: a 201 whose prices cannot
// be read still names the order; that is the outcome, at the price of the
// offer sent, not an unknown one.
func TestBookReturnsTheOrderAnUnreadableAnswerNames(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	offer := e.firstOffer(t)
	e.sim.Kit.Update(func(k *simkit.Knobs) { k.UnreadableOrderAnswer = true })
	order, err := e.client.Book(t.Context(), provider.OrderRequest{Offer: offer, Passengers: []provider.Passenger{ada}, Reference: "trp_garbled-1"})
	if err != nil || order.ID == "" || order.BookingReference == "" || order.Price != offer.Price {
		t.Fatalf("book = %+v, %v; want the named order at %v", order, err, offer.Price)
	}
	if o := e.orders(t, 1)[0]; o.ID != order.ID {
		t.Errorf("order %s, the simulator made %s", order.ID, o.ID)
	}
}
