package holds

import (
	"math/rand/v2"
	"sort"
)

// SeatSlot is one seat of a cabin as the picker sees it.
type SeatSlot struct {
	Label  string
	Row    int
	Letter byte
	Free   bool
}

// Pick chooses quantity free seats from a cabin's seat map: side by side in
// one row when some row has room, otherwise the free seats nearest to each
// other in seat order. Among equally good choices it picks at random, so
// that concurrent requests spread over the cabin instead of all racing for
// its first row. It returns nil when the cabin has fewer free seats.
func Pick(slots []SeatSlot, quantity int, rnd *rand.Rand) []string {
	sort.Slice(slots, func(i, j int) bool {
		if slots[i].Row != slots[j].Row {
			return slots[i].Row < slots[j].Row
		}
		return slots[i].Letter < slots[j].Letter
	})
	var free []int
	var blocks [][]string // runs of quantity free seats side by side in one row
	for i := range slots {
		if !slots[i].Free {
			continue
		}
		free = append(free, i)
		if i+1 < quantity {
			continue
		}
		start := i + 1 - quantity
		ok := true
		for j := start; j <= i; j++ {
			if !slots[j].Free || slots[j].Row != slots[i].Row {
				ok = false
				break
			}
		}
		if ok {
			block := make([]string, 0, quantity)
			for j := start; j <= i; j++ {
				block = append(block, slots[j].Label)
			}
			blocks = append(blocks, block)
		}
	}
	if len(free) < quantity || quantity < 1 {
		return nil
	}
	if len(blocks) > 0 {
		return blocks[rnd.IntN(len(blocks))]
	}
	start := rnd.IntN(len(free) - quantity + 1)
	out := make([]string, 0, quantity)
	for _, i := range free[start : start+quantity] {
		out = append(out, slots[i].Label)
	}
	return out
}
