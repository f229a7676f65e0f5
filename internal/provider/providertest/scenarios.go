package providertest

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/simkit"
)

// world is one scenario's simulator and adapter.
type world struct {
	Env
	name string
	c    provider.Provider
}

func (w *world) search(t *testing.T) []provider.Offer {
	t.Helper()
	offers, err := w.c.Search(t.Context(), searchReq)
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	if len(offers) == 0 {
		t.Fatal("search found no offers")
	}
	return offers
}

func (w *world) book(ctx context.Context, c provider.Provider, offer provider.Offer, ref string) (provider.Order, error) {
	return c.Book(ctx, provider.OrderRequest{Offer: offer, Passengers: []provider.Passenger{amelia}, Reference: ref})
}

func (w *world) wantOrders(t *testing.T, want int) []simkit.Order {
	t.Helper()
	got := w.Kit.Orders()
	if len(got) != want {
		t.Fatalf("the simulator created %d orders, want %d", len(got), want)
	}
	return got
}

// wantPriceChange checks a *provider.PriceChangedError from old to old
// moved by percent, in old's currency.
func wantPriceChange(t *testing.T, what string, err error, old money.Money, percent int) money.Money {
	t.Helper()
	want := money.Money{Amount: simkit.Adjust(old.Amount, percent), Currency: old.Currency}
	var pc *provider.PriceChangedError
	if !errors.As(err, &pc) || pc.Old != old || pc.New != want {
		t.Fatalf("%s: err = %v, want a price change from %v to %v", what, err, old, want)
	}
	if errors.Is(err, provider.ErrRejected) || errors.Is(err, provider.ErrUnavailable) {
		t.Errorf("%s: the price change %v also reads as a refusal", what, err)
	}
	return want
}

// happyPath: the offers are the simulator's inventory in UTC; pricing keeps
// the price; the order carries our reference and is found by it, by this
// adapter and by one that never saw it.
func happyPath(t *testing.T, w *world) {
	if got := w.c.Name(); got != w.name {
		t.Errorf("Name = %q, want %q", got, w.name)
	}
	offers := w.search(t)
	inventory := simkit.Inventory(w.name, w.Carriers, searchReq.Origin, searchReq.Destination, travelDate)
	if len(offers) != len(inventory) {
		t.Fatalf("%d offers, the inventory has %d flights", len(offers), len(inventory))
	}
	for i, o := range offers {
		if o.Provider != w.name || o.ID == "" || len(o.Segments) != 1 || o.Price.Currency == "" || !o.ExpiresAt.After(time.Now()) {
			t.Errorf("offer %d = %+v", i, o)
			continue
		}
		s, found := o.Segments[0], false
		for _, f := range inventory {
			found = found || f.Carrier == s.Carrier && f.Number == s.FlightNumber && s.Origin == f.Origin &&
				s.Destination == f.Destination && s.DepartsAt.Equal(f.DepartsAt) && s.ArrivesAt.Equal(f.ArrivesAt) &&
				s.DepartsAt.Location() == time.UTC && f.Amount == o.Price.Amount
		}
		if !found {
			t.Errorf("offer %d: segment %+v at %v is not in the inventory (in UTC)", i, s, o.Price)
		}
	}

	priced, err := w.c.Price(t.Context(), offers[0])
	if err != nil || priced.Price != offers[0].Price || priced.ID != offers[0].ID {
		t.Fatalf("price = %+v, %v; want %v", priced, err, offers[0].Price)
	}
	const ref = "trp_happy-1"
	order, err := w.book(t.Context(), w.c, priced, ref)
	if err != nil {
		t.Fatalf("book: %v", err)
	}
	if order.ID == "" || order.BookingReference == "" || order.Price != priced.Price {
		t.Errorf("order = %+v, want price %v", order, priced.Price)
	}
	created := w.wantOrders(t, 1)[0]
	if created.ID != order.ID || created.Reference != ref || created.BookingReference != order.BookingReference ||
		created.Amount != priced.Price.Amount || created.Currency != priced.Price.Currency || created.Passengers != 1 {
		t.Errorf("the simulator's order = %+v, the adapter's %+v", created, order)
	}
	for who, c := range map[string]provider.Provider{"same adapter": w.c, "fresh adapter": w.Client()} {
		if found, err := c.FindOrder(t.Context(), ref); err != nil || found != order {
			t.Errorf("%s: FindOrder = %+v, %v; want %+v", who, found, err, order)
		}
	}
	w.wantOrders(t, 1)
	if st := w.Kit.Stats(); st.Searches != 1 || st.Prices < 1 || st.Orders != 1 || st.Lookups < 2 {
		t.Errorf("stats = %+v", st)
	}
}

