package aggregator_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reservd/reservd/internal/aggregator"
	"github.com/reservd/reservd/internal/fx"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider/simkit"
	"github.com/reservd/reservd/internal/provider/simset"
	"github.com/reservd/reservd/internal/trips"
)

// soloWorld is an aggregator over one provider's simulator, over real
// HTTP: whatever happens to an order there, no other provider can hide a
// second order by confirming the trip first.
func soloWorld(t *testing.T, name string) (*aggregator.Aggregator, *simkit.Sim) {
	t.Helper()
	sims, err := simset.Start()
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		sims.Close()
		hc.CloseIdleConnections()
	})
	cfg := aggregator.DefaultConfig()
	cfg.CallTimeout, cfg.SearchBudget, cfg.RetryBase, cfg.BookTimeout = time.Second, 2*time.Second, 10*time.Millisecond, time.Second
	var sources []aggregator.Source
	for _, p := range sims.Providers(hc) {
		if p.Name() == name {
			sources = append(sources, aggregator.Source{Provider: p, Simulated: true})
		}
	}
	return aggregator.New(sources, fx.Default(), nil, nil, prometheus.NewRegistry(), cfg), sims.Kits()[name]
}

// bookPasses runs up to passes worker passes over one trip in USD (a
// pass that must wait ends in ErrRetryLater), as the trip worker would.
func bookPasses(t *testing.T, agg *aggregator.Aggregator, passes int, max *money.Money) trips.Trip {
	t.Helper()
	tr := trips.Trip{ID: trips.NewID(), Status: trips.Pending, CreatedAt: time.Now(), Request: trips.Request{
		Origin: "SFO", Destination: "JFK", DepartureDate: day.Format(time.DateOnly), Currency: "USD", MaxPrice: max,
		Passengers: []trips.Passenger{{GivenName: "Ada", FamilyName: "Lovelace", BornOn: "1990-12-10", Gender: "f", Title: "ms"}},
		Contact:    &trips.Contact{Email: "ada@example.com", PhoneNumber: "+14155550100"},
	}}
	for range passes {
		if tr.Status != trips.Pending {
			break
		}
		tr = bookPass(t, agg, tr)
	}
	return tr
}

// bookPass runs one worker pass over tr and returns it as saved.
func bookPass(t *testing.T, agg *aggregator.Aggregator, tr trips.Trip) trips.Trip {
	t.Helper()
	save := func(_ context.Context, saved trips.Trip) error { tr = saved; return nil }
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	if _, err := agg.Book(ctx, tr, save); err != nil && !errors.Is(err, aggregator.ErrRetryLater) {
		t.Fatalf("Book: %v", err)
	}
	return tr
}

// TestOneTripIsOneOrderAtEachProvider books one trip per provider and order
// fault, and counts the calls that create orders at that provider: exactly
// one, whatever the answer (another currency, an unreadable amount, a cut
// connection, a lookup route that does not exist).
func TestOneTripIsOneOrderAtEachProvider(t *testing.T) {
	t.Parallel()
	type want struct {
		status trips.Status
		paid   int // orders the provider holds as made (Kiwi: paid bookings)
		// repeats: every order call is cut before an order could exist (Kiwi:
		// the booking is saved, never paid), so the trip books again, more
		// than once; otherwise exactly one order call.
		repeats bool
	}
	cases := []struct {
		provider, name string
		knobs          func(*simkit.Knobs)
		want           want
	}{
		{"kiwi", "total in EUR after a USD search", func(k *simkit.Knobs) { k.OrderAnswerCurrency = "EUR" }, want{status: trips.Confirmed, paid: 1}},
		{"kiwi", "unreadable total", func(k *simkit.Knobs) { k.UnreadableOrderAnswer = true }, want{status: trips.Confirmed, paid: 1}},
		// Every save_booking is cut: each booking stays unpaid (Book never
		// sent its payment) and lapses; each pass books again under a new
		// reference, and no order exists (TestKiwiCutSaveBookingBooksAgain).
		{"kiwi", "cut after save_booking", func(k *simkit.Knobs) { k.CutAfterOrder = true }, want{status: trips.Pending, paid: 0, repeats: true}},
		{"kiwi", "lost payment answer, no lookup route", func(k *simkit.Knobs) { k.LoseOrderResponse, k.NoLookupRoute = true, true }, want{status: trips.Pending, paid: 1}},
		{"kiwi", "no lookup route", func(k *simkit.Knobs) { k.NoLookupRoute = true }, want{status: trips.Confirmed, paid: 1}},
		{"duffel", "total in EUR", func(k *simkit.Knobs) { k.OrderAnswerCurrency = "EUR" }, want{status: trips.Confirmed, paid: 1}},
		{"duffel", "unreadable total", func(k *simkit.Knobs) { k.UnreadableOrderAnswer = true }, want{status: trips.Confirmed, paid: 1}},
		{"duffel", "cut after the order", func(k *simkit.Knobs) { k.CutAfterOrder = true }, want{status: trips.Confirmed, paid: 1}},
		{"duffel", "lost answer, no lookup route", func(k *simkit.Knobs) { k.LoseOrderResponse, k.NoLookupRoute = true, true }, want{status: trips.Pending, paid: 1}},
		{"amadeus", "total in GBP", func(k *simkit.Knobs) { k.OrderAnswerCurrency = "GBP" }, want{status: trips.Confirmed, paid: 1}},
		{"amadeus", "unreadable total", func(k *simkit.Knobs) { k.UnreadableOrderAnswer = true }, want{status: trips.Confirmed, paid: 1}},
		{"amadeus", "cut after the order", func(k *simkit.Knobs) { k.CutAfterOrder = true }, want{status: trips.Confirmed, paid: 1}},
		{"amadeus", "lost answer, no lookup route", func(k *simkit.Knobs) { k.LoseOrderResponse, k.NoLookupRoute = true, true }, want{status: trips.Pending, paid: 1}},
		{"amadeus", "unreadable total, no lookup route", func(k *simkit.Knobs) { k.UnreadableOrderAnswer, k.NoLookupRoute = true, true }, want{status: trips.Confirmed, paid: 1}},
		{"duffel", "unreadable total, no lookup route", func(k *simkit.Knobs) { k.UnreadableOrderAnswer, k.NoLookupRoute = true, true }, want{status: trips.Confirmed, paid: 1}},
	}
	for _, c := range cases {
		t.Run(c.provider+"/"+c.name, func(t *testing.T) {
			t.Parallel()
			agg, kit := soloWorld(t, c.provider)
			kit.Update(c.knobs)
			tr := bookPasses(t, agg, 3, nil)
			if tr.Status != c.want.status {
				t.Errorf("trip %s, attempts %v; want %s", tr.Status, outcomes(tr), c.want.status)
			}
			switch n := kit.Stats().OrderCalls; {
			case c.want.repeats && n < 2:
				t.Errorf("%d order calls at %s, want the trip to book again after each cut one (attempts %v)", n, c.provider, outcomes(tr))
			case !c.want.repeats && n != 1:
				t.Errorf("%d order calls at %s, want exactly 1 (attempts %v)", n, c.provider, outcomes(tr))
			}
			if n := len(kit.Orders()); n != c.want.paid {
				t.Errorf("%d orders made at %s, want %d", n, c.provider, c.want.paid)
			}
			switch tr.Status {
			case trips.Confirmed:
				if tr.Provider != c.provider || tr.ProviderBookingReference == "" || tr.Price == nil || tr.Price.Currency != "USD" || tr.Price.Amount <= 0 {
					t.Errorf("confirmed trip %+v", tr)
				}
			case trips.Pending:
				if tr.InFlight == nil && c.want.paid > 0 {
					t.Errorf("pending trip without its order in flight: its order would be forgotten")
				}
			}
		})
	}
}

