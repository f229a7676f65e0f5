package amadeussim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider/simkit"
)

// book is Flight Create Orders.
func (s *Sim) book(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Data struct {
			Type         string            `json:"type"`
			FlightOffers []json.RawMessage `json:"flightOffers"`
			Travelers    []json.RawMessage `json:"travelers"`
			Remarks      json.RawMessage   `json:"remarks"`
		} `json:"data"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	d := body.Data
	if d.Type != "flight-order" || len(d.FlightOffers) != 1 || len(d.Travelers) == 0 {
		writeErrors(w, http.StatusBadRequest, issue{Code: 32171, Title: "MANDATORY DATA MISSING", Detail: "data.type flight-order, one flightOffer and travelers are required", Source: &source{Pointer: "/data"}})
		return
	}
	for i, raw := range d.Travelers {
		var t struct {
			ID          string `json:"id"`
			DateOfBirth string `json:"dateOfBirth"`
			Name        struct {
				FirstName string `json:"firstName"`
				LastName  string `json:"lastName"`
			} `json:"name"`
		}
		if err := json.Unmarshal(raw, &t); err != nil || t.ID == "" || t.Name.FirstName == "" || t.Name.LastName == "" {
			writeErrors(w, http.StatusBadRequest, issue{Code: 32171, Title: "MANDATORY DATA MISSING", Detail: "traveler id and name are required", Source: &source{Pointer: fmt.Sprintf("/data/travelers[%d]", i)}})
			return
		}
		if _, err := time.Parse(time.DateOnly, t.DateOfBirth); err != nil {
			writeErrors(w, http.StatusBadRequest, issue{Code: 477, Title: "INVALID FORMAT", Detail: "dateOfBirth must be YYYY-MM-DD", Source: &source{Pointer: fmt.Sprintf("/data/travelers[%d]/dateOfBirth", i)}})
			return
		}
	}
	var remarks struct {
		General []struct {
			SubType string `json:"subType"`
			Text    string `json:"text"`
		} `json:"general"`
	}
	if len(d.Remarks) > 0 {
		if err := json.Unmarshal(d.Remarks, &remarks); err != nil {
			writeErrors(w, http.StatusBadRequest, issue{Code: 477, Title: "INVALID FORMAT", Detail: "remarks", Source: &source{Pointer: "/data/remarks"}})
			return
		}
	}

	sub, ok := identify(d.FlightOffers[0])
	k := s.Kit.Knobs()
	if !ok || k.SoldOut {
		writeErrors(w, http.StatusBadRequest, issue{Code: 34651, Title: "SEGMENT SELL FAILURE", Detail: "Could not sell segment 1", Source: &source{Pointer: "/data/flightOffers[0]/itineraries[0]/segments[0]"}})
		return
	}
	if len(sub.types) != len(d.Travelers) {
		writeErrors(w, http.StatusBadRequest, issue{Code: 4926, Title: "INVALID DATA RECEIVED", Detail: "travelers do not match the flight offer's travelerPricings", Source: &source{Pointer: "/data/travelers"}})
		return
	}
	// The airline's price now: what pricing says, moved again at booking.
	adultFare := simkit.Adjust(simkit.Adjust(sub.journey.Fare(), k.PriceChangeAtPricing), k.PriceChangeAtBooking)
	offer := renderOffer(sub.id, sub.journey, sub.currency, sub.types, adultFare)
	if offer.Price.GrandTotal != sub.grandTotal {
		writeErrors(w, http.StatusBadRequest, issue{
			Code: 37200, Title: "PRICE DISCREPANCY",
			Detail: fmt.Sprintf("Current grandTotal price (%s) is different from request one (%s)", offer.Price.GrandTotal, sub.grandTotal),
			Source: &source{Pointer: "/data/flightOffers[0]/price/grandTotal"},
		})
		return
	}

	var reference string
	var texts []string
	for _, rm := range remarks.General {
		texts = append(texts, rm.Text)
		if ref, ok := strings.CutPrefix(rm.Text, ReferenceRemarkPrefix); ok && reference == "" {
			reference = ref
		}
	}
	now := s.now().UTC()
	s.mu.Lock()
	s.seq++
	pnr := recordLocator(s.seq, now)
	s.mu.Unlock()
	id := base64.RawURLEncoding.EncodeToString([]byte(pnr + "|" + now.Format(time.DateOnly)))
	order := map[string]any{
		"type":            "flight-order",
		"id":              id,
		"queuingOfficeId": "NCE1A0950",
		"associatedRecords": []map[string]string{{
			"reference": pnr, "creationDate": now.Format("2006-01-02T15:04:05.000"),
			"originSystemCode": "GDS", "flightOfferId": sub.id,
		}},
		"flightOffers":       []offerJSON{offer},
		"travelers":          d.Travelers,
		"ticketingAgreement": map[string]string{"option": "DELAY_TO_CANCEL", "delay": "6D"},
	}
	if len(d.Remarks) > 0 {
		order["remarks"] = d.Remarks
	}
	raw, err := json.Marshal(order)
	if err != nil {
		writeFault(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	total, _ := money.ParseDecimal(offer.Price.GrandTotal, sub.currency)
	s.mu.Lock()
	s.orders = append(s.orders, storedOrder{id: id, remarks: texts, body: raw})
	s.mu.Unlock()
	s.Kit.AddOrder(simkit.Order{
		ID: id, BookingReference: pnr, Reference: reference, OfferID: sub.id,
		Amount: total.Amount, Currency: sub.currency, Passengers: len(d.Travelers), CreatedAt: now,
	})
	if k.LoseOrderResponse {
		s.Kit.Hang(r)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"data": json.RawMessage(raw), "dictionaries": map[string]any{"locations": map[string]any{}}})
}

// getOrder is Flight Order Management's read by id.
func (s *Sim) getOrder(w http.ResponseWriter, r *http.Request) {
	s.Kit.Count(func(st *simkit.Stats) { st.Lookups++ })
	id := r.PathValue("id")
	for _, o := range s.liveOrders() {
		if o.id == id {
			writeJSON(w, http.StatusOK, map[string]any{"data": o.body})
			return
		}
	}
	writeErrors(w, http.StatusNotFound, issue{Code: 1797, Title: "NOT FOUND", Detail: "no response found for this query parameter", Source: &source{Parameter: "flight-orderId"}})
}

// searchOrders is the simulator's remark search (not an Amadeus endpoint).
func (s *Sim) searchOrders(w http.ResponseWriter, r *http.Request) {
	remark := strings.TrimSpace(r.URL.Query().Get("remark"))
	if remark == "" {
		writeErrors(w, http.StatusBadRequest, issue{Code: 32171, Title: "MANDATORY DATA MISSING", Detail: "remark is required", Source: &source{Parameter: "remark"}})
		return
	}
	s.Kit.Count(func(st *simkit.Stats) { st.Lookups++ })
	data := []json.RawMessage{}
	for _, o := range s.liveOrders() {
		if slices.ContainsFunc(o.remarks, func(t string) bool { return strings.EqualFold(strings.TrimSpace(t), remark) }) {
			data = append(data, o.body)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"meta": map[string]any{"count": len(data)}, "data": data})
}

// deleteOrder is Flight Order Management's cancellation
// (DELETE /v1/booking/flight-orders/{id}): 204 without a body, after which
// the order reads 404. The refusal's code and title are the simulator's own
// choice: Amadeus documents a 4xx error object here, not which code.
func (s *Sim) deleteOrder(w http.ResponseWriter, r *http.Request) {
	s.Kit.Count(func(st *simkit.Stats) { st.CancelCalls++ })
	id := r.PathValue("id")
	live := slices.ContainsFunc(s.liveOrders(), func(o storedOrder) bool { return o.id == id })
	if !live {
		writeErrors(w, http.StatusNotFound, issue{Code: 1797, Title: "NOT FOUND", Detail: "no response found for this query parameter", Source: &source{Parameter: "flight-orderId"}})
		return
	}
	if s.Kit.Knobs().RefuseCancel {
		writeErrors(w, http.StatusBadRequest, issue{Code: 4926, Title: "INVALID DATA RECEIVED", Detail: "order cannot be cancelled: ticketed and non-refundable"})
		return
	}
	s.Kit.CancelOrder(id)
	if s.Kit.CancelFault(w, r) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// liveOrders are the stored orders Kit still knows and that are not
// deleted (a /_sim/reset forgets them).
func (s *Sim) liveOrders() []storedOrder {
	s.mu.Lock()
	all := slices.Clone(s.orders)
	s.mu.Unlock()
	live := all[:0]
	for _, o := range all {
		if ko, ok := s.Kit.OrderByID(o.id); ok && !ko.Canceled {
			live = append(live, o)
		}
	}
	return live
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(v); err != nil {
		writeErrors(w, http.StatusBadRequest, issue{Code: 477, Title: "INVALID FORMAT", Detail: "the body is not valid JSON: " + err.Error()})
		return false
	}
	return true
}

// recordLocator makes a 6-character PNR, distinct per sequence number.
func recordLocator(seq int, now time.Time) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%d", seq, now.UnixNano())
	n := h.Sum64()
	b := make([]byte, 6)
	for i := range b {
		b[i] = alphabet[n%uint64(len(alphabet))]
		n /= uint64(len(alphabet))
	}
	return string(b)
}

// submitted is what a flight-offer sent back names.
type submitted struct {
	id         string
	journey    simkit.Journey
	currency   string
	types      []string // simkit passenger types of its travelerPricings
	grandTotal string
}

// identify finds the inventory journey a flight-offer object names: one
// itinerary, or two for a round trip, of one segment each.
func identify(raw json.RawMessage) (submitted, bool) {
	var o struct {
		ID          string `json:"id"`
		Itineraries []struct {
			Segments []struct {
				Departure struct {
					IATACode string `json:"iataCode"`
					At       string `json:"at"`
				} `json:"departure"`
				Arrival struct {
					IATACode string `json:"iataCode"`
				} `json:"arrival"`
				CarrierCode string `json:"carrierCode"`
				Number      string `json:"number"`
			} `json:"segments"`
		} `json:"itineraries"`
		Price struct {
			Currency   string `json:"currency"`
			GrandTotal string `json:"grandTotal"`
		} `json:"price"`
		TravelerPricings []struct {
			TravelerType string `json:"travelerType"`
		} `json:"travelerPricings"`
	}
	if err := json.Unmarshal(raw, &o); err != nil || len(o.Itineraries) < 1 || len(o.Itineraries) > 2 {
		return submitted{}, false
	}
	if !money.Known(o.Price.Currency) || len(o.TravelerPricings) == 0 {
		return submitted{}, false
	}
	var dates [2]time.Time
	for i, it := range o.Itineraries {
		if len(it.Segments) != 1 || len(it.Segments[0].Departure.At) < len(time.DateOnly) {
			return submitted{}, false
		}
		d, err := time.Parse(time.DateOnly, it.Segments[0].Departure.At[:len(time.DateOnly)])
		if err != nil {
			return submitted{}, false
		}
		dates[i] = d
	}
	sub := submitted{id: o.ID, currency: o.Price.Currency, grandTotal: o.Price.GrandTotal}
	for _, tp := range o.TravelerPricings {
		t, ok := simkitType(tp.TravelerType)
		if !ok {
			return submitted{}, false
		}
		sub.types = append(sub.types, t)
	}
	first := o.Itineraries[0].Segments[0]
	for _, j := range simkit.Journeys(Name, Carriers, first.Departure.IATACode, first.Arrival.IATACode, dates[0], dates[1]) {
		match := len(j) == len(o.Itineraries)
		for n := 0; match && n < len(j); n++ {
			seg := o.Itineraries[n].Segments[0]
			match = j[n].Carrier == seg.CarrierCode && j[n].Number == seg.Number && j[n].DepartsLocal == seg.Departure.At
		}
		if match {
			sub.journey = j
			return sub, true
		}
	}
	return submitted{}, false
}
