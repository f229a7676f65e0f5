package kiwisim

//lint:file-ignore ST1005 decodeToken's messages are Kiwi's wire text sent to clients, not Go error strings.

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider/simkit"
)

// offerRef is what a booking_token encodes.
type offerRef struct {
	Origin, Destination string
	Date                time.Time
	Return              time.Time // zero: one way
	Index               int       // the outbound flight of the inventory
	Party               simkit.Party
	Currency            string
	Created             int64 // unix milliseconds of the search
}

// quote is what the party pays for a journey of adult fare eurMinor (the
// inventory's EUR), each passenger's fare quoted in currency.
func (o offerRef) quote(eurMinor int64, currency string) int64 {
	var sum int64
	for _, t := range o.Party.Types() {
		sum += quote(simkit.FareFor(eurMinor, t), currency)
	}
	return sum
}

func encodeToken(o offerRef) string {
	ret := ""
	if !o.Return.IsZero() {
		ret = o.Return.Format(time.DateOnly)
	}
	s := fmt.Sprintf("kw2|%s|%s|%s|%s|%d|%d|%d|%d|%s|%d", o.Origin, o.Destination, o.Date.Format(time.DateOnly), ret,
		o.Index, o.Party.Adults, o.Party.Children, o.Party.Infants, o.Currency, o.Created)
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// decodeToken's error text is Kiwi's own message for a bad token, sent to
// clients as is (hence the capital, which the file-ignore above allows).
func decodeToken(tok string) (offerRef, simkit.Journey, error) {
	bad := fmt.Errorf("Invalid booking token")
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return offerRef{}, nil, bad
	}
	p := strings.Split(string(b), "|")
	if len(p) != 11 || p[0] != "kw2" {
		return offerRef{}, nil, bad
	}
	o := offerRef{Origin: p[1], Destination: p[2], Currency: p[9]}
	var errs [7]error
	o.Created, errs[6] = strconv.ParseInt(p[10], 10, 64)
	o.Date, errs[0] = time.Parse(time.DateOnly, p[3])
	if p[4] != "" {
		o.Return, errs[1] = time.Parse(time.DateOnly, p[4])
	}
	o.Index, errs[2] = strconv.Atoi(p[5])
	o.Party.Adults, errs[3] = strconv.Atoi(p[6])
	o.Party.Children, errs[4] = strconv.Atoi(p[7])
	o.Party.Infants, errs[5] = strconv.Atoi(p[8])
	for _, err := range errs {
		if err != nil {
			return offerRef{}, nil, bad
		}
	}
	if !o.Party.Valid() || !money.Known(o.Currency) {
		return offerRef{}, nil, bad
	}
	j, ok := simkit.FindJourney("kiwi", Carriers, o.Origin, o.Destination, o.Date, o.Return, o.Index)
	if !ok {
		return offerRef{}, nil, bad
	}
	return o, j, nil
}

// readParty reads adults, children and infants of a query; absent ones
// keep def's. problem is Kiwi's message for a bad party.
func readParty(q url.Values, def simkit.Party) (simkit.Party, string) {
	p := def
	for name, n := range map[string]*int{"adults": &p.Adults, "children": &p.Children, "infants": &p.Infants} {
		if v := q.Get(name); v != "" {
			var err error
			if *n, err = strconv.Atoi(v); err != nil || *n < 0 || *n > 9 {
				return p, name + ": Must be between 0 and 9."
			}
		}
	}
	if !p.Valid() {
		return p, "adults: Must be between 1 and 9, with at most 9 seated passengers and no more infants than adults."
	}
	return p, ""
}

// checkedFlights is check_flights' "flights": one per flight of the journey.
func checkedFlights(token string, j simkit.Journey) []map[string]any {
	out := make([]map[string]any, len(j))
	for n, f := range j {
		out[n] = map[string]any{
			"id": fmt.Sprintf("%016x_%d", hash(token), n), "src": f.Origin, "dst": f.Destination,
			"airline": map[string]string{"code": f.Carrier}, "flight_no": f.Number, "return": n,
		}
	}
	return out
}

// expired reports a booking token older than the OfferTTL knob (never
// when the knob is not set).
func (s *Sim) expired(o offerRef) bool {
	ttl := s.Kit.Knobs().OfferTTL
	return ttl > 0 && time.Now().After(time.UnixMilli(o.Created).Add(ttl))
}
