package holds

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/reservd/reservd/internal/flights"
)

// cabin is a seat map of rows first..last, letters from layout, each row
// priced by price; free says which seats are free (nil: all).
func cabin(first, last int, layout string, price func(row int) int64, free func(label string) bool) []SeatSlot {
	var out []SeatSlot
	for r := first; r <= last; r++ {
		for i := 0; i < len(layout); i++ {
			if layout[i] == ' ' {
				continue
			}
			label := fmt.Sprintf("%d%c", r, layout[i])
			out = append(out, SeatSlot{Label: label, Row: r, Letter: layout[i], Price: price(r), Free: free == nil || free(label)})
		}
	}
	// The engines hand seats over in no promised order.
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func flat(int) int64 { return 100 }

func only(labels ...string) func(string) bool {
	return func(l string) bool { return slices.Contains(labels, l) }
}

// picks runs Pick n times on copies of slots and returns each choice.
func picks(n int, slots []SeatSlot, quantity int, layout string) []string {
	rnd := rand.New(rand.NewPCG(7, 7))
	var out []string
	for range n {
		got := Pick(slices.Clone(slots), quantity, layout, rnd)
		out = append(out, strings.Join(flights.SortSeatLabels(got), "/"))
	}
	return out
}

func TestPickNeverSplitsAcrossTheAisle(t *testing.T) {
	slots := cabin(10, 12, "ABC DEF", flat, only("10C", "10D", "12E", "12F"))
	for _, layout := range []string{"ABC DEF", ""} { // stated, and the default
		for _, got := range picks(50, slots, 2, layout) {
			if got != "12E/12F" {
				t.Fatalf("layout %q: pair = %s, want 12E/12F (10C/10D is split by the aisle)", layout, got)
			}
		}
	}
}

func TestPickUsesTheStatedLayout(t *testing.T) {
	// AB CD EF: B and C are apart, C and D side by side, the other way round
	// from the default ABC DEF.
	slots := cabin(10, 11, "AB CD EF", flat, only("10B", "10C", "11C", "11D"))
	for _, got := range picks(50, slots, 2, "AB CD EF") {
		if got != "11C/11D" {
			t.Fatalf("pair = %s, want 11C/11D", got)
		}
	}
	for _, got := range picks(50, slots, 2, "") {
		if got != "10B/10C" {
			t.Fatalf("default layout: pair = %s, want 10B/10C", got)
		}
	}
}

func TestPickCheapestFirst(t *testing.T) {
	tiered := func(r int) int64 {
		if r <= 12 || r == 14 {
			return 120 // extra legroom
		}
		return 100
	}
	slots := cabin(10, 20, "ABC DEF", tiered, nil)
	for _, got := range picks(200, slots, 3, "ABC DEF") {
		row, _, _ := flights.ParseSeatLabel(got[:strings.IndexByte(got, '/')])
		if row <= 12 || row == 14 {
			t.Fatalf("block = %s, in an extra-legroom row while cheaper rows are free", got)
		}
	}
	// Side by side beats cheaper: the cheap row has only a split pair.
	slots = cabin(10, 13, "ABC DEF", tiered, only("10A", "10B", "13C", "13D"))
	for _, got := range picks(50, slots, 2, "ABC DEF") {
		if got != "10A/10B" {
			t.Fatalf("pair = %s, want 10A/10B", got)
		}
	}
}

func TestPickRandomOnlyAmongEqualBlocks(t *testing.T) {
	slots := cabin(10, 29, "ABC DEF", flat, nil)
	seen := map[string]int{}
	for _, got := range picks(400, slots, 2, "") {
		a, b, _ := strings.Cut(got, "/")
		ra, la, _ := flights.ParseSeatLabel(a)
		rb, lb, _ := flights.ParseSeatLabel(b)
		if ra != rb || lb != la+1 || la == 'C' {
			t.Fatalf("pair = %s: want two neighbours on one side of the aisle", got)
		}
		seen[got]++
	}
	// 80 equal blocks (AB BC DE EF of 20 rows): 400 draws should reach most.
	if len(seen) < 40 {
		t.Fatalf("400 picks reached %d distinct blocks; want them spread over the 80 equal ones", len(seen))
	}
}

func TestPickFallback(t *testing.T) {
	// No neighbours free: one row across the aisle beats two rows.
	slots := cabin(10, 12, "ABC DEF", flat, only("10A", "10F", "11C", "12D"))
	for _, got := range picks(50, slots, 2, "") {
		if got != "10A/10F" {
			t.Fatalf("pair = %s, want 10A/10F", got)
		}
	}
	// A group larger than a row spans the fewest rows.
	slots = cabin(10, 12, "ABC DEF", flat, nil)
	for _, got := range picks(50, slots, 8, "") {
		labels := strings.Split(got, "/")
		r0, _, _ := flights.ParseSeatLabel(labels[0])
		r1, _, _ := flights.ParseSeatLabel(labels[len(labels)-1])
		if len(labels) != 8 || r1-r0 != 1 {
			t.Fatalf("group of 8 = %s, want 8 seats over two rows", got)
		}
	}
	if got := Pick(cabin(10, 10, "ABC DEF", flat, only("10A")), 2, "", rand.New(rand.NewPCG(1, 1))); got != nil {
		t.Fatalf("Pick of 2 with 1 free = %v, want nil", got)
	}
}
