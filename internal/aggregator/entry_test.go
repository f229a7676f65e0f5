package aggregator

import (
	"bytes"
	"encoding/gob"
	"reflect"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
)

// sampleEntry is a search entry with what the codec must keep: times in
// named zones, in an offset of seconds, in UTC and zero; raw bytes and none;
// offers with and without segments.
func sampleEntry(t testing.TB, offers int) searchEntry {
	t.Helper()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	odd := time.FixedZone("", 5*3600+30*60+7)
	dep := time.Date(2026, 12, 24, 8, 5, 0, 123, ny)
	e := searchEntry{At: time.Date(2026, 11, 27, 3, 4, 5, 6, time.UTC), Result: Result{
		Providers: []ProviderStatus{
			{Name: "duffel", Status: "timeout", LatencyMS: 2976, Simulated: true},
			{Name: "amadeus", Status: "ok", Offers: offers, LatencyMS: 12},
			{Name: "kiwi", Status: "ok", LatencyMS: -1},
		}}}
	for i := range offers {
		segs := []provider.Segment{
			{Carrier: "UA", FlightNumber: "123", Origin: "SFO", Destination: "ORD", DepartsAt: dep, ArrivesAt: dep.Add(4 * time.Hour).In(odd)},
			{Carrier: "AA", FlightNumber: "9", Origin: "ORD", Destination: "JFK", DepartsAt: dep.Add(6 * time.Hour).UTC(), ArrivesAt: dep.Add(9 * time.Hour)},
			{Slice: 1, Carrier: "AA", FlightNumber: "10", Origin: "JFK", Destination: "SFO", DepartsAt: dep.Add(72 * time.Hour).UTC(), ArrivesAt: dep.Add(78 * time.Hour)},
		}
		var raw []byte
		if i%2 == 0 {
			raw = bytes.Repeat([]byte(`{"id":"x","price":"1.00"}`), i+1)
		}
		src := provider.Offer{Provider: "amadeus", ID: string(rune('a' + i)), Price: money.Money{Amount: int64(1000 * i), Currency: "EUR"},
			Segments: segs, ExpiresAt: dep.Add(-time.Hour), Raw: raw}
		if i == 1 {
			src.Segments, src.ExpiresAt = nil, time.Time{}
		}
		e.Result.Offers = append(e.Result.Offers, Offer{ID: OfferID([]byte("test key"), provider.SearchRequest{Origin: "SFO", Destination: "JFK", DepartureDate: dep, Currency: "USD"}, src), Provider: src.Provider,
			Price: money.Money{Amount: -int64(1100 * i), Currency: "USD"}, ProviderPrice: src.Price, Segments: src.Segments,
			ExpiresAt: src.ExpiresAt.UTC(), Source: src})
	}
	return e
}

// gobRoundTrip is what the cache kept before entry.go: the reference for
// what a decoded entry holds.
func gobRoundTrip(t testing.TB, e searchEntry) searchEntry {
	t.Helper()
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(e); err != nil {
		t.Fatal(err)
	}
	var out searchEntry
	if err := gob.NewDecoder(&b).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSearchEntryRoundTrip(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 5} {
		e := sampleEntry(t, n)
		b, err := encodeSearchEntry(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeSearchEntry(b)
		if err != nil {
			t.Fatalf("%d offers: %v", n, err)
		}
		if want := gobRoundTrip(t, e); !reflect.DeepEqual(got, want) {
			t.Errorf("%d offers: decoded\n%+v\nwant, as gob kept it,\n%+v", n, got, want)
		}
		for i, o := range got.Result.Offers {
			for j, s := range o.Segments {
				w := e.Result.Offers[i].Segments[j]
				if !s.DepartsAt.Equal(w.DepartsAt) || s.DepartsAt.Format(time.RFC3339Nano) != w.DepartsAt.Format(time.RFC3339Nano) {
					t.Errorf("offer %d segment %d departs %v, want %v", i, j, s.DepartsAt, w.DepartsAt)
				}
			}
		}
	}
}

// An entry cut short, with bytes left over or of another form is refused,
// never half read.
func TestSearchEntryMalformed(t *testing.T) {
	t.Parallel()
	b, err := encodeSearchEntry(sampleEntry(t, 3))
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(b) {
		if _, err := decodeSearchEntry(b[:n]); err == nil {
			t.Fatalf("the entry's first %d of %d bytes decoded", n, len(b))
		}
	}
	if _, err := decodeSearchEntry(append(b[:len(b):len(b)], 0)); err == nil {
		t.Error("an entry with a byte left over decoded")
	}
	other := append([]byte{entryForm + 1}, b[1:]...)
	if _, err := decodeSearchEntry(other); err == nil {
		t.Error("an entry of another form decoded")
	}
}

// A time gob could not keep either is an error, and the search is not cached.
func TestSearchEntryUnencodableTime(t *testing.T) {
	t.Parallel()
	e := sampleEntry(t, 1)
	e.Result.Offers[0].ExpiresAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 1<<21))
	if _, err := encodeSearchEntry(e); err == nil {
		t.Error("a time with an offset of 24 days encoded")
	}
}

func FuzzSearchEntry(f *testing.F) {
	for _, n := range []int{0, 2} {
		b, err := encodeSearchEntry(sampleEntry(f, n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// What decodes encodes, and decodes to the same bytes again. (Not
	// reflect.DeepEqual: two decodings of one zone offset may build their
	// *time.Location apart.)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeSearchEntry(b)
		if err != nil {
			return
		}
		once, err := encodeSearchEntry(e)
		if err != nil {
			t.Fatalf("a decoded entry does not encode: %v", err)
		}
		back, err := decodeSearchEntry(once)
		if err != nil {
			t.Fatalf("a re-encoded entry does not decode: %v", err)
		}
		twice, err := encodeSearchEntry(back)
		if err != nil || !bytes.Equal(twice, once) {
			t.Fatalf("re-encoded entry changes again: %q, %v; want %q", twice, err, once)
		}
	})
}

func BenchmarkSearchEntry(b *testing.B) {
	e := sampleEntry(b, 12)
	fixed := func(t time.Time) time.Time { _, off := t.Zone(); return t.In(time.FixedZone("", off)) }
	for i := range e.Result.Offers {
		o := &e.Result.Offers[i]
		for j := range o.Segments {
			o.Segments[j].DepartsAt, o.Segments[j].ArrivesAt = fixed(o.Segments[j].DepartsAt), fixed(o.Segments[j].ArrivesAt)
		}
		o.Source.ExpiresAt = fixed(o.Source.ExpiresAt)
	}
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			if _, err := encodeSearchEntry(e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode-gob", func(b *testing.B) {
		for b.Loop() {
			var buf bytes.Buffer
			if err := gob.NewEncoder(&buf).Encode(e); err != nil {
				b.Fatal(err)
			}
		}
	})
	enc, _ := encodeSearchEntry(e)
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeSearchEntry(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
