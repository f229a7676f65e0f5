package duffel

import (
	"encoding/json"

	"github.com/reservd/reservd/internal/provider"
)

// orderIdentity reads the id and booking reference of an order answer
// whose amounts cannot be read. A 2xx that names the order is an answer,
// not an unknown outcome: taking it for one would look the order up, and a
// lookup that cannot prove absence would leave the trip waiting on an
// order that exists.
func orderIdentity(body []byte) (provider.Order, bool) {
	data, _, err := unwrapData(body)
	if err != nil {
		return provider.Order{}, false
	}
	var w struct {
		ID               string `json:"id"`
		BookingReference string `json:"booking_reference"`
	}
	if json.Unmarshal(data, &w) != nil || w.ID == "" {
		return provider.Order{}, false
	}
	return provider.Order{ID: w.ID, BookingReference: w.BookingReference}, true
}
