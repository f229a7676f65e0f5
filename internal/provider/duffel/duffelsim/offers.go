package duffelsim

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/airport"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider/simkit"
)

// ---- offer requests and offers

type dataIn[T any] struct {
	Data *T `json:"data"`
}

type offerRequestIn struct {
	Slices []struct {
		Origin        string `json:"origin"`
		Destination   string `json:"destination"`
		DepartureDate string `json:"departure_date"`
	} `json:"slices"`
	Passengers []struct {
		Type string `json:"type"`
		Age  *int   `json:"age"`
	} `json:"passengers"`
	CabinClass string `json:"cabin_class"`
}

// offerKey is what an offer id encodes.
type offerKey struct {
	Origin, Destination string
	Date                string // YYYY-MM-DD
	Adults              int
	Created             int64  // unix seconds of the search
	Request             uint64 // the simulator's offer request number
	Index               int    // the flight of the inventory
}

func (k offerKey) requestPayload() string {
	return fmt.Sprintf("%s.%s.%s.%d.%d.%d", k.Origin, k.Destination, k.Date, k.Adults, k.Created, k.Request)
}

func (k offerKey) requestID() string {
	return "orq_0000" + base64.RawURLEncoding.EncodeToString([]byte(k.requestPayload()))
}

func (k offerKey) offerID() string {
	return "off_0000" + base64.RawURLEncoding.EncodeToString([]byte(k.requestPayload()+"."+strconv.Itoa(k.Index)))
}

func (k offerKey) passengerID(i int) string {
	return "pas_0000" + hashID(k.requestPayload()+".p"+strconv.Itoa(i), 18)
}

