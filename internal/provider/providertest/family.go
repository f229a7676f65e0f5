package providertest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/simkit"
)

// The round trip of the family scenarios: out on 15 June 2036, back a
// week later, for two adults, a child of 7 and an infant of 1.
var (
	familyOut    = time.Date(2036, 6, 15, 0, 0, 0, 0, time.UTC)
	familyBack   = familyOut.AddDate(0, 0, 7)
	familySearch = provider.SearchRequest{Origin: "LHR", Destination: "JFK", DepartureDate: familyOut, ReturnDate: familyBack,
		Adults: 2, Children: 1, Infants: 1, Ages: []int{7, 1}, Currency: "EUR"}
	family = []provider.Passenger{
		{GivenName: "Amelia", FamilyName: "Earhart", BornOn: "1987-07-24", Title: "mrs", Gender: "f", Email: "amelia@example.com", PhoneNumber: "+442080160509", Type: provider.Adult, Age: 48},
		{GivenName: "George", FamilyName: "Putnam", BornOn: "1987-09-07", Title: "mr", Gender: "m", Email: "george@example.com", PhoneNumber: "+442080160510", Type: provider.Adult, Age: 48},
		{GivenName: "Muriel", FamilyName: "Putnam", BornOn: "2029-03-01", Title: "miss", Gender: "f", Email: "amelia@example.com", PhoneNumber: "+442080160509", Type: provider.Child, Age: 7},
		{GivenName: "David", FamilyName: "Putnam", BornOn: "2035-01-10", Title: "mr", Gender: "m", Email: "amelia@example.com", PhoneNumber: "+442080160509", Type: provider.Infant, Age: 1},
	}
)

// journeyKey names an offer's flights, to find the same journey in another search.
func journeyKey(o provider.Offer) string {
	k := ""
	for _, s := range o.Segments {
		k += fmt.Sprintf("%d:%s%s@%s ", s.Slice, s.Carrier, s.FlightNumber, s.DepartsAt.Format(time.RFC3339))
	}
	return k
}

// roundTripFamily: a round trip for two adults, a child and an infant comes
// back as offers of two slices (out, then back), priced for all four at
// the simulators' fares per passenger type; pricing it under the booking's
// reference and booking it makes one order for four, with the price
// confirmed once (Book does not confirm it again).
func roundTripFamily(t *testing.T, w *world) {
	offers, err := w.c.Search(t.Context(), familySearch)
	if err != nil || len(offers) == 0 {
		t.Fatalf("search: %d offers, %v", len(offers), err)
	}
	alone := familySearch
	alone.Adults, alone.Children, alone.Infants, alone.Ages = 1, 0, 0, nil
	single, err := w.c.Search(t.Context(), alone)
	if err != nil {
		t.Fatalf("one-adult search: %v", err)
	}
	fares := map[string]int64{}
	for _, o := range single {
		fares[journeyKey(o)] = o.Price.Amount
	}
	for i, o := range offers {
		last := o.Segments[len(o.Segments)-1]
		if o.Segments[0].Slice != 0 || last.Slice != 1 || o.Segments[0].Origin != "LHR" || last.Destination != "LHR" ||
			last.DepartsAt.Before(familyBack) {
			t.Errorf("offer %d: segments %+v are not out on %s and back on %s", i, o.Segments, familyOut.Format(time.DateOnly), familyBack.Format(time.DateOnly))
		}
		fare, ok := fares[journeyKey(o)]
		if !ok {
			t.Errorf("offer %d: journey %s not offered to one adult", i, journeyKey(o))
			continue
		}
		want := simkit.Party{Adults: 2, Children: 1, Infants: 1}.Total(fare)
		if o.Price.Amount < want-4 || o.Price.Amount > want+4 { // fares converted one by one
			t.Errorf("offer %d: %v for the family, want %d (adult fare %d)", i, o.Price, want, fare)
		}
	}

	const ref = "trp_family-1"
	offer := offers[0]
	offer.Reference = ref
	priced, err := w.c.Price(t.Context(), offer)
	if err != nil {
		t.Fatalf("price: %v", err)
	}
	checks := w.Kit.Stats().Prices
	order, err := w.c.Book(t.Context(), provider.OrderRequest{Offer: priced, Passengers: family, Reference: ref})
	if err != nil {
		t.Fatalf("book: %v", err)
	}
	if order.Price != priced.Price {
		t.Errorf("order %+v, want price %v", order, priced.Price)
	}
	if created := w.wantOrders(t, 1)[0]; created.Passengers != 4 || created.Reference != ref {
		t.Errorf("the simulator's order = %+v, want 4 passengers under %s", created, ref)
	}
	if n := w.Kit.Stats().Prices; n != checks {
		t.Errorf("Book confirmed the price again: %d price calls after Price's %d", n, checks)
	}
}

// offerExpired: an offer priced after the simulator's OfferTTL is refused
// as provider.ErrOfferExpired (also ErrUnavailable), and nothing is ordered.
func offerExpired(t *testing.T, w *world) {
	if w.NoOfferExpiry {
		// Amadeus states no expiry and refuses no offer for its age: the
		// adapter caps ExpiresAt itself, which the aggregator honours.
		offers := w.search(t)
		if offers[0].ExpiresAt.IsZero() || offers[0].ExpiresAt.After(time.Now().Add(31*time.Minute)) {
			t.Errorf("ExpiresAt %v, want a cap within 30 minutes", offers[0].ExpiresAt)
		}
		return
	}
	w.Kit.Update(func(k *simkit.Knobs) { k.OfferTTL = time.Second })
	offers := w.search(t)
	time.Sleep(1500 * time.Millisecond)
	_, err := w.c.Price(t.Context(), offers[0])
	if !errors.Is(err, provider.ErrOfferExpired) || !errors.Is(err, provider.ErrUnavailable) {
		t.Fatalf("price of an expired offer: %v, want ErrOfferExpired", err)
	}
	_, err = w.book(t.Context(), w.c, offers[0], "trp_expired-1")
	if !errors.Is(err, provider.ErrUnavailable) {
		t.Errorf("book of an expired offer: %v, want ErrUnavailable", err)
	}
	w.wantOrders(t, 0)
}
