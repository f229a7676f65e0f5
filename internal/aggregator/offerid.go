package aggregator

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"sync"
	"time"

	"github.com/reservd/reservd/internal/provider"
)

// OfferID is our opaque id of one offer of one search: a keyed hash
// (HMAC-SHA256, 130 bits kept) of the search's identity, the provider, the
// provider's own offer id and a digest of the offer's segments and price.
// The provider's id alone is not enough: Amadeus numbers its offers "1",
// "2", … in every search, so one id would name different flights. The hash
// is stable, so the same search finds the same offers under the same ids
// (a trip's worker recognizes the offers it already tried), and keyed, so
// that ids cannot be predicted from public data without the key.
func OfferID(key []byte, search provider.SearchRequest, o provider.Offer) string {
	mac := hmac.New(sha256.New, key)
	write := func(s string) { mac.Write([]byte(s)); mac.Write([]byte{0}) }
	write(searchID(search))
	write(o.Provider)
	write(o.ID)
	write(o.Price.String())
	for _, s := range o.Segments {
		write(string(rune('0' + s.Slice))) // #nosec G115 -- a slice index is 0 or 1
		write(s.Carrier)
		write(s.FlightNumber)
		write(s.Origin)
		write(s.Destination)
		write(s.DepartsAt.UTC().Format(time.RFC3339))
		write(s.ArrivesAt.UTC().Format(time.RFC3339))
	}
	sum := mac.Sum(nil)
	return "off_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum)[:26])
}

// processOfferKey is the offer-id key when Config.OfferIDKey is not set:
// random, drawn once per process, so every aggregator of the process gives
// an offer the same id.
var processOfferKey = sync.OnceValue(func() []byte {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return b
})

// offerKey is the key offer ids are made with.
func (a *Aggregator) offerKey() []byte {
	if len(a.cfg.OfferIDKey) > 0 {
		return a.cfg.OfferIDKey
	}
	return processOfferKey()
}
