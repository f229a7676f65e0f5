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
	Return              string // YYYY-MM-DD of a round trip's return, "" one way
	Adults              int
	Children, Infants   int
	Created             int64  // unix milliseconds of the search
	Request             uint64 // the simulator's offer request number
	Index               int    // the outbound flight of the inventory
}

func (k offerKey) requestPayload() string {
	return fmt.Sprintf("%s.%s.%s.%s.%d.%d.%d.%d.%d", k.Origin, k.Destination, k.Date, k.Return, k.Adults, k.Children, k.Infants, k.Created, k.Request)
}

func (k offerKey) party() simkit.Party {
	return simkit.Party{Adults: k.Adults, Children: k.Children, Infants: k.Infants}
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
	if len(parts) != 10 {
		return offerKey{}, false
	}
	k := offerKey{Origin: parts[0], Destination: parts[1], Date: parts[2], Return: parts[3]}
	var errs [6]error
	k.Adults, errs[0] = strconv.Atoi(parts[4])
	k.Children, errs[1] = strconv.Atoi(parts[5])
	k.Infants, errs[2] = strconv.Atoi(parts[6])
	k.Created, errs[3] = strconv.ParseInt(parts[7], 10, 64)
	k.Request, errs[4] = strconv.ParseUint(parts[8], 10, 64)
	k.Index, errs[5] = strconv.Atoi(parts[9])
	for _, err := range errs {
		if err != nil {
			return offerKey{}, false
		}
	}
	if _, err := time.Parse(time.DateOnly, k.Date); err != nil || !k.party().Valid() || k.Index < 0 {
		return offerKey{}, false
	}
	if _, err := time.Parse(time.DateOnly, k.Return); k.Return != "" && err != nil {
		return offerKey{}, false
	}
	return k, true
}

func (k offerKey) dates() (date, ret time.Time) {
	date, _ = time.Parse(time.DateOnly, k.Date)
	if k.Return != "" {
		ret, _ = time.Parse(time.DateOnly, k.Return)
	}
	return date, ret
}

func (s *Sim) journey(k offerKey) (simkit.Journey, bool) {
	date, ret := k.dates()
	return simkit.FindJourney("duffel", s.Carriers, k.Origin, k.Destination, date, ret, k.Index)
}

