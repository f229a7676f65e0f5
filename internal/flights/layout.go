package flights

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Layout is a flight's seat layout: for each cabin, its seat letters in the
// order they stand across the cabin, one space for each aisle, such as
// "ABC DEF" (a single aisle between C and D) or "AC DF". It is what lets the
// best-available picker tell seats side by side from seats across an aisle:
// letters alone cannot (B and C are neighbours, C and D may not be). A cabin
// the layout does not name gets DefaultCabinLayout of its letters.
type Layout map[Cabin]string

var cabinLayoutRe = regexp.MustCompile(`^[A-Z]+( [A-Z]+)*$`)

// DefaultCabinLayout is the layout assumed for a cabin whose flight states
// none: its distinct letters in alphabetical order with one aisle in the
// middle (the fewer letters on the left), as on a single-aisle airliner.
// Six letters give "ABC DEF", the four A C D F give "AC DF", a single letter
// gives no aisle.
func DefaultCabinLayout(letters []byte) string {
	ls := slices.Clone(letters)
	slices.Sort(ls)
	ls = slices.Compact(ls)
	if len(ls) < 2 {
		return string(ls)
	}
	half := len(ls) / 2
	return string(ls[:half]) + " " + string(ls[half:])
}

// CabinLayout returns cabin's layout: the one stated, else the default for
// the given letters of its seats.
func (l Layout) CabinLayout(cabin Cabin, letters []byte) string {
	if s, ok := l[cabin]; ok {
		return s
	}
	return DefaultCabinLayout(letters)
}

// validate checks the layout against the flight's seats: known cabins with
// seats, letters and single spaces only, no letter twice, and every seat's
// letter placed.
func (l Layout) validate(seats []NewSeat, add func(field, msg string)) {
	letters := map[Cabin]map[byte]bool{}
	for _, s := range seats {
		if _, letter, err := ParseSeatLabel(s.Label); err == nil {
			if letters[s.Cabin] == nil {
				letters[s.Cabin] = map[byte]bool{}
			}
			letters[s.Cabin][letter] = true
		}
	}
	cabins := make([]string, 0, len(l))
	for c := range l {
		cabins = append(cabins, string(c))
	}
	slices.Sort(cabins)
	for _, name := range cabins {
		c := Cabin(name)
		field := "layout." + name
		s := l[c]
		switch {
		case !c.Valid():
			add(field, "is not a cabin: must be one of economy, premium_economy, business, first")
			continue
		case letters[c] == nil:
			add(field, "no seat of the flight is in this cabin")
			continue
		case !cabinLayoutRe.MatchString(s):
			add(field, `must be the cabin's seat letters across the cabin, a space for each aisle, like "ABC DEF"`)
			continue
		}
		seen := map[byte]bool{}
		for i := 0; i < len(s); i++ {
			if s[i] != ' ' && seen[s[i]] {
				add(field, fmt.Sprintf("letter %c appears twice", s[i]))
			}
			seen[s[i]] = true
		}
		var missing []string
		for letter := range letters[c] {
			if !seen[letter] {
				missing = append(missing, string(letter))
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			add(field, "does not place seat letters "+strings.Join(missing, ", ")+" of the cabin's seats")
		}
	}
}

// normalize upper-cases the layout and folds runs of blanks into one space.
func (l Layout) normalize() {
	for c, s := range l {
		l[c] = strings.Join(strings.Fields(strings.ToUpper(s)), " ")
	}
}
