package aggregator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/trips"
)

// ErrRetryLater means a trip cannot move on now (an order whose outcome is
// unknown could not be looked up yet, or no provider answered the search);
// its worker lets the lease run out and tries again.
var ErrRetryLater = errors.New("trip must wait")

// Save persists a trip's progress.
type Save func(ctx context.Context, t trips.Trip) error

// Book drives a pending trip as far as it can go. First it settles an order
// call whose outcome is unknown, by looking the order up with our reference
// at that provider: one trip never becomes two orders. Then it tries offers
// cheapest first, re-pricing each, and falls back to the next when a
// provider refuses. Every step is saved before the next provider call, so a
// restart resumes where it stopped.
func (a *Aggregator) Book(ctx context.Context, t trips.Trip, save Save) (trips.Trip, error) {
	if t.InFlight != nil {
		done, err := a.settle(ctx, &t, save)
		if err != nil || done {
			return t, err
		}
	}
	date, err := trips.ParseDate(t.Request.DepartureDate)
	if err != nil {
		return a.fail(ctx, t, save)
	}
	req := provider.SearchRequest{
		Origin: t.Request.Origin, Destination: t.Request.Destination, DepartureDate: date, Currency: t.Request.Currency,
	}
	req.Adults, req.Children, req.Infants, req.Ages = t.Request.Party()
	if t.Request.ReturnDate != "" {
		if req.ReturnDate, err = trips.ParseDate(t.Request.ReturnDate); err != nil {
			return a.fail(ctx, t, save)
		}
	}
	res, err := a.Search(ctx, req)
	if err != nil {
		return t, fmt.Errorf("%w: search: %v", ErrRetryLater, err)
	}
	// Offers a provider refused for good are not tried again; those that
	// failed for want of a provider (errors, timeouts, an open circuit) are,
	// on a later pass.
	tried := map[string]bool{}
	for _, at := range t.Attempts {
		if !transientOutcome(at.Outcome) {
			tried[at.OfferID] = true
		}
	}
	if anyExpired(res.Offers, timeNow()) {
		// A cached search outlived some of its offers: ask the providers
		// again; max_price applies to what they quote now.
		if fresh, err := a.search(ctx, req); err == nil {
			res = fresh
		}
	}
	before := len(t.Attempts)
	searchedAgain := false
	for i := 0; i < len(res.Offers); i++ {
		offer := res.Offers[i]
		if tried[offer.ID] || expired(offer, timeNow()) {
			continue // an expired offer cannot be booked: a new search finds its flights again
		}
		if t.Request.MaxPrice != nil && offer.Price.Amount > t.Request.MaxPrice.Amount {
			break // cheapest first: every offer left costs more
		}
		if err := ctx.Err(); err != nil {
			return t, fmt.Errorf("%w: %v", ErrRetryLater, err) // out of time, not out of offers
		}
		done, err := a.try(ctx, &t, offer, save)
		if errors.Is(err, errOfferExpired) {
			if searchedAgain {
				continue // expired twice in one pass: fall back to the next offer
			}
			// The provider says the offer's time ran out: search again and
			// start over, cheapest first, max_price applied to the new prices.
			searchedAgain = true
			fresh, err := a.search(ctx, req)
			if err != nil {
				return t, fmt.Errorf("%w: search again after an expired offer: %v", ErrRetryLater, err)
			}
			res, i = fresh, -1
			for _, at := range t.Attempts {
				if !transientOutcome(at.Outcome) {
					tried[at.OfferID] = true
				}
			}
			continue
		}
		if err != nil || done {
			return t, err
		}
	}
	for _, at := range t.Attempts[before:] {
		if transientOutcome(at.Outcome) {
			// A provider failing is not a provider refusing: try again later
			// (the worker gives up after TripService.GiveUp).
			return t, fmt.Errorf("%w: providers failed, none refused", ErrRetryLater)
		}
	}
	return a.fail(ctx, t, save)
}

// errOfferExpired is try's word that the provider refused the offer as
// expired (recorded as unavailable): Book searches again.
var errOfferExpired = errors.New("offer expired at the provider")

// expired reports an offer whose provider-stated expiry has passed.
func expired(o Offer, now time.Time) bool {
	return !o.ExpiresAt.IsZero() && !now.Before(o.ExpiresAt)
}

func anyExpired(offers []Offer, now time.Time) bool {
	for _, o := range offers {
		if expired(o, now) {
			return true
		}
	}
	return false
}

// transientOutcome reports an attempt that failed for want of a provider.
func transientOutcome(outcome string) bool {
	return outcome == trips.OutcomeError || outcome == trips.OutcomeTimeout || outcome == trips.OutcomeCircuitOpen
}

