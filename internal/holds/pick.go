package holds

import (
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/reservd/reservd/internal/flights"
)

// SeatSlot is one seat of a cabin as the picker sees it.
type SeatSlot struct {
	Label  string
	Row    int
	Letter byte
	Free   bool
	// Price is the seat's price in the flight's currency's minor units.
	Price int64
}

// Pick chooses quantity free seats from a cabin's seat map, as a person
// choosing for a group would:
//
//  1. seats side by side in one row, never split by an aisle or a taken
//     seat, whenever the cabin has such a block;
//  2. otherwise seats in one row, with as few breaks (aisles, taken seats)
//     between them as possible; otherwise over as few rows as possible;
//  3. among blocks equally good by 1 and 2, the cheapest;
//  4. among blocks equal in all of that, one at random, so that concurrent
//     requests spread over the cabin instead of all racing for one block.
//
// layout is the cabin's layout (flights.Layout): its letters across the
// cabin, a space for each aisle; "" means flights.DefaultCabinLayout of the
// slots' letters. A letter the layout does not place is nobody's neighbour.
// Pick returns nil when the cabin has fewer than quantity free seats. It is
// the one statement of the rule: every engine's best-available path, single
// and batched, calls it.
func Pick(slots []SeatSlot, quantity int, layout string, rnd *rand.Rand) []string {
	if layout == "" {
		letters := make([]byte, len(slots))
		for i, s := range slots {
			letters[i] = s.Letter
		}
		layout = flights.DefaultCabinLayout(letters)
	}
	// A seat's position across the row: neighbours differ by exactly one,
	// an aisle (a space in the layout) makes the gap two.
	pos := func(letter byte) int {
		if i := strings.IndexByte(layout, letter); i >= 0 {
			return i
		}
		return 2*len(layout) + 2*int(letter) // unplaced: adjacent to nothing
	}
	sort.Slice(slots, func(i, j int) bool {
		if slots[i].Row != slots[j].Row {
			return slots[i].Row < slots[j].Row
		}
		return pos(slots[i].Letter) < pos(slots[j].Letter)
	})
	var free []int
	for i := range slots {
		if slots[i].Free {
			free = append(free, i)
		}
	}
	if quantity < 1 || len(free) < quantity {
		return nil
	}
	// Candidates are runs of quantity consecutive free seats in seat order:
	// any better group would be such a run.
	type score struct {
		rows, breaks int
		price        int64
	}
	less := func(a, b score) bool {
		if a.rows != b.rows {
			return a.rows < b.rows
		}
		if a.breaks != b.breaks {
			return a.breaks < b.breaks
		}
		return a.price < b.price
	}
	var best score
	var ties []int // start indexes into free of the runs scoring best
	for start := 0; start+quantity <= len(free); start++ {
		run := free[start : start+quantity]
		sc := score{rows: slots[run[quantity-1]].Row - slots[run[0]].Row}
		for k, i := range run {
			sc.price += slots[i].Price
			if k > 0 {
				prev := slots[run[k-1]]
				if prev.Row != slots[i].Row || pos(slots[i].Letter)-pos(prev.Letter) != 1 {
					sc.breaks++
				}
			}
		}
		switch {
		case len(ties) == 0 || less(sc, best):
			best, ties = sc, append(ties[:0], start)
		case !less(best, sc):
			ties = append(ties, start)
		}
	}
	start := ties[rnd.IntN(len(ties))]
	out := make([]string, 0, quantity)
	for _, i := range free[start : start+quantity] {
		out = append(out, slots[i].Label)
	}
	return out
}