// TestKiwiCutSaveBookingBooksAgain: save_booking's answer is lost once (the
// booking is saved, unpaid); the trip does not wait on a booking nobody
// will pay: it books again under its next reference and is confirmed, and
// the first booking stays unpaid, never an order.
func TestKiwiCutSaveBookingBooksAgain(t *testing.T) {
	t.Parallel()
	agg, kit := soloWorld(t, "kiwi")
	kit.Update(func(k *simkit.Knobs) { k.CutAfterOrder = true })
	tr := bookPasses(t, agg, 1, nil)
	if tr.Status != trips.Pending || tr.InFlight != nil || len(tr.Attempts) == 0 {
		t.Fatalf("after the cut: trip %s, in flight %v, attempts %v; want pending, nothing in flight", tr.Status, tr.InFlight, outcomes(tr))
	}
	kit.Update(func(k *simkit.Knobs) { k.CutAfterOrder = false })
	for range 3 {
		if tr.Status != trips.Pending {
			break
		}
		tr = bookPass(t, agg, tr)
	}
	if tr.Status != trips.Confirmed {
		t.Fatalf("trip %s, attempts %v; want confirmed once save_booking answers", tr.Status, outcomes(tr))
	}
	if orders := kit.Orders(); len(orders) != 1 || orders[0].Reference == tr.Attempts[0].Reference {
		t.Errorf("orders %+v; want one, under a later reference than the cut attempt's %s", orders, tr.Attempts[0].Reference)
	}
	if calls := kit.Stats().OrderCalls; calls < 2 {
		t.Errorf("%d save_booking calls, want the cut one and the one that was paid", calls)
	}
}

// TestKiwiTotalInEURIsCheckedAgainstMaxPrice: with a max_price, Kiwi's
// total stated in EUR after a USD search is converted with the rates table
// and checked, then paid: one booking, one order, the trip confirmed
// within max_price.
func TestKiwiTotalInEURIsCheckedAgainstMaxPrice(t *testing.T) {
	t.Parallel()
	agg, kit := soloWorld(t, "kiwi")
	res, err := agg.Search(t.Context(), search(day))
	if err != nil || len(res.Offers) == 0 {
		t.Fatalf("search: %v", err)
	}
	max := money.Money{Amount: res.Offers[0].Price.Amount * 11 / 10, Currency: "USD"}
	kit.Update(func(k *simkit.Knobs) { k.OrderAnswerCurrency = "EUR" })
	tr := bookPasses(t, agg, 3, &max)
	if tr.Status != trips.Confirmed || tr.Price == nil || tr.Price.Currency != "USD" || tr.Price.Amount > max.Amount {
		t.Fatalf("trip %s at %v, attempts %v; want confirmed within %v", tr.Status, tr.Price, outcomes(tr), max)
	}
	if calls, orders := kit.Stats().OrderCalls, len(kit.Orders()); calls != 1 || orders != 1 {
		t.Errorf("%d save_booking calls and %d orders, want 1 and 1", calls, orders)
	}
}