// try attempts one offer; done reports that the trip is settled.
func (a *Aggregator) try(ctx context.Context, t *trips.Trip, offer Offer, save Save) (done bool, err error) {
	g := a.source(offer.Provider)
	at := trips.Attempt{Provider: offer.Provider, OfferID: offer.ID, Price: offer.Price,
		Reference: fmt.Sprintf("%s-%d", t.ID, len(t.Attempts)+1)}
	if g == nil {
		return false, a.record(ctx, t, at, trips.OutcomeError, "provider not configured", save)
	}
	// The provider's price confirmation, once per attempt, under the
	// attempt's reference (Kiwi's Book continues the session it opens).
	source := offer.Source
	source.Reference = at.Reference
	priced := source
	priceCtx, call := a.startCall(ctx, g.Name(), "price")
	err = g.retrying(priceCtx, func(ctx context.Context) error {
		var err error
		priced, err = g.Price(ctx, source)
		return err
	})
	call.end(err)
	step := priceStep(g.Provider)
	var changed *provider.PriceChangedError
	switch {
	case errors.As(err, &changed):
		priced.Price = changed.New
		at.Detail = fmt.Sprintf("%s: the price moved from %s to %s", step, decimal(changed.Old), decimal(changed.New))
	case ctx.Err() != nil:
		return false, fmt.Errorf("%w: %v", ErrRetryLater, err) // our time ran out, not the provider
	case errors.Is(err, provider.ErrOfferExpired):
		at.Detail = step + ": the offer expired; searching again"
		if err := a.record(ctx, t, at, trips.OutcomeUnavailable, err.Error(), save); err != nil {
			return false, err
		}
		return false, errOfferExpired
	case err != nil:
		at.Detail = step + " failed"
		return false, a.record(ctx, t, at, attemptOutcome(err), err.Error(), save)
	default:
		at.Detail = fmt.Sprintf("%s: %s, as offered", step, decimal(priced.Price))
	}
	priced.Reference = at.Reference
	price, err := a.rates.Convert(priced.Price, t.Request.Currency)
	if err != nil {
		return false, a.record(ctx, t, at, trips.OutcomeError, err.Error(), save)
	}
	if price != at.Price {
		at.Price = price
		if max := t.Request.MaxPrice; max != nil && price.Amount > max.Amount {
			return false, a.record(ctx, t, at, trips.OutcomePriceChanged, fmt.Sprintf("price rose to %s, above max_price %s", price.Decimal(), max.Decimal()), save)
		}
	}

	// Write down the order call before making it: if we die during it, the
	// next worker looks the order up instead of booking again.
	t.InFlight = &at
	if err := save(ctx, *t); err != nil {
		return false, err
	}
	var order provider.Order
	bookCtx, cancel := context.WithTimeout(ctx, a.cfg.BookTimeout)
	defer cancel()
	bookCtx, call = a.startCall(bookCtx, g.Name(), "book")
	err = g.call(bookCtx, func(ctx context.Context) error {
		var err error
		order, err = g.Book(ctx, provider.OrderRequest{Offer: priced, Passengers: passengers(t.Request), Reference: at.Reference,
			MaxPrice: t.Request.MaxPrice, Rates: a.rates})
		return err
	})
	call.end(err)
	if err == nil {
		return true, a.confirm(ctx, t, at, order, save)
	}
	if definite(err) {
		t.InFlight = nil
		if err := a.record(ctx, t, at, attemptOutcome(err), err.Error(), save); err != nil {
			return false, err
		}
		if errors.Is(err, provider.ErrOfferExpired) {
			return false, errOfferExpired
		}
		return false, nil
	}
	// The order may or may not exist: find out before anything else.
	a.log.WarnContext(ctx, "order outcome unknown; looking it up", "provider", g.Name(), "reference", at.Reference, "error", err.Error())
	return a.settle(ctx, t, save)
}

// settle resolves the order call in flight by looking the order up.
func (a *Aggregator) settle(ctx context.Context, t *trips.Trip, save Save) (done bool, err error) {
	at := *t.InFlight
	g := a.source(at.Provider)
	if g == nil {
		return false, fmt.Errorf("%w: provider %s of an order in flight is not configured", ErrRetryLater, at.Provider)
	}
	var order provider.Order
	findCtx, call := a.startCall(ctx, g.Name(), "find_order")
	err = g.retrying(findCtx, func(ctx context.Context) error {
		var err error
		order, err = g.FindOrder(ctx, at.Reference)
		return err
	})
	call.end(err)
	switch {
	case err == nil:
		return true, a.confirm(ctx, t, at, order, save)
	case errors.Is(err, provider.ErrNotFound):
		// Only a lookup that proved absence gets here (see
		// provider.ErrNotFound); anything else, a 404 of a route the
		// provider may not have included, keeps the order in flight.
		t.InFlight = nil
		return false, a.record(ctx, t, at, trips.OutcomeTimeout, "the order call did not answer and no order exists with our reference", save)
	}
	return false, fmt.Errorf("%w: look up order %s at %s: %v", ErrRetryLater, at.Reference, at.Provider, err)
}