// priceChangeAtPricing: pricing reports the move and returns the offer at
// its new price; the old price does not book; the new one does.
func priceChangeAtPricing(t *testing.T, w *world) {
	offer := w.search(t)[0]
	w.Kit.Update(func(k *simkit.Knobs) { k.PriceChangeAtPricing = 10 })
	fresh, err := w.c.Price(t.Context(), offer)
	newPrice := wantPriceChange(t, "price", err, offer.Price, 10)
	if fresh.Price != newPrice {
		t.Errorf("the re-priced offer costs %v, want %v", fresh.Price, newPrice)
	}
	_, err = w.book(t.Context(), w.c, offer, "trp_old-price-1")
	wantPriceChange(t, "book at the old price", err, offer.Price, 10)
	w.wantOrders(t, 0)
	order, err := w.book(t.Context(), w.c, fresh, "trp_new-price-1")
	if err != nil || order.Price != newPrice {
		t.Errorf("book at the new price = %+v, %v", order, err)
	}
	w.wantOrders(t, 1)
}

// priceChangeAtBooking: the order call reports the move and creates no order.
func priceChangeAtBooking(t *testing.T, w *world) {
	offer := w.search(t)[0]
	priced, err := w.c.Price(t.Context(), offer)
	if err != nil {
		t.Fatalf("price: %v", err)
	}
	w.Kit.Update(func(k *simkit.Knobs) { k.PriceChangeAtBooking = 5 })
	_, err = w.book(t.Context(), w.c, priced, "trp_moved-1")
	wantPriceChange(t, "book", err, priced.Price, 5)
	w.wantOrders(t, 0)
}

// soldOut: pricing and booking say ErrUnavailable, and nothing is booked.
func soldOut(t *testing.T, w *world) {
	offer := w.search(t)[0]
	w.Kit.Update(func(k *simkit.Knobs) { k.SoldOut = true })
	if _, err := w.c.Price(t.Context(), offer); !errors.Is(err, provider.ErrUnavailable) || errors.Is(err, provider.ErrRejected) {
		t.Errorf("price: err = %v, want ErrUnavailable alone", err)
	}
	if _, err := w.book(t.Context(), w.c, offer, "trp_sold-out-1"); !errors.Is(err, provider.ErrUnavailable) || errors.Is(err, provider.ErrRejected) {
		t.Errorf("book: err = %v, want ErrUnavailable alone", err)
	}
	w.wantOrders(t, 0)
}

// rateLimited: a 429 is a *provider.RateLimitedError carrying Retry-After,
// on a safe call and on the order call alike; the adapter does not retry on
// its own (each call is one refused request), and the next call goes through.
func rateLimited(t *testing.T, w *world) {
	offer := w.search(t)[0]
	w.Kit.Update(func(k *simkit.Knobs) { k.RateLimited, k.RetryAfter = 2, 7*time.Second })
	before := w.Kit.Stats().Requests
	_, err := w.c.Search(t.Context(), searchReq)
	var rl *provider.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
		t.Fatalf("search: err = %v, want RateLimitedError after 7s", err)
	}
	if _, err := w.book(t.Context(), w.c, offer, "trp_429-1"); !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
		t.Errorf("book: err = %v, want RateLimitedError after 7s", err)
	}
	if n := w.Kit.Stats().Requests - before; n != 2 {
		t.Errorf("two refused calls made %d requests: the adapter retried on its own", n)
	}
	w.wantOrders(t, 0)
	w.search(t)
}

// serverErrors: a 500 or 503 is a temporary *provider.HTTPError with its
// status, neither a refusal nor unavailable; the adapter does not retry on
// its own, and the call after the burst goes through.
func serverErrors(t *testing.T, w *world) {
	offer := w.search(t)[0]
	w.Kit.Update(func(k *simkit.Knobs) { k.ErrorBurst = 3 })
	before := w.Kit.Stats().Requests
	statuses := map[int]bool{}
	calls := []func() error{
		func() error { _, err := w.c.Search(t.Context(), searchReq); return err },
		func() error { _, err := w.c.Price(t.Context(), offer); return err },
		func() error { _, err := w.book(t.Context(), w.c, offer, "trp_5xx-1"); return err },
	}
	for i, call := range calls {
		err := call()
		var he *provider.HTTPError
		if !errors.As(err, &he) || !he.Temporary() || errors.Is(err, provider.ErrRejected) || errors.Is(err, provider.ErrUnavailable) {
			t.Fatalf("call %d: err = %v, want a temporary HTTPError", i, err)
		}
		statuses[he.Status] = true
	}
	if !statuses[500] || !statuses[503] {
		t.Errorf("statuses = %v, want 500 and 503", statuses)
	}
	if n := w.Kit.Stats().Requests - before; n != 3 {
		t.Errorf("three failed calls made %d requests: the adapter retried on its own", n)
	}
	w.wantOrders(t, 0)
	if _, err := w.c.Price(t.Context(), offer); err != nil {
		t.Errorf("price after the burst: %v", err)
	}
}

