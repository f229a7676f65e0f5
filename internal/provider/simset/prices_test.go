package simset_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/fx"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/simset"
)

// TestSimulatorsPriceHonestlyInEveryCurrency searches the same flights in
// EUR, USD and JPY through the real adapters over HTTP: a simulator that
// takes a currency must quote each flight at the shipped rates, not the
// same number under another currency (21067 USD = 21067 EUR = 21067 JPY
// made "cheapest across providers" meaningless outside one currency).
func TestSimulatorsPriceHonestlyInEveryCurrency(t *testing.T) {
	t.Parallel()
	sims, err := simset.Start()
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		sims.Close()
		hc.CloseIdleConnections()
	})
	date := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 20)
	rates := fx.Default()
	for _, p := range sims.Providers(hc) {
		if p.Name() == "duffel" {
			continue // Duffel's search takes no currency: it quotes the account's (GBP)
		}
		t.Run(p.Name(), func(t *testing.T) {
			quotes := func(currency string) map[string]money.Money {
				offers, err := p.Search(t.Context(), provider.SearchRequest{Origin: "SFO", Destination: "JFK", DepartureDate: date, Adults: 1, Currency: currency})
				if err != nil || len(offers) == 0 {
					t.Fatalf("search in %s: %v", currency, err)
				}
				out := map[string]money.Money{}
				for _, o := range offers {
					s := o.Segments[0]
					out[s.Carrier+s.FlightNumber+s.DepartsAt.String()] = o.Price
				}
				return out
			}
			eur := quotes("EUR")
			for _, cur := range []string{"USD", "JPY"} {
				for flight, got := range quotes(cur) {
					base, ok := eur[flight]
					if !ok {
						t.Fatalf("flight %s found in %s, not in EUR", flight, cur)
					}
					want, err := rates.Convert(base, cur)
					if err != nil {
						t.Fatal(err)
					}
					if got != want {
						t.Errorf("%s: %v in EUR quoted %v in %s, want %v at the shipped rates", flight, base, got, cur, want)
					}
				}
			}
		})
	}
}
