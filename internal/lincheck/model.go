package lincheck

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"
)

// GroupSize is the number of seats in a group: seats rA, rB, rC of row r.
const GroupSize = 3

// foreignSeat is set in a seat mask when a response named a seat outside the
// operation's group; the model never accepts it.
const foreignSeat uint8 = 1 << 7

// Kind is an operation of the model.
type Kind uint8

// Operations, each one HTTP request.
const (
	OpHold      Kind = iota + 1 // POST /holds
	OpBook                      // POST /bookings
	OpRelease                   // DELETE /holds/{id}
	OpExtend                    // POST /holds/{id}/extend
	OpCancel                    // POST /bookings/{id}/cancel
	OpReadHold                  // GET /holds/{id}
	OpReadSeats                 // GET /flights/{id}/seats, projected on one group
)

var kindNames = map[Kind]string{
	OpHold: "hold", OpBook: "book", OpRelease: "release", OpExtend: "extend",
	OpCancel: "cancel", OpReadHold: "read-hold", OpReadSeats: "read-seats",
}

func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Input is what a client asked.
type Input struct {
	Kind   Kind
	Flight int64
	Group  int // row-1 of the seats concerned
	// Seats are the requested seats (OpHold), or the seats of the hold as
	// its client knows them (OpRelease, OpCancel); bit i = seat i of the
	// group.
	Seats uint8
	Hold  int32 // the hold's alias, for every kind but OpHold and OpReadSeats
	// Declined is set on an OpBook paid with a card the gateway declines.
	Declined bool
	// Contended (OpHold) are the seats that another client's hold attempt,
	// release or cancellation overlapping this one in time was about: the
	// seat fast path may refuse them. Annotate computes it.
	Contended uint8
}

// Output is what the client was told.
type Output struct {
	// Unknown marks an indeterminate outcome: a transport error, a timeout,
	// a request the client gave up on, or a 5xx.
	Unknown bool
	Status  int
	Code    string // the error code of a 4xx
	// Hold is the alias of the new hold (OpHold 201), or of the hold a
	// booking names (OpBook 201; 0 when it is not the hold booked).
	Hold int32
	// Seats are the seats the response names, as a mask of the group: a
	// hold's or booking's seats, or a 409's details.seats.
	Seats uint8
	// Status of the hold (OpRelease, OpExtend, OpReadHold) or of the
	// booking (OpBook, OpCancel) in a 2xx.
	State string
	// View is the seat map of the group (OpReadSeats): 'a'vailable, 'h'eld
	// or 'b'ooked per seat.
	View [GroupSize]byte
}

// seat is one seat of a group: free (hold 0), held by a hold, or booked
// through it. Hold -1 is a hold granted with an unknown outcome: the client
// never learned its id.
type seat struct {
	hold   int32
	booked bool
}

// State is the state of one group. It is a comparable value, never mutated.
type State struct {
	seats [GroupSize]seat
	// ended lists the holds of the group that ended, sorted by alias, as
	// fixed-size records: alias (4 bytes, big-endian), 'r'eleased or
	// 'b'ooked, seat mask.
	ended string
}

const endedRecord = 6

// hold statuses in the model.
const (
	stNone     = 0 // not granted (yet)
	stActive   = 'a'
	stReleased = 'r'
	stBooked   = 'b'
)

// status returns hold h's status and seats.
func (s State) status(h int32) (byte, uint8) {
	var active uint8
	for i, st := range s.seats {
		if st.hold == h && !st.booked {
			active |= 1 << i
		}
	}
	if active != 0 {
		return stActive, active
	}
	if i, ok := s.find(h); ok {
		r := s.ended[i : i+endedRecord]
		return r[4], r[5]
	}
	return stNone, 0
}

// find returns the offset of h's record in ended.
func (s State) find(h int32) (int, bool) {
	lo, hi := 0, len(s.ended)/endedRecord
	for lo < hi {
		m := (lo + hi) / 2
		a := int32(binary.BigEndian.Uint32([]byte(s.ended[m*endedRecord:]))) // #nosec G115 -- decodes the 32 bits end wrote with uint32(h); the round trip is exact
		switch {
		case a == h:
			return m * endedRecord, true
		case a < h:
			lo = m + 1
		default:
			hi = m
		}
	}
	return lo * endedRecord, false
}