func (a *Aggregator) confirm(ctx context.Context, t *trips.Trip, at trips.Attempt, order provider.Order, save Save) error {
	if order.Price.Currency != "" {
		if p, err := a.rates.Convert(order.Price, t.Request.Currency); err == nil {
			at.Price = p
		}
	}
	at.Outcome, at.Detail = trips.OutcomeConfirmed, withCheck("order "+order.ID, at.Detail)
	a.m.attempts.WithLabelValues(at.Provider, at.Outcome).Inc()
	t.Attempts = append(t.Attempts, at)
	t.InFlight = nil
	t.Status, t.Provider, t.ProviderBookingReference = trips.Confirmed, at.Provider, order.BookingReference
	t.OrderID = order.ID
	price := at.Price
	t.Price = &price
	return save(ctx, *t)
}

// record ends attempt at with outcome; detail says why, followed by the
// price confirmation's result when the attempt got that far (at.Detail).
func (a *Aggregator) record(ctx context.Context, t *trips.Trip, at trips.Attempt, outcome, detail string, save Save) error {
	at.Outcome, at.Detail = outcome, withCheck(detail, at.Detail)
	a.m.attempts.WithLabelValues(at.Provider, outcome).Inc()
	t.Attempts = append(t.Attempts, at)
	return save(ctx, *t)
}

// withCheck appends the price confirmation's result, when there is one, to
// an attempt's detail: "order ord_1 (check_flights: 210.67 EUR, as offered)".
func withCheck(detail, check string) string {
	if check == "" {
		return detail
	}
	return detail + " (" + check + ")"
}

// decimal writes m as people read it: "214.13 GBP".
func decimal(m money.Money) string { return m.Decimal() + " " + m.Currency }

// priceStep names p's price confirmation.
func priceStep(p provider.Provider) string {
	if n, ok := p.(provider.PriceStepNamer); ok {
		return n.PriceStep()
	}
	return "price check"
}

func (a *Aggregator) fail(ctx context.Context, t trips.Trip, save Save) (trips.Trip, error) {
	t.Status = trips.Failed
	return t, save(ctx, t)
}

func (a *Aggregator) source(name string) *guarded {
	for _, g := range a.sources {
		if g.Name() == name {
			return g
		}
	}
	return nil
}

// definite reports whether a failed order call certainly created no order.
func definite(err error) bool {
	return errors.Is(err, errCircuitOpen) || errors.Is(err, provider.ErrUnavailable) || errors.Is(err, provider.ErrNoOrder) ||
		errors.Is(err, provider.ErrRejected) || errors.As(err, new(*provider.PriceChangedError)) ||
		errors.As(err, new(*provider.RateLimitedError))
}

// attemptOutcome names how an attempt ended.
func attemptOutcome(err error) string {
	switch {
	case errors.Is(err, provider.ErrUnavailable):
		return trips.OutcomeUnavailable
	case errors.As(err, new(*provider.PriceChangedError)):
		return trips.OutcomePriceChanged
	case errors.Is(err, errCircuitOpen):
		return trips.OutcomeCircuitOpen
	case errors.Is(err, context.DeadlineExceeded):
		return trips.OutcomeTimeout
	}
	return trips.OutcomeError
}

// passengerTypes maps the trips package's passenger types to the providers'.
var passengerTypes = map[string]string{trips.Adult: provider.Adult, trips.Child: provider.Child, trips.Infant: provider.Infant}

// passengers are the trip's travellers as an order names them: adults,
// then children, then infants (the order of the search's travellers), each
// with their type and age on the departure date.
func passengers(r trips.Request) []provider.Passenger {
	out := make([]provider.Passenger, len(r.Passengers))
	dep, _ := trips.ParseDate(r.DepartureDate)
	for i, p := range r.Passengers {
		out[i] = provider.Passenger{GivenName: p.GivenName, FamilyName: p.FamilyName, BornOn: p.BornOn,
			Title: p.Title, Gender: p.Gender, Email: p.Email, PhoneNumber: p.PhoneNumber, Type: provider.Adult}
		if born, err := trips.ParseDate(p.BornOn); err == nil && !dep.IsZero() {
			out[i].Type, out[i].Age = passengerTypes[trips.PassengerType(born, dep)], trips.AgeOn(born, dep)
		}
		if r.Contact != nil {
			if out[i].Email == "" {
				out[i].Email = r.Contact.Email
			}
			if out[i].PhoneNumber == "" {
				out[i].PhoneNumber = r.Contact.PhoneNumber
			}
		}
	}
	rank := map[string]int{provider.Adult: 0, provider.Child: 1, provider.Infant: 2}
	slices.SortStableFunc(out, func(x, y provider.Passenger) int { return rank[x.Type] - rank[y.Type] })
	return out
}
