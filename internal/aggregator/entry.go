package aggregator

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
)

// The search entry's bytes: every field of searchEntry in order, written by
// hand rather than by encoding/gob, which every miss of GET /offers paid for
// (9% of reservd's CPU under distinct searches: a new gob stream per entry
// describes its types again, and reflection walks every field). Strings and
// byte slices are a uvarint length and the bytes, integers varints, a bool a
// byte, a time its MarshalBinary form (as gob keeps a time: the instant and
// the zone's offset) after a one-byte length, a slice a uvarint count and its
// elements. A segment starts with its slice (0 or 1) as a uvarint. The
// first byte is the form's version.
//
// Change the form only with cacheVersion, whose keys keep entries of
// different forms apart.
const entryForm = 2

// errEntry reports a search entry that is not of this form: cut short, of
// another version, or with bytes left over.
var errEntry = errors.New("malformed search entry")

func encodeSearchEntry(e searchEntry) ([]byte, error) {
	b := make([]byte, 0, 4096)
	b = append(b, entryForm)
	var err error
	b = appendTime(b, e.At, &err)
	b = binary.AppendUvarint(b, uint64(len(e.Result.Offers)))
	for _, o := range e.Result.Offers {
		b = appendString(b, o.ID)
		b = appendString(b, o.Provider)
		b = appendMoney(b, o.Price)
		b = appendMoney(b, o.ProviderPrice)
		b = appendSegments(b, o.Segments, &err)
		b = appendTime(b, o.ExpiresAt, &err)
		s := o.Source
		b = appendString(b, s.Provider)
		b = appendString(b, s.ID)
		b = appendMoney(b, s.Price)
		b = appendSegments(b, s.Segments, &err)
		b = appendTime(b, s.ExpiresAt, &err)
		b = binary.AppendUvarint(b, uint64(len(s.Raw)))
		b = append(b, s.Raw...)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Result.Providers)))
	for _, p := range e.Result.Providers {
		b = appendString(b, p.Name)
		b = appendString(b, p.Status)
		b = binary.AppendVarint(b, int64(p.Offers))
		b = binary.AppendVarint(b, p.LatencyMS)
		b = appendBool(b, p.Simulated)
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

func decodeSearchEntry(b []byte) (searchEntry, error) {
	if len(b) == 0 || b[0] != entryForm {
		return searchEntry{}, errEntry
	}
	r := entryReader{b: b[1:]}
	var e searchEntry
	e.At = r.time()
	if n := r.count(); n > 0 {
		e.Result.Offers = make([]Offer, n)
		for i := range e.Result.Offers {
			o := &e.Result.Offers[i]
			o.ID = r.str()
			o.Provider = r.str()
			o.Price = r.money()
			o.ProviderPrice = r.money()
			o.Segments = r.segments()
			o.ExpiresAt = r.time()
			s := &o.Source
			s.Provider = r.str()
			s.ID = r.str()
			s.Price = r.money()
			s.Segments = r.segments()
			s.ExpiresAt = r.time()
			s.Raw = r.bytes()
		}
	}
	if n := r.count(); n > 0 {
		e.Result.Providers = make([]ProviderStatus, n)
		for i := range e.Result.Providers {
			p := &e.Result.Providers[i]
			p.Name = r.str()
			p.Status = r.str()
			p.Offers = int(r.int())
			p.LatencyMS = r.int()
			p.Simulated = r.bool()
		}
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = errEntry
	}
	if r.err != nil {
		return searchEntry{}, r.err
	}
	return e, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendMoney(b []byte, m money.Money) []byte {
	return appendString(binary.AppendVarint(b, m.Amount), m.Currency)
}

// appendTime appends t's MarshalBinary form after its length (15 or 16
// bytes). A time it cannot encode sets *err, if not set yet.
func appendTime(b []byte, t time.Time, err *error) []byte {
	at := len(b)
	b, e := t.AppendBinary(append(b, 0))
	if e != nil {
		if *err == nil {
			*err = fmt.Errorf("encode time %v: %w", t, e)
		}
		return b[:at]
	}
	b[at] = byte(len(b) - at - 1) // #nosec G115 -- a time's MarshalBinary form is 15 or 16 bytes
	return b
}

func appendSegments(b []byte, ss []provider.Segment, err *error) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = binary.AppendUvarint(b, uint64(s.Slice)) // #nosec G115 -- a slice index is 0 or 1, never negative
		b = appendString(b, s.Carrier)
		b = appendString(b, s.FlightNumber)
		b = appendString(b, s.Origin)
		b = appendString(b, s.Destination)
		b = appendTime(b, s.DepartsAt, err)
		b = appendTime(b, s.ArrivesAt, err)
	}
	return b
}

// entryReader reads what entryWriter wrote. Its first error sticks; every
// read after it returns a zero value, and no length is trusted beyond the
// bytes left.
type entryReader struct {
	b   []byte
	err error
}

func (r *entryReader) fail() { r.err, r.b = errEntry, nil }

func (r *entryReader) uint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *entryReader) int() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a slice's length, which cannot exceed the bytes left, since
// every element takes at least one.
func (r *entryReader) count() int {
	n := r.uint()
	if n > uint64(len(r.b)) {
		r.fail()
		return 0
	}
	return int(n) // #nosec G115 -- n <= len(r.b), checked just above, so it fits an int
}

func (r *entryReader) next(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *entryReader) str() string { return string(r.next(r.uint())) }

// bytes returns a copy, nil when empty, as gob decoded them.
func (r *entryReader) bytes() []byte {
	p := r.next(r.uint())
	if len(p) == 0 {
		return nil
	}
	return append([]byte(nil), p...)
}

func (r *entryReader) bool() bool {
	p := r.next(1)
	if len(p) == 0 {
		return false
	}
	if p[0] > 1 {
		r.fail()
	}
	return p[0] == 1
}

func (r *entryReader) money() money.Money {
	amount := r.int()
	return money.Money{Amount: amount, Currency: r.str()}
}

// maxZoneOffset bounds the UTC offset of a time the reader accepts.
const maxZoneOffset = 24 * 60 * 60

func (r *entryReader) time() time.Time {
	p := r.next(1)
	if len(p) == 0 {
		return time.Time{}
	}
	p = r.next(uint64(p[0]))
	var t time.Time
	if r.err == nil {
		if err := t.UnmarshalBinary(p); err != nil {
			r.fail()
		} else if _, offset := t.Zone(); offset < -maxZoneOffset || offset > maxZoneOffset {
			// No time zone is a day off UTC; such an offset would not
			// survive another round (time's binary form keeps it in minutes
			// and seconds of an int16).
			r.fail()
		}
	}
	return t
}

func (r *entryReader) segments() []provider.Segment {
	n := r.count()
	if n == 0 {
		return nil
	}
	ss := make([]provider.Segment, n)
	for i := range ss {
		s := &ss[i]
		if s.Slice = int(r.uint()); s.Slice > 1 { // #nosec G115 -- checked on the same line: anything but 0 or 1 is refused
			r.fail() // an offer has an outbound and at most a return
		}
		s.Carrier = r.str()
		s.FlightNumber = r.str()
		s.Origin = r.str()
		s.Destination = r.str()
		s.DepartsAt = r.time()
		s.ArrivesAt = r.time()
	}
	return ss
}