// end records that h ended with status st over seats.
func (s State) end(h int32, st byte, seats uint8) State {
	i, ok := s.find(h)
	if ok {
		return s
	}
	var r [endedRecord]byte
	binary.BigEndian.PutUint32(r[:], uint32(h)) // #nosec G115 -- stores h's 32 bits, read back with int32(); the round trip is exact
	r[4], r[5] = st, seats
	s.ended = s.ended[:i] + string(r[:]) + s.ended[i:]
	return s
}

func (s State) free(mask uint8) bool {
	for i, st := range s.seats {
		if mask&(1<<i) != 0 && (st.hold != 0 || st.booked) {
			return false
		}
	}
	return true
}

func (s State) taken(mask uint8) bool {
	for i, st := range s.seats {
		if mask&(1<<i) != 0 && st.hold == 0 && !st.booked {
			return false
		}
	}
	return true
}

func (s State) grant(mask uint8, h int32) State {
	for i := range s.seats {
		if mask&(1<<i) != 0 {
			s.seats[i] = seat{hold: h}
		}
	}
	return s
}

func (s State) release(h int32) State {
	_, mask := s.status(h)
	for i, st := range s.seats {
		if st.hold == h && !st.booked {
			s.seats[i] = seat{}
		}
	}
	return s.end(h, stReleased, mask)
}

func (s State) book(h int32) State {
	_, mask := s.status(h)
	for i, st := range s.seats {
		if st.hold == h {
			s.seats[i].booked = true
		}
	}
	return s.end(h, stBooked, mask)
}

func (s State) cancel(h int32) State {
	for i, st := range s.seats {
		if st.hold == h && st.booked {
			s.seats[i] = seat{}
		}
	}
	return s
}

func (s State) view() [GroupSize]byte {
	var v [GroupSize]byte
	for i, st := range s.seats {
		switch {
		case st.booked:
			v[i] = 'b'
		case st.hold != 0:
			v[i] = 'h'
		default:
			v[i] = 'a'
		}
	}
	return v
}

var holdStates = map[byte]string{stActive: "active", stReleased: "released", stBooked: "booked"}

// Step returns every state the group can be in after the operation, given
// what the client was told: none when the answer is impossible.
func Step(s State, in Input, out Output) []State {
	one := func(ok bool, next State) []State {
		if ok {
			return []State{next}
		}
		return nil
	}
	if in.Kind == OpHold {
		free := s.free(in.Seats)
		switch {
		case out.Unknown && free:
			return []State{s, s.grant(in.Seats, -1)}
		case out.Unknown:
			return []State{s}
		case out.Status == 201:
			return one(free && out.Seats == in.Seats && out.Hold > 0, s.grant(in.Seats, out.Hold))
		case out.Status == 409:
			return one(out.Code == "seats_unavailable" && out.Seats != 0 && out.Seats&^in.Seats == 0 && s.taken(out.Seats&^in.Contended), s)
		}
		return nil
	}
	if in.Kind == OpReadSeats {
		return one(out.Unknown || (out.Status == 200 && out.View == s.view()), s)
	}

	st, mask := s.status(in.Hold)
	if st == stNone {
		// The client only names holds it was granted, after the grant returned.
		return nil
	}
	active := st == stActive
	switch in.Kind {
	case OpBook:
		switch {
		case out.Unknown && active:
			return []State{s, s.book(in.Hold)}
		case out.Unknown:
			return []State{s}
		case out.Status == 201:
			return one(active && !in.Declined && out.Hold == in.Hold && out.Seats == mask && out.State == "confirmed", s.book(in.Hold))
		case out.Status == 402:
			return one(active && in.Declined && out.Code == "payment_declined", s)
		case out.Status == 409:
			return one(!active && out.Code == "hold_not_active", s)
		}
	case OpRelease:
		switch {
		case out.Unknown && active:
			return []State{s, s.release(in.Hold)}
		case out.Unknown:
			return []State{s}
		case out.Status == 200:
			ok := (active || st == stReleased) && out.State == "released" && out.Seats == mask
			if active {
				return one(ok, s.release(in.Hold))
			}
			return one(ok, s)
		case out.Status == 409:
			return one(st == stBooked && out.Code == "hold_already_booked", s)
		}
	case OpExtend:
		switch {
		case out.Unknown:
			return []State{s}
		case out.Status == 200:
			return one(active && out.State == "active" && out.Seats == mask, s)
		case out.Status == 409:
			return one(!active && out.Code == "hold_not_active", s)
		}
	case OpCancel:
		switch {
		case out.Unknown && st == stBooked:
			return []State{s, s.cancel(in.Hold)}
		case out.Unknown:
			return []State{s}
		case out.Status == 200:
			return one(st == stBooked && out.State == "canceled" && out.Seats == mask, s.cancel(in.Hold))
		}
	case OpReadHold:
		return one(out.Unknown || (out.Status == 200 && out.State == holdStates[st] && out.Seats == mask), s)
	}
	return nil
}

