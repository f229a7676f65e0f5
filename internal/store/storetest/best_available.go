package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/store"
)

// runBestAvailable checks the best-available rule (holds.Pick) as each
// engine applies it, on the single path (HoldCreate) and the batched one
// (HoldCreateBatch): a group kept on one side of an aisle, the cheapest
// block first, chance only among equally good blocks, and the flight's
// stated layout used.
func runBestAvailable(t *testing.T, newStore NewStore) {
	tests := map[string]func(t *testing.T, b *bestFixture){
		"PairStaysOnOneSide":     testBestPairStaysOnOneSide,
		"StatedLayout":           testBestStatedLayout,
		"CheapestFirst":          testBestCheapestFirst,
		"RandomOnlyAmongEquals":  testBestRandomOnlyAmongEquals,
		"BatchKeepsTheSameRule":  testBestBatch,
		"FallbackAcrossTheAisle": testBestFallbackAcrossTheAisle,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			_, digest := apikey.Generate()
			key, err := s.APIKeyCreate(t.Context(), store.APIKeyCreateParams{Name: "customer", Digest: digest})
			if err != nil {
				t.Fatalf("CreateAPIKey: %v", err)
			}
			fn(t, &bestFixture{s: s, key: key})
		})
	}
}

type bestFixture struct {
	s   store.Store
	key int64
}

// economyFlight creates a flight of economy rows 10 to 10+rows-1, seats
// A–F, each row priced by price(row), with the given layout (nil: none).
func (b *bestFixture) economyFlight(t *testing.T, rows int, price func(row int) int64, layout flights.Layout) flights.Flight {
	t.Helper()
	nf := flights.NewFlight{
		Number: "RV7", Origin: "SFO", Destination: "JFK",
		DepartsAt: base, ArrivesAt: base.Add(5 * time.Hour), Layout: layout,
	}
	for r := 10; r < 10+rows; r++ {
		for _, l := range "ABCDEF" {
			nf.Seats = append(nf.Seats, flights.NewSeat{Label: fmt.Sprintf("%d%c", r, l), Cabin: flights.Economy,
				Price: money.Money{Amount: price(r), Currency: "USD"}})
		}
	}
	if err := nf.Validate(); err != nil {
		t.Fatalf("test flight: %v", err)
	}
	fl, err := b.s.FlightCreate(t.Context(), nf)
	if err != nil {
		t.Fatalf("CreateFlight: %v", err)
	}
	return fl
}

func flat(int) int64 { return 12900 }

// takeAllBut holds every seat of fl except keep, so that only keep is free.
func (b *bestFixture) takeAllBut(t *testing.T, fl flights.Flight, keep ...string) {
	t.Helper()
	seats, err := b.s.SeatList(t.Context(), fl.ID)
	if err != nil {
		t.Fatalf("SeatList: %v", err)
	}
	var take []string
	for _, s := range seats {
		if !slices.Contains(keep, s.Label) {
			take = append(take, s.Label)
		}
	}
	if _, err := b.s.HoldCreate(t.Context(), store.HoldCreateParams{
		ID: holds.NewID(), KeyID: b.key, TTL: time.Hour, MaxLifetime: time.Hour,
		Request: holds.Request{FlightID: fl.ID, Seats: take},
	}, nil); err != nil {
		t.Fatalf("hold all but %v: %v", keep, err)
	}
}

func (b *bestFixture) pairRequest(fl flights.Flight) store.HoldCreateParams {
	return store.HoldCreateParams{
		ID: holds.NewID(), KeyID: b.key, TTL: time.Minute, MaxLifetime: time.Hour,
		Request: holds.Request{FlightID: fl.ID, Cabin: flights.Economy, Quantity: 2},
	}
}

// pickPair asks the single path for two economy seats, then releases them,
// so that every pick sees the same seat map. It returns the seats and the
// hold's total.
func (b *bestFixture) pickPair(t *testing.T, fl flights.Flight) (string, int64) {
	t.Helper()
	h, err := b.s.HoldCreate(t.Context(), b.pairRequest(fl), nil)
	if err != nil {
		t.Fatalf("best-available pair: %v", err)
	}
	if _, err := b.s.HoldRelease(t.Context(), store.HoldReleaseParams{KeyID: b.key, ID: h.ID}); err != nil {
		t.Fatalf("release: %v", err)
	}
	return strings.Join(flights.SortSeatLabels(h.Seats), "/"), h.Total.Amount
}

// batchPairs asks the batched path for n pairs of economy seats at once and
// releases them; it returns each pair.
func (b *bestFixture) batchPairs(t *testing.T, fl flights.Flight, n int) []string {
	t.Helper()
	reqs := make([]store.BatchHold, n)
	for i := range reqs {
		reqs[i] = store.BatchHold{Ctx: t.Context(), HoldCreateParams: b.pairRequest(fl)}
	}
	res, err := b.s.HoldCreateBatch(t.Context(), reqs)
	if err != nil || len(res) != n {
		t.Fatalf("HoldCreateBatch = %d results, %v; want %d", len(res), err, n)
	}
	var out []string
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("batched best-available pair: %v", r.Err)
		}
		out = append(out, strings.Join(flights.SortSeatLabels(r.Hold.Seats), "/"))
		if _, err := b.s.HoldRelease(t.Context(), store.HoldReleaseParams{KeyID: b.key, ID: r.Hold.ID}); err != nil {
			t.Fatalf("release: %v", err)
		}
	}
	return out
}

