// Package providertest is the provider conformance suite: Run drives an
// adapter against its simulator through the scenarios every provider must
// pass (happy path, price changes, sold out, errors mapped, bad
// credentials, no retries of its own, an ambiguous order found again by
// its reference, cancellation with its refund, refused, and with its answer
// lost then settled by a lookup), directly and through the aggregator. Each adapter's tests
// call Run with a Harness around its simulator; what stays in an adapter's
// own tests is what is specific to its wire format. WantMappedError is the
// error-mapping check its fuzz targets share.
package providertest

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/simkit"
)

// Harness is what an adapter supplies to the suite.
type Harness struct {
	// Name is the adapter's Name().
	Name string
	// Start serves a fresh simulator with no faults over real HTTP, for
	// the test's lifetime, and returns it.
	Start func(t *testing.T) Env
}

// Env is a running simulator and the means to build adapters of it.
type Env struct {
	// Kit is the simulator's knobs, counters and order register: the
	// scenarios turn its shared knobs (simkit.Knobs).
	Kit *simkit.Sim
	// Client returns a new adapter pointed at the simulator, with
	// credentials it accepts; it remembers nothing, as another process
	// would.
	Client func() provider.Provider
	// BadCredentials returns adapters pointed at the simulator whose
	// credentials it refuses (at least one).
	BadCredentials func() []provider.Provider
	// Carriers are the carriers of the simulator's inventory
	// (simkit.Inventory).
	Carriers []string
	// NoRefundAmount: the provider states no refund amount when it cancels
	// an order (Amadeus' deletion answers 204 without a body).
	NoRefundAmount bool
	// NoOfferExpiry: the provider states no offer expiry and its simulator
	// does not expire offers (Amadeus' search answers carry none).
	NoOfferExpiry bool
	// OrderNeedsPayment: the order call only saves a booking, which the
	// adapter's later payment call makes an order (Kiwi's save_booking,
	// then confirm_payment). An order call that fails is then
	// provider.ErrNoOrder, and the aggregator books again instead of
	// looking the order up.
	OrderNeedsPayment bool
}

// WantMappedError checks what an adapter made of a non-2xx answer: a 429 is
// a *provider.RateLimitedError with a wait of zero or more; anything else
// carries its status in a *provider.HTTPError, a 4xx other than 408 is
// either a rejection or an unavailable offer, never both, and a 5xx or 408
// is temporary.
func WantMappedError(t testing.TB, status int, err error) {
	t.Helper()
	if err == nil || err.Error() == "" {
		t.Fatalf("status %d mapped to %v", status, err)
	}
	if status == http.StatusTooManyRequests {
		var rl *provider.RateLimitedError
		if !errors.As(err, &rl) || rl.RetryAfter < 0 {
			t.Fatalf("429 mapped to %v", err)
		}
		return
	}
	var he *provider.HTTPError
	if !errors.As(err, &he) || he.Status != status {
		t.Fatalf("status %d mapped to %#v", status, err)
	}
	rejected, gone := errors.Is(err, provider.ErrRejected), errors.Is(err, provider.ErrUnavailable)
	if rejected && gone {
		t.Fatalf("status %d: %v is both rejected and unavailable", status, err)
	}
	if status < 500 && status != http.StatusRequestTimeout && !rejected && !gone {
		t.Fatalf("status %d: %v is neither rejected nor unavailable", status, err)
	}
	if (status >= 500 || status == http.StatusRequestTimeout) && !he.Temporary() {
		t.Fatalf("status %d: %v is not temporary", status, err)
	}
}

// The route, date and traveller of every scenario.
var (
	travelDate = time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC)
	searchReq  = provider.SearchRequest{Origin: "LHR", Destination: "JFK", DepartureDate: travelDate, Adults: 1, Currency: "EUR"}
	amelia     = provider.Passenger{
		GivenName: "Amelia", FamilyName: "Earhart", BornOn: "1987-07-24", Title: "mrs", Gender: "f",
		Email: "amelia@example.com", PhoneNumber: "+442080160509",
	}
)

// Run runs every scenario against the adapter of h, each on a simulator of
// its own, in parallel.
func Run(t *testing.T, h Harness) {
	t.Helper()
	for _, sc := range []struct {
		name string
		run  func(t *testing.T, w *world)
	}{
		{"HappyPath", happyPath},
		{"PriceChangeAtPricing", priceChangeAtPricing},
		{"PriceChangeAtBooking", priceChangeAtBooking},
		{"SoldOut", soldOut},
		{"RateLimited", rateLimited},
		{"ServerErrors", serverErrors},
		{"BlackHole", blackHole},
		{"BadCredentials", badCredentials},
		{"FindOrderUnknown", findOrderUnknown},
		{"AmbiguousOrderFoundByReference", ambiguousOrder},
		{"AggregatorRetriesSafeCallsOnly", aggregatorRetries},
		{"AggregatorMapsRefusals", aggregatorRefusals},
		{"AggregatorSettlesAmbiguousOrder", aggregatorAmbiguousOrder},
		{"CancelWithRefund", cancelOK},
		{"CancelRefused", cancelRefused},
		{"AmbiguousCancelThenLookup", ambiguousCancel},
		{"RoundTripFamily", roundTripFamily},
		{"OfferExpired", offerExpired},
	} {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			env := h.Start(t)
			w := &world{Env: env, name: h.Name, c: env.Client()}
			sc.run(t, w)
		})
	}
}