// Annotate returns a copy of history in which every OpHold refused 409
// knows its contended seats: those of the other clients' hold attempts,
// releases and cancellations on the group whose time overlaps the refusal's
// (including its own client's requests with an unknown outcome).
//
// This is the one relaxation of the model, and it is about refusals only.
// The seat fast path (seatlock, in front of the database) refuses a seat
// whose key is set without asking the database, and its keys run a little
// ahead of the database when a seat is taken (the key is set before the
// hold's transaction) and a little behind it when a seat is freed (the key
// is deleted after the release's or cancellation's transaction). A refusal
// overlapping such an operation may therefore name a seat that the database,
// and a read, show free at every instant of the refusal. Grants and reads are
// decided by the database and are held to the strict model; a seat refused
// with nothing in flight on it must be taken.
func Annotate(history []porcupine.Operation) []porcupine.Operation {
	out := slices.Clone(history)
	for i, f := range out {
		in, ok := f.Input.(Input)
		if !ok || in.Kind != OpHold || f.Output.(Output).Status != 409 {
			continue
		}
		in.Contended = 0
		for _, o := range history {
			oin := o.Input.(Input)
			// A client's own requests come one at a time, except those it
			// gave up on, which the server may still be running.
			if (o.ClientId == f.ClientId && o.Return != math.MaxInt64) || oin.Flight != in.Flight || oin.Group != in.Group ||
				o.Call > f.Return || f.Call > o.Return {
				continue
			}
			switch oin.Kind {
			case OpHold, OpRelease, OpCancel:
				in.Contended |= oin.Seats
			}
		}
		out[i].Input = in
	}
	return out
}

// Key is a partition of a history: one group of one flight.
type Key struct {
	Flight int64
	Group  int
}

// Partition splits a history by group. Every operation concerns one group,
// so the split is exact: a history is linearizable iff every group's is.
func Partition(history []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[Key][]porcupine.Operation{}
	for _, op := range history {
		in := op.Input.(Input)
		k := Key{in.Flight, in.Group}
		byKey[k] = append(byKey[k], op)
	}
	keys := make([]Key, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b Key) int {
		if c := cmp.Compare(a.Flight, b.Flight); c != 0 {
			return c
		}
		return cmp.Compare(a.Group, b.Group)
	})
	out := make([][]porcupine.Operation, 0, len(keys))
	for _, k := range keys {
		out = append(out, byKey[k])
	}
	return out
}

// Model is the per-group model of the seats, for porcupine.
func Model() porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Partition: Partition,
		Init:      func() []any { return []any{State{}} },
		Step: func(state, input, output any) []any {
			next := Step(state.(State), input.(Input), output.(Output))
			out := make([]any, len(next))
			for i, s := range next {
				out[i] = s
			}
			return out
		},
		Hash: func(state any) uint64 {
			s := state.(State)
			h := fnv.New64a()
			for _, st := range s.seats {
				var b [5]byte
				binary.BigEndian.PutUint32(b[:], uint32(st.hold)) // #nosec G115 -- hashes the hold alias's 32 bits; only equality matters
				if st.booked {
					b[4] = 1
				}
				h.Write(b[:]) // #nosec G104 -- hash.Hash's Write never returns an error
			}
			h.Write([]byte(s.ended)) // #nosec G104 -- hash.Hash's Write never returns an error
			return h.Sum64()
		},
		DescribeOperation: describeOperation,
		DescribeState:     func(state any) string { return describeState(state.(State)) },
	}
	return nm.ToModel()
}