// sideBySide reports whether pair ("12A/12B") is two neighbours of one row
// on one side of the aisle of an ABC DEF cabin.
func sideBySide(pair string) bool {
	a, b, _ := strings.Cut(pair, "/")
	ra, la, ea := flights.ParseSeatLabel(a)
	rb, lb, eb := flights.ParseSeatLabel(b)
	return ea == nil && eb == nil && ra == rb && lb == la+1 && !(la == 'C' && lb == 'D')
}

func testBestPairStaysOnOneSide(t *testing.T, b *bestFixture) {
	// No layout stated: the default (one aisle between C and D) applies.
	fl := b.economyFlight(t, 3, flat, nil)
	b.takeAllBut(t, fl, "10C", "10D", "12E", "12F")
	for range 20 {
		if got, _ := b.pickPair(t, fl); got != "12E/12F" {
			t.Fatalf("pair = %s, want 12E/12F: 10C/10D is split by the aisle", got)
		}
	}
	for range 10 {
		if got := b.batchPairs(t, fl, 1); got[0] != "12E/12F" {
			t.Fatalf("batched pair = %s, want 12E/12F: 10C/10D is split by the aisle", got[0])
		}
	}
}

func testBestStatedLayout(t *testing.T, b *bestFixture) {
	// Two aisles, AB CD EF: B and C are apart, C and D side by side, the
	// other way round from the default ABC DEF.
	fl := b.economyFlight(t, 2, flat, flights.Layout{flights.Economy: "AB CD EF"})
	b.takeAllBut(t, fl, "10B", "10C", "11C", "11D")
	for range 20 {
		if got, _ := b.pickPair(t, fl); got != "11C/11D" {
			t.Fatalf("pair = %s, want 11C/11D: the stated layout puts an aisle between B and C", got)
		}
	}
	for range 10 {
		if got := b.batchPairs(t, fl, 1); got[0] != "11C/11D" {
			t.Fatalf("batched pair = %s, want 11C/11D: the stated layout puts an aisle between B and C", got[0])
		}
	}
}

func testBestCheapestFirst(t *testing.T, b *bestFixture) {
	// Rows 10–12 are extra legroom at +20%, as in the demo catalogue.
	tiered := func(r int) int64 {
		if r <= 12 {
			return 15480
		}
		return 12900
	}
	fl := b.economyFlight(t, 6, tiered, nil)
	for range 30 {
		got, total := b.pickPair(t, fl)
		if total != 2*12900 || !sideBySide(got) {
			t.Fatalf("pair = %s for %d, want two neighbours of rows 13–15 for %d", got, total, 2*12900)
		}
	}
	for _, got := range b.batchPairs(t, fl, 6) {
		if row, _, _ := flights.ParseSeatLabel(strings.Split(got, "/")[0]); row <= 12 || !sideBySide(got) {
			t.Fatalf("batched pair = %s, want two neighbours of rows 13–15", got)
		}
	}
	// The cheaper row loses to a dearer one when it could only split the
	// pair: side by side comes before price.
	b.takeAllBut(t, fl, "10A", "10B", "13C", "13D")
	if got, total := b.pickPair(t, fl); got != "10A/10B" || total != 2*15480 {
		t.Fatalf("pair = %s for %d, want 10A/10B for %d", got, total, 2*15480)
	}
}

func testBestRandomOnlyAmongEquals(t *testing.T, b *bestFixture) {
	fl := b.economyFlight(t, 4, flat, nil)
	seen := map[string]bool{}
	for range 40 {
		got, total := b.pickPair(t, fl)
		if !sideBySide(got) || total != 2*12900 {
			t.Fatalf("pair = %s for %d: want two neighbours on one side of the aisle", got, total)
		}
		seen[got] = true
	}
	// 16 equally good blocks: 40 draws landing on a single one would mean
	// concurrent requests all race for it.
	if len(seen) < 2 {
		t.Fatalf("40 picks on a fresh map chose only %v; want them spread over the equal blocks", seen)
	}
}

func testBestBatch(t *testing.T, b *bestFixture) {
	fl := b.economyFlight(t, 4, flat, nil)
	seen := map[string]bool{}
	for range 5 {
		pairs := b.batchPairs(t, fl, 4)
		batch := map[string]bool{}
		for _, got := range pairs {
			if !sideBySide(got) {
				t.Fatalf("batched pair = %s: want two neighbours on one side of the aisle", got)
			}
			if batch[got] {
				t.Fatalf("batch granted %s twice: %v", got, pairs)
			}
			batch[got], seen[got] = true, true
		}
	}
	if len(seen) < 2 {
		t.Fatalf("20 batched picks chose only %v; want them spread", seen)
	}
}

func testBestFallbackAcrossTheAisle(t *testing.T, b *bestFixture) {
	// No two neighbours are free: one row, even across the aisle, beats
	// two rows.
	fl := b.economyFlight(t, 3, flat, nil)
	b.takeAllBut(t, fl, "10A", "10F", "11C", "12D")
	for range 20 {
		if got, _ := b.pickPair(t, fl); got != "10A/10F" {
			t.Fatalf("pair = %s, want 10A/10F: one row beats two", got)
		}
	}
}