func (s *Sim) createOfferRequest(w http.ResponseWriter, r *http.Request) {
	s.Kit.Count(func(st *simkit.Stats) { st.Searches++ })
	var in dataIn[offerRequestIn]
	if !decodeBody(w, r, &in) {
		return
	}
	req := in.Data
	if len(req.Slices) != 1 && len(req.Slices) != 2 {
		validationError(w, "validation_length", "slices", "The simulator searches one-way and return journeys: one or two slices.")
		return
	}
	sl := req.Slices[0]
	for i, x := range req.Slices {
		if _, err := time.Parse(time.DateOnly, x.DepartureDate); err != nil {
			validationError(w, "validation_format", fmt.Sprintf("slices/%d/departure_date", i), "departure_date must be a date, YYYY-MM-DD.")
			return
		}
		if len(x.Origin) != 3 || len(x.Destination) != 3 {
			validationError(w, "validation_format", fmt.Sprintf("slices/%d/origin", i), "origin and destination must be IATA codes.")
			return
		}
	}
	ret := ""
	if len(req.Slices) == 2 {
		back := req.Slices[1]
		if !strings.EqualFold(back.Origin, sl.Destination) || !strings.EqualFold(back.Destination, sl.Origin) || back.DepartureDate < sl.DepartureDate {
			validationError(w, "validation_inclusion", "slices/1", "The simulator's second slice is the return: destination back to origin, not before the first.")
			return
		}
		ret = back.DepartureDate
	}
	var party simkit.Party
	for i, p := range req.Passengers {
		// Duffel: "adult", or a non-adult's age on the departure date of
		// the final slice; the older types child and infant_without_seat.
		switch {
		case p.Age != nil && (*p.Age < 0 || *p.Age > 130), p.Age == nil && p.Type != "adult" && p.Type != "child" && p.Type != "infant_without_seat":
			validationError(w, "validation_inclusion", fmt.Sprintf("passengers/%d", i), "A passenger needs a type (adult) or an age.")
			return
		case p.Type == "infant_without_seat" || p.Age != nil && *p.Age < 2:
			party.Infants++
		case p.Type == "child" || p.Age != nil && *p.Age < 12:
			party.Children++
		default:
			party.Adults++
		}
	}
	if !party.Valid() {
		validationError(w, "validation_length", "passengers", "An offer request needs 1 to 9 seated passengers, an adult, and no more infants than adults.")
		return
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
		Origin: strings.ToUpper(sl.Origin), Destination: strings.ToUpper(sl.Destination), Date: sl.DepartureDate, Return: ret,
		Adults: party.Adults, Children: party.Children, Infants: party.Infants, Created: now.UnixMilli(), Request: s.seq,
	}
	s.mu.Unlock()
	date, retDate := key.dates()
	offers := []offerOut{}
	if r.URL.Query().Get("return_offers") != "false" {
		for _, j := range simkit.Journeys("duffel", s.Carriers, key.Origin, key.Destination, date, retDate) {
			k := key
			k.Index = j[0].Index
			offers = append(offers, s.renderOffer(k, j, party.Total(j.Fare()), cabin))
		}
	}
	slicesOut := []map[string]any{}
	for _, x := range req.Slices {
		slicesOut = append(slicesOut, map[string]any{
			"origin": place(strings.ToUpper(x.Origin)), "destination": place(strings.ToUpper(x.Destination)),
			"origin_type": "airport", "destination_type": "airport", "departure_date": x.DepartureDate,
		})
	}
	out := map[string]any{
		"id":          key.requestID(),
		"live_mode":   false,
		"created_at":  stamp(now),
		"cabin_class": cabin,
		"slices":      slicesOut,
		"passengers":  passengersOut(key),
		"offers":      offers,
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
func (s *Sim) lookupOffer(w http.ResponseWriter, id string) (offerKey, simkit.Journey, bool) {
	key, ok := parseOfferID(id)
	var f simkit.Journey
	if ok {
		f, ok = s.journey(key)
	}
	if !ok {
		writeError(w, http.StatusNotFound, "invalid_request_error", "not_found", "Not found",
			"The resource you are trying to access does not exist.", nil)
		return offerKey{}, nil, false
	}
	if time.Now().After(time.UnixMilli(key.Created).Add(s.offerTTL())) {
		writeError(w, http.StatusUnprocessableEntity, "invalid_state_error", "offer_expired",
			"Offer expired", "The requested offer has expired, please create a new offer request.", nil)
		return offerKey{}, nil, false
	}
	return key, f, true
}

// currentAmount is the offer's total now: moved at booking, or by the
// pricing knob. Call with s.mu held.
func (s *Sim) currentAmount(id string, j simkit.Journey, k offerKey) int64 {
	if v, ok := s.repriced[id]; ok {
		return v
	}
	return simkit.Adjust(k.party().Total(j.Fare()), s.Kit.Knobs().PriceChangeAtPricing)
}

func offerGone(w http.ResponseWriter) {
	writeError(w, http.StatusUnprocessableEntity, "invalid_state_error", "offer_no_longer_available",
		"Offer no longer available", "The requested offer is no longer available, please select another offer.", nil)
}

type offerOut = map[string]any

func (s *Sim) renderOffer(k offerKey, j simkit.Journey, amount int64, cabin string) offerOut {
	created := time.UnixMilli(k.Created).UTC()
	expires := created.Add(s.offerTTL())
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
	carrier := airline(j[0].Carrier)
	slicesOut := make([]map[string]any, len(j))
	for n, f := range j {
		fc := airline(f.Carrier)
		slicesOut[n] = map[string]any{
			"id":     "sli_0000" + hashID(k.offerID()+".s"+strconv.Itoa(n), 18),
			"origin": place(f.Origin), "destination": place(f.Destination),
			"origin_type": "airport", "destination_type": "airport",
			"duration": isoDuration(f.Duration), "fare_brand_name": "Basic",
			"segments": []map[string]any{{
				"id":     "seg_0000" + hashID(k.offerID()+".g"+strconv.Itoa(n), 18),
				"origin": place(f.Origin), "destination": place(f.Destination),
				"departing_at": f.DepartsLocal, "arriving_at": f.ArrivesLocal,
				"duration":                        isoDuration(f.Duration),
				"marketing_carrier":               fc,
				"marketing_carrier_flight_number": f.Number,
				"operating_carrier":               fc,
				"operating_carrier_flight_number": f.Number,
				"aircraft":                        map[string]any{"iata_code": "359", "name": "Airbus A350-900", "id": "arc_00009UhD4ongolulWd91Ky"},
				"passengers":                      segPax,
			}},
		}
	}
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
		"slices":     slicesOut,
	}
}

// passengersOut lists an offer's passengers: adults, then children, then
// infants, as Duffel names their types.
func passengersOut(k offerKey) []map[string]any {
	types := k.party().Types()
	out := make([]map[string]any, len(types))
	for i, t := range types {
		out[i] = map[string]any{"id": k.passengerID(i), "type": duffelType(t), "age": nil}
	}
	return out
}

func duffelType(t string) string {
	if t == simkit.Infant {
		return "infant_without_seat"
	}
	return t
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

// offerTTL is how long an offer lives: the OfferTTL knob when set, else the
// simulator's OfferTTL.
func (s *Sim) offerTTL() time.Duration {
	if ttl := s.Kit.Knobs().OfferTTL; ttl > 0 {
		return ttl
	}
	return s.OfferTTL
}
