package duffel

import (
	"errors"
	"testing"

	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/simkit"
)

// TestBookReturnsTheOrderAnUnreadableAnswerNames: a 201 whose total cannot
// be read still names the order; that is the outcome, at the amount the
// balance payment paid, not an unknown one.
func TestBookReturnsTheOrderAnUnreadableAnswerNames(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	offer := e.search(t, e.c)[0]
	e.sim.Kit.Update(func(k *simkit.Knobs) { k.UnreadableOrderAnswer = true })
	order, err := book(t.Context(), e.c, offer, "trp_garbled-1")
	if err != nil || order.ID == "" || order.Price != offer.Price {
		t.Fatalf("book = %+v, %v; want the named order at %v", order, err, offer.Price)
	}
	e.orders(t, 1)
}

// TestFindOrderBehindA404IsNotAbsence: an order list that answers 404 (a
// route the server does not have) proves nothing about the order.
func TestFindOrderBehindA404IsNotAbsence(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sim.Kit.Update(func(k *simkit.Knobs) { k.NoLookupRoute = true })
	if _, err := e.c.FindOrder(t.Context(), "trp_lookup-1"); err == nil || errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("find order behind a 404 = %v, want an error that is not ErrNotFound", err)
	}
}
