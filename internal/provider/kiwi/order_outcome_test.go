package kiwi

import (
	"errors"
	"testing"

	"github.com/reservd/reservd/internal/fx"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/simkit"
)

// usdOffer searches in USD: Kiwi's save_booking then states its total in
// EUR when the simulator is told to.
func usdOffer(t *testing.T, e env) provider.Offer {
	t.Helper()
	req := searchReq
	req.Currency = "USD"
	offers, err := e.client.Search(t.Context(), req)
	if err != nil || len(offers) == 0 || offers[0].Price.Currency != "USD" {
		t.Fatalf("search in USD: %v %v", offers, err)
	}
	return offers[0]
}

func TestBookReadsATotalInAnotherCurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "k")
	offer := usdOffer(t, e)
	e.sim.Kit.Update(func(k *simkit.Knobs) { k.OrderAnswerCurrency = "EUR" })
	max := money.Money{Amount: offer.Price.Amount * 2, Currency: "USD"}
	order, err := e.client.Book(t.Context(), provider.OrderRequest{Offer: offer, Passengers: passengers, Reference: "trp_eur-1",
		MaxPrice: &max, Rates: fx.Default()})
	if err != nil || order.ID == "" || order.Price.Currency != "EUR" || order.Price.Amount <= 0 {
		t.Fatalf("book = %+v, %v; want an order priced as Kiwi stated it, in EUR", order, err)
	}
	e.assertOrders(t, 1)
}

func TestBookChecksATotalInAnotherCurrencyAgainstMaxPrice(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "k")
	offer := usdOffer(t, e)
	e.sim.Kit.Update(func(k *simkit.Knobs) { k.OrderAnswerCurrency = "EUR" })
	max := money.Money{Amount: offer.Price.Amount / 2, Currency: "USD"}
	_, err := e.client.Book(t.Context(), provider.OrderRequest{Offer: offer, Passengers: passengers, Reference: "trp_max-1",
		MaxPrice: &max, Rates: fx.Default()})
	var pc *provider.PriceChangedError
	if !errors.As(err, &pc) || pc.New.Currency != "EUR" {
		t.Fatalf("book = %v, want a refusal before payment with the EUR total", err)
	}
	e.assertOrders(t, 0) // never paid
	if n := e.sim.Kit.Stats().OrderCalls; n != 1 {
		t.Errorf("%d save_booking calls, want 1", n)
	}
}

func TestBookRefusesAMovedPriceStatedInAnotherCurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "k")
	offer := usdOffer(t, e)
	e.sim.Kit.Update(func(k *simkit.Knobs) { k.OrderAnswerCurrency, k.PriceChangeAtBooking = "EUR", 10 })
	_, err := e.client.Book(t.Context(), provider.OrderRequest{Offer: offer, Passengers: passengers, Reference: "trp_moved-1"})
	if !errors.As(err, new(*provider.PriceChangedError)) {
		t.Fatalf("book = %v, want a price change (Kiwi's price_change)", err)
	}
	e.assertOrders(t, 0)
}

func TestBookPaysAnUnreadableTotalAtTheCheckedPrice(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "k")
	offer := usdOffer(t, e)
	e.sim.Kit.Update(func(k *simkit.Knobs) { k.UnreadableOrderAnswer = true })
	order, err := e.client.Book(t.Context(), provider.OrderRequest{Offer: offer, Passengers: passengers, Reference: "trp_garbled-1"})
	if err != nil || order.ID == "" || order.Price != offer.Price {
		t.Fatalf("book = %+v, %v; want the order at the checked %v", order, err, offer.Price)
	}
	e.assertOrders(t, 1)
}

func TestFindOrderNeverTakesA404ForAbsence(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "k")
	e.sim.Kit.Update(func(k *simkit.Knobs) { k.NoLookupRoute = true })
	_, err := e.client.FindOrder(t.Context(), "trp_lookup-1")
	if errors.Is(err, provider.ErrNotFound) || !errors.Is(err, ErrLookupUnverified) {
		t.Fatalf("find order behind a 404 = %v, want ErrLookupUnverified, never ErrNotFound", err)
	}
}

func TestFindOrderOfAnUnpaidBookingIsNeitherFoundNorAbsent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "k")
	offer := usdOffer(t, e)
	e.sim.Kit.Update(func(k *simkit.Knobs) { k.CutAfterOrder = true })
	// The answer to save_booking was cut: the booking is saved, unpaid,
	// and Book says that no order was made (it never sent the payment).
	if _, err := e.client.Book(t.Context(), provider.OrderRequest{Offer: offer, Passengers: passengers, Reference: "trp_cut-1"}); !errors.Is(err, provider.ErrNoOrder) {
		t.Fatalf("book through a cut connection = %v, want ErrNoOrder", err)
	}
	e.assertOrders(t, 0)
	_, err := e.client.FindOrder(t.Context(), "trp_cut-1")
	if !errors.Is(err, provider.ErrOrderPending) || errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("find order = %v, want ErrOrderPending", err)
	}
}