// blackHole: every call ends at its context's deadline, with it.
func blackHole(t *testing.T, w *world) {
	offer := w.search(t)[0]
	w.Kit.Update(func(k *simkit.Knobs) { k.BlackHole = true })
	for name, call := range map[string]func(ctx context.Context) error{
		"search": func(ctx context.Context) error { _, err := w.c.Search(ctx, searchReq); return err },
		"price":  func(ctx context.Context) error { _, err := w.c.Price(ctx, offer); return err },
		"book":   func(ctx context.Context) error { _, err := w.book(ctx, w.c, offer, "trp_hole-1"); return err },
		"find":   func(ctx context.Context) error { _, err := w.c.FindOrder(ctx, "trp_hole-1"); return err },
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		start := time.Now()
		err := call(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: err = %v, want context.DeadlineExceeded", name, err)
		}
		// A bound far above the deadline: the call must end with it, not
		// with some later timeout of its own.
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("%s returned after %v, not at its deadline", name, took)
		}
	}
	w.wantOrders(t, 0)
}

// badCredentials: refused credentials are a 401 rejection, for searches and
// lookups alike, and the right ones still work.
func badCredentials(t *testing.T, w *world) {
	bad := w.BadCredentials()
	if len(bad) == 0 {
		t.Fatal("the harness supplied no adapter with bad credentials")
	}
	for i, c := range bad {
		_, err := c.Search(t.Context(), searchReq)
		var he *provider.HTTPError
		if !errors.Is(err, provider.ErrRejected) || !errors.As(err, &he) || he.Status != http.StatusUnauthorized {
			t.Errorf("adapter %d: search err = %v, want a 401 rejection", i, err)
		}
		if _, err := c.FindOrder(t.Context(), "trp_x-1"); !errors.Is(err, provider.ErrRejected) || errors.Is(err, provider.ErrNotFound) {
			t.Errorf("adapter %d: FindOrder err = %v, want a rejection (not ErrNotFound)", i, err)
		}
	}
	if _, err := w.c.FindOrder(t.Context(), "trp_x-1"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("the right credentials: FindOrder err = %v, want ErrNotFound", err)
	}
	w.wantOrders(t, 0)
}

// findOrderUnknown: a reference never booked is ErrNotFound, before and
// after other orders exist, from any adapter.
func findOrderUnknown(t *testing.T, w *world) {
	if _, err := w.c.FindOrder(t.Context(), "trp_never-1"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
	if _, err := w.book(t.Context(), w.c, w.search(t)[0], "trp_booked-1"); err != nil {
		t.Fatalf("book: %v", err)
	}
	for who, c := range map[string]provider.Provider{"same adapter": w.c, "fresh adapter": w.Client()} {
		if _, err := c.FindOrder(t.Context(), "trp_booked-2"); !errors.Is(err, provider.ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", who, err)
		}
	}
	w.wantOrders(t, 1)
}

// ambiguousOrder: the order is made, then its answer is lost; the call ends
// with its deadline, and the order is found by our reference, by this
// adapter and by one that never saw the call; another reference is not.
func ambiguousOrder(t *testing.T, w *world) {
	priced, err := w.c.Price(t.Context(), w.search(t)[0])
	if err != nil {
		t.Fatalf("price: %v", err)
	}
	w.Kit.Update(func(k *simkit.Knobs) { k.LoseOrderResponse = true })
	const ref = "trp_lost-1"
	// The deadline passes once the simulator has created the order and is
	// holding its answer, however slow the machine is.
	ctx := newExpiringCtx(t.Context())
	go func() {
		for len(w.Kit.Orders()) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Millisecond):
			}
		}
		ctx.expire()
	}()
	if _, err := w.book(ctx, w.c, priced, ref); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("book: err = %v, want context.DeadlineExceeded", err)
	}
	created := w.wantOrders(t, 1)[0]
	w.Kit.Update(func(k *simkit.Knobs) { k.LoseOrderResponse = false })
	for who, c := range map[string]provider.Provider{"same adapter": w.c, "fresh adapter": w.Client()} {
		found, err := c.FindOrder(t.Context(), ref)
		if err != nil || found.ID != created.ID || found.BookingReference != created.BookingReference || found.Price != priced.Price {
			t.Errorf("%s: FindOrder = %+v, %v; want order %+v at %v", who, found, err, created, priced.Price)
		}
		if other, err := c.FindOrder(t.Context(), "trp_lost-2"); !errors.Is(err, provider.ErrNotFound) {
			t.Errorf("%s: another attempt's reference = %+v, %v; want ErrNotFound", who, other, err)
		}
	}
	w.wantOrders(t, 1)
}

// expiringCtx is a context whose deadline passes when expire is called.
type expiringCtx struct {
	context.Context
	done chan struct{}
	once sync.Once
}

func newExpiringCtx(parent context.Context) *expiringCtx {
	c := &expiringCtx{Context: parent, done: make(chan struct{})}
	context.AfterFunc(parent, c.expire)
	return c
}

func (c *expiringCtx) expire()                     { c.once.Do(func() { close(c.done) }) }
func (c *expiringCtx) Done() <-chan struct{}       { return c.done }
func (c *expiringCtx) Deadline() (time.Time, bool) { return time.Time{}, false }

func (c *expiringCtx) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