// Label returns the label of seat i of group g: row g+1, letter A+i.
func Label(group, i int) string { return fmt.Sprintf("%d%c", group+1, 'A'+i) }

// Labels returns the labels of mask's seats in group g.
func Labels(group int, mask uint8) []string {
	var out []string
	for i := range GroupSize {
		if mask&(1<<i) != 0 {
			out = append(out, Label(group, i))
		}
	}
	if mask&foreignSeat != 0 {
		out = append(out, "(other group)")
	}
	return out
}

// Mask returns the mask of labels in group g, with foreignSeat set for a
// label of another group.
func Mask(group int, labels []string) uint8 {
	var m uint8
	for _, l := range labels {
		found := false
		for i := range GroupSize {
			if l == Label(group, i) {
				m |= 1 << i
				found = true
			}
		}
		if !found {
			m |= foreignSeat
		}
	}
	return m
}

func holdName(h int32) string {
	if h < 0 {
		return "H?"
	}
	return fmt.Sprintf("H%d", h)
}

func describeOperation(input, output any) string {
	in, out := input.(Input), output.(Output)
	var b strings.Builder
	switch in.Kind {
	case OpHold:
		fmt.Fprintf(&b, "hold(%s)", strings.Join(Labels(in.Group, in.Seats), ","))
		if in.Contended != 0 {
			fmt.Fprintf(&b, " (contended %s)", strings.Join(Labels(in.Group, in.Contended), ","))
		}
	case OpReadSeats:
		fmt.Fprintf(&b, "seats(row %d)", in.Group+1)
	case OpBook:
		card := "visa"
		if in.Declined {
			card = "declined"
		}
		fmt.Fprintf(&b, "book(%s, %s)", holdName(in.Hold), card)
	default:
		fmt.Fprintf(&b, "%s(%s)", in.Kind, holdName(in.Hold))
	}
	b.WriteString(" → ")
	switch {
	case out.Unknown:
		b.WriteString("unknown")
		if out.Status != 0 {
			fmt.Fprintf(&b, " (%d)", out.Status)
		}
		return b.String()
	case in.Kind == OpReadSeats:
		fmt.Fprintf(&b, "%s", string(out.View[:]))
		return b.String()
	}
	fmt.Fprintf(&b, "%d", out.Status)
	if out.Code != "" {
		fmt.Fprintf(&b, " %s", out.Code)
	}
	if out.Hold != 0 && in.Kind == OpHold {
		fmt.Fprintf(&b, " %s", holdName(out.Hold))
	}
	if out.State != "" {
		fmt.Fprintf(&b, " %s", out.State)
	}
	if out.Seats != 0 {
		fmt.Fprintf(&b, " [%s]", strings.Join(Labels(in.Group, out.Seats), ","))
	}
	return b.String()
}

func describeState(s State) string {
	var parts []string
	for _, st := range s.seats {
		switch {
		case st.booked:
			parts = append(parts, "booked/"+holdName(st.hold))
		case st.hold != 0:
			parts = append(parts, "held/"+holdName(st.hold))
		default:
			parts = append(parts, "free")
		}
	}
	var ended []string
	for i := 0; i+endedRecord <= len(s.ended); i += endedRecord {
		r := s.ended[i : i+endedRecord]
		h := int32(binary.BigEndian.Uint32([]byte(r))) // #nosec G115 -- decodes the 32 bits end wrote with uint32(h); the round trip is exact
		ended = append(ended, holdName(h)+"="+holdStates[r[4]])
	}
	out := strings.Join(parts, " ")
	if len(ended) > 0 {
		out += " | ended " + strings.Join(ended, " ")
	}
	return out
}