func parseOfferID(id string) (offerKey, bool) {
	enc, ok := strings.CutPrefix(id, "off_0000")
	if !ok {
		return offerKey{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return offerKey{}, false
	}
	parts := strings.Split(string(b), ".")
	if len(parts) != 7 {
		return offerKey{}, false
	}
	k := offerKey{Origin: parts[0], Destination: parts[1], Date: parts[2]}
	var errs [4]error
	k.Adults, errs[0] = strconv.Atoi(parts[3])
	k.Created, errs[1] = strconv.ParseInt(parts[4], 10, 64)
	k.Request, errs[2] = strconv.ParseUint(parts[5], 10, 64)
	k.Index, errs[3] = strconv.Atoi(parts[6])
	for _, err := range errs {
		if err != nil {
			return offerKey{}, false
		}
	}
	if _, err := time.Parse(time.DateOnly, k.Date); err != nil || k.Adults < 1 || k.Index < 0 {
		return offerKey{}, false
	}
	return k, true
}

func (s *Sim) flight(k offerKey) (simkit.Flight, bool) {
	date, _ := time.Parse(time.DateOnly, k.Date)
	flights := simkit.Inventory("duffel", s.Carriers, k.Origin, k.Destination, date)
	if k.Index >= len(flights) {
		return simkit.Flight{}, false
	}
	return flights[k.Index], true
}

func (s *Sim) createOfferRequest(w http.ResponseWriter, r *http.Request) {
	s.Kit.Count(func(st *simkit.Stats) { st.Searches++ })
	var in dataIn[offerRequestIn]
	if !decodeBody(w, r, &in) {
		return
	}
	req := in.Data
	if len(req.Slices) != 1 {
		validationError(w, "validation_length", "slices", "The simulator searches one-way journeys: exactly one slice.")
		return
	}
	sl := req.Slices[0]
	if _, err := time.Parse(time.DateOnly, sl.DepartureDate); err != nil {
		validationError(w, "validation_format", "slices/0/departure_date", "departure_date must be a date, YYYY-MM-DD.")
		return
	}
	if len(sl.Origin) != 3 || len(sl.Destination) != 3 {
		validationError(w, "validation_format", "slices/0/origin", "origin and destination must be IATA codes.")
		return
	}
	if len(req.Passengers) < 1 || len(req.Passengers) > 9 {
		validationError(w, "validation_length", "passengers", "An offer request needs 1 to 9 passengers.")
		return
	}
	for i, p := range req.Passengers {
		if p.Type != "adult" && (p.Age == nil || *p.Age < 18) {
			validationError(w, "validation_inclusion", fmt.Sprintf("passengers/%d/type", i), "The simulator sells adult fares only.")
			return
		}
	}
	switch req.CabinClass {
	case "", "economy", "premium_economy", "business", "first":
	default:
		validationError(w, "validation_inclusion", "cabin_class", "cabin_class must be economy, premium_economy, business or first.")
		return
	}
	cabin := req.CabinClass
	if cabin == "" {
		cabin = "economy"
	}
	now := time.Now().UTC()
	s.mu.Lock()
	s.seq++
	key := offerKey{
		Origin: strings.ToUpper(sl.Origin), Destination: strings.ToUpper(sl.Destination), Date: sl.DepartureDate,
		Adults: len(req.Passengers), Created: now.Unix(), Request: s.seq,
	}
	s.mu.Unlock()
	date, _ := time.Parse(time.DateOnly, key.Date)
	offers := []offerOut{}
	if r.URL.Query().Get("return_offers") != "false" {
		for _, f := range simkit.Inventory("duffel", s.Carriers, key.Origin, key.Destination, date) {
			k := key
			k.Index = f.Index
			offers = append(offers, s.renderOffer(k, f, f.Amount*int64(k.Adults), cabin))
		}
	}
	out := map[string]any{
		"id":          key.requestID(),
		"live_mode":   false,
		"created_at":  stamp(now),
		"cabin_class": cabin,
		"slices": []map[string]any{{
			"origin": place(key.Origin), "destination": place(key.Destination),
			"origin_type": "airport", "destination_type": "airport", "departure_date": key.Date,
		}},
		"passengers": passengersOut(key),
		"offers":     offers,
	}
	writeData(w, http.StatusCreated, out)
}

func (s *Sim) getOffer(w http.ResponseWriter, r *http.Request) {
	s.Kit.Count(func(st *simkit.Stats) { st.Prices++ })
	id := r.PathValue("id")
	key, f, ok := s.lookupOffer(w, id)
	if !ok {
		return
	}
	if s.Kit.Knobs().SoldOut {
		offerGone(w)
		return
	}
	s.mu.Lock()
	amount := s.currentAmount(id, f, key)
	s.mu.Unlock()
	writeData(w, http.StatusOK, s.renderOffer(key, f, amount, "economy"))
}

// lookupOffer decodes an offer id and answers the error itself when the
// offer does not exist or has expired.
func (s *Sim) lookupOffer(w http.ResponseWriter, id string) (offerKey, simkit.Flight, bool) {
	key, ok := parseOfferID(id)
	var f simkit.Flight
	if ok {
		f, ok = s.flight(key)
	}
	if !ok {
		writeError(w, http.StatusNotFound, "invalid_request_error", "not_found", "Not found",
			"The resource you are trying to access does not exist.", nil)
		return offerKey{}, simkit.Flight{}, false
	}
	if time.Now().After(time.Unix(key.Created, 0).Add(s.OfferTTL)) {
		offerGone(w)
		return offerKey{}, simkit.Flight{}, false
	}
	return key, f, true
}

// currentAmount is the offer's total now: moved at booking, or by the
// pricing knob. Call with s.mu held.
func (s *Sim) currentAmount(id string, f simkit.Flight, k offerKey) int64 {
	if v, ok := s.repriced[id]; ok {
		return v
	}
	return simkit.Adjust(f.Amount*int64(k.Adults), s.Kit.Knobs().PriceChangeAtPricing)
}

func offerGone(w http.ResponseWriter) {
	writeError(w, http.StatusUnprocessableEntity, "invalid_state_error", "offer_no_longer_available",
		"Offer no longer available", "The requested offer is no longer available, please select another offer.", nil)
}

type offerOut = map[string]any

func (s *Sim) renderOffer(k offerKey, f simkit.Flight, amount int64, cabin string) offerOut {
	created := time.Unix(k.Created, 0).UTC()
	expires := created.Add(s.OfferTTL)
	total := money.Money{Amount: amount, Currency: s.Currency}
	tax := money.Money{Amount: amount * 15 / 100, Currency: s.Currency}
	base := money.Money{Amount: amount - tax.Amount, Currency: s.Currency}
	pax := passengersOut(k)
	segPax := make([]map[string]any, len(pax))
	for i, p := range pax {
		segPax[i] = map[string]any{
			"passenger_id": p["id"], "cabin_class": cabin, "cabin_class_marketing_name": "Economy",
			"fare_basis_code": "Y26SIM", "baggages": []map[string]any{{"type": "carry_on", "quantity": 1}},
		}
	}
	carrier := airline(f.Carrier)
	return offerOut{
		"id":             k.offerID(),
		"live_mode":      false,
		"created_at":     stamp(created),
		"updated_at":     stamp(created),
		"expires_at":     stamp(expires),
		"total_amount":   total.Decimal(),
		"total_currency": total.Currency,
		"base_amount":    base.Decimal(),
		"base_currency":  base.Currency,
		"tax_amount":     tax.Decimal(),
		"tax_currency":   tax.Currency,
		"owner":          carrier,
		"passengers":     pax,
		"payment_requirements": map[string]any{
			"requires_instant_payment":   false,
			"price_guarantee_expires_at": stamp(expires),
			"payment_required_by":        stamp(created.Add(72 * time.Hour)),
		},
		"passenger_identity_documents_required":       false,
		"supported_passenger_identity_document_types": []string{"passport"},
		"conditions": map[string]any{"refund_before_departure": nil, "change_before_departure": nil},
		"slices": []map[string]any{{
			"id":     "sli_0000" + hashID(k.offerID()+".s", 18),
			"origin": place(f.Origin), "destination": place(f.Destination),
			"origin_type": "airport", "destination_type": "airport",
			"duration": isoDuration(f.Duration), "fare_brand_name": "Basic",
			"segments": []map[string]any{{
				"id":     "seg_0000" + hashID(k.offerID()+".g", 18),
				"origin": place(f.Origin), "destination": place(f.Destination),
				"departing_at": f.DepartsLocal, "arriving_at": f.ArrivesLocal,
				"duration":                        isoDuration(f.Duration),
				"marketing_carrier":               carrier,
				"marketing_carrier_flight_number": f.Number,
				"operating_carrier":               carrier,
				"operating_carrier_flight_number": f.Number,
				"aircraft":                        map[string]any{"iata_code": "359", "name": "Airbus A350-900", "id": "arc_00009UhD4ongolulWd91Ky"},
				"passengers":                      segPax,
			}},
		}},
	}
}

func passengersOut(k offerKey) []map[string]any {
	out := make([]map[string]any, k.Adults)
	for i := range out {
		out[i] = map[string]any{"id": k.passengerID(i), "type": "adult", "age": nil}
	}
	return out
}

func place(iata string) map[string]any {
	tz := ""
	if loc, err := airport.Location(iata); err == nil {
		tz = loc.String()
	}
	return map[string]any{
		"type": "airport", "id": "arp_" + strings.ToLower(iata), "iata_code": iata,
		"name": iata + " Airport", "time_zone": tz,
	}
}

func airline(code string) map[string]any {
	name := airlineNames[code]
	if name == "" {
		name = code
	}
	return map[string]any{"iata_code": code, "name": name, "id": "aln_0000" + hashID(code, 18)}
}
