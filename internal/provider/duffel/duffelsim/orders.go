package duffelsim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider/simkit"
)

// ---- orders

type passengerIn struct {
	ID string `json:"id"`
	// InfantPassengerID names the infant an adult holds on their lap.
	InfantPassengerID string `json:"infant_passenger_id"`
	Title             string `json:"title"`
	Gender            string `json:"gender"`
	GivenName         string `json:"given_name"`
	FamilyName        string `json:"family_name"`
	BornOn            string `json:"born_on"`
	Email             string `json:"email"`
	PhoneNumber       string `json:"phone_number"`
}

type orderIn struct {
	Type           string                     `json:"type"`
	SelectedOffers []string                   `json:"selected_offers"`
	Passengers     []passengerIn              `json:"passengers"`
	Payments       []paymentIn                `json:"payments"`
	Metadata       map[string]json.RawMessage `json:"metadata"`
}

type paymentIn struct {
	Type     string `json:"type"`
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

var metadataKey = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

func (s *Sim) createOrder(w http.ResponseWriter, r *http.Request) {
	var in dataIn[orderIn]
	if !decodeBody(w, r, &in) {
		return
	}
	o := in.Data
	if o.Type != "" && o.Type != "instant" {
		validationError(w, "validation_inclusion", "type", "The simulator creates instant orders only.")
		return
	}
	if len(o.SelectedOffers) != 1 {
		validationError(w, "validation_length", "selected_offers", "You must select exactly one offer.")
		return
	}
	metadata, ok := readMetadata(w, o.Metadata)
	if !ok {
		return
	}
	if len(o.Payments) != 1 {
		validationError(w, "validation_length", "payments", "An instant order needs exactly one payment.")
		return
	}
	pay := o.Payments[0]
	if pay.Type != "balance" && pay.Type != "arc_bsp_cash" {
		validationError(w, "validation_inclusion", "payments/0/type", "payments[].type must be balance or arc_bsp_cash.")
		return
	}
	paid, err := money.ParseDecimal(pay.Amount, pay.Currency)
	if err != nil {
		validationError(w, "validation_format", "payments/0/amount", "amount must be a decimal string in the currency.")
		return
	}
	offerID := o.SelectedOffers[0]
	key, f, ok := s.lookupOffer(w, offerID)
	if !ok {
		return
	}
	if !validPassengers(w, key, o.Passengers) {
		return
	}
	knobs := s.Kit.Knobs()
	if knobs.SoldOut {
		offerGone(w)
		return
	}

	s.mu.Lock()
	if orderID, ok := s.booked[key.requestID()]; ok {
		if _, live := s.Kit.OrderByID(orderID); live {
			s.mu.Unlock()
			writeError(w, http.StatusUnprocessableEntity, "invalid_state_error", "offer_request_already_booked",
				"Offer request already booked", "An offer from this offer request has already been booked. Please create a new offer request.", nil)
			return
		}
	}
	amount := s.currentAmount(offerID, f, key)
	if knobs.PriceChangeAtBooking != 0 {
		if _, moved := s.repriced[offerID]; !moved {
			amount = simkit.Adjust(amount, knobs.PriceChangeAtBooking)
			s.repriced[offerID] = amount
		}
	}
	total := money.Money{Amount: amount, Currency: s.Currency}
	if paid != total {
		s.mu.Unlock()
		msg := "The payment amount does not match the order's total amount."
		code := "payment_amount_does_not_match_order_amount"
		if paid.Currency != total.Currency {
			msg, code = "The payment currency does not match the order's currency.", "payment_currency_does_not_match_order_currency"
		}
		writeError(w, http.StatusUnprocessableEntity, "validation_error", code, "Payment amount does not match", msg,
			&errorSource{Field: "amount", Pointer: "/payments/0/amount"})
		return
	}
	s.seq++
	now := time.Now().UTC()
	id := "ord_0000" + hashID(fmt.Sprintf("%d.%d", s.seq, now.UnixNano()), 18)
	rec := &orderRecord{
		kit: simkit.Order{
			ID: id, BookingReference: strings.ToUpper(hashID(id, 6)), Reference: metadata[ReferenceMetadataKey],
			OfferID: offerID, Amount: amount, Currency: s.Currency, Passengers: len(o.Passengers), CreatedAt: now,
		},
		request: key.requestID(), key: key, journey: f, metadata: metadata, passengers: o.Passengers, createdAt: now,
	}
	rec.kit = s.Kit.AddOrder(rec.kit)
	s.orders[id] = rec
	s.booked[rec.request] = id
	s.mu.Unlock()

	if knobs.LoseOrderResponse {
		s.Kit.Hang(r) // the order exists; its answer never arrives
		return
	}
	writeData(w, http.StatusCreated, s.renderOrder(rec))
}

func readMetadata(w http.ResponseWriter, in map[string]json.RawMessage) (map[string]string, bool) {
	if len(in) > 50 {
		validationError(w, "validation_length", "metadata", "metadata can hold at most 50 key-value pairs.")
		return nil, false
	}
	out := make(map[string]string, len(in))
	for k, raw := range in {
		var v string
		if !metadataKey.MatchString(k) || json.Unmarshal(raw, &v) != nil || len(v) > 500 {
			validationError(w, "validation_format", "metadata/"+k,
				"metadata keys are up to 40 letters, digits, dashes or underscores; values are strings of up to 500 characters.")
			return nil, false
		}
		out[k] = v
	}
	return out, true
}

var (
	bornOn = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	e164   = regexp.MustCompile(`^\+[1-9]\d{6,14}$`)
)

func validPassengers(w http.ResponseWriter, key offerKey, ps []passengerIn) bool {
	types := key.party().Types()
	if len(ps) != len(types) {
		validationError(w, "validation_length", "passengers", fmt.Sprintf("The offer is for %d passengers.", len(types)))
		return false
	}
	want := make(map[string]bool, len(types))
	typeOf := make(map[string]string, len(types))
	for i, t := range types {
		want[key.passengerID(i)] = true
		typeOf[key.passengerID(i)] = t
	}
	// Every infant is held by exactly one adult (infant_passenger_id).
	held := map[string]int{}
	for i, p := range ps {
		if p.InfantPassengerID == "" {
			continue
		}
		if typeOf[p.ID] != simkit.Adult || typeOf[p.InfantPassengerID] != simkit.Infant {
			validationError(w, "validation_inclusion", fmt.Sprintf("passengers/%d/infant_passenger_id", i), "An adult can hold one of the offer's infants.")
			return false
		}
		held[p.InfantPassengerID]++
	}
	for id, t := range typeOf {
		if t == simkit.Infant && held[id] != 1 {
			validationError(w, "validation_required", "passengers", "Each infant must be held by exactly one adult (infant_passenger_id).")
			return false
		}
	}
	for i, p := range ps {
		field := func(name string) string { return fmt.Sprintf("passengers/%d/%s", i, name) }
		switch {
		case !want[p.ID]:
			validationError(w, "validation_inclusion", field("id"), "The passenger id must be one of the offer's passengers.")
		case p.GivenName == "":
			validationError(w, "validation_required", field("given_name"), "Field 'given_name' can't be blank")
		case p.FamilyName == "":
			validationError(w, "validation_required", field("family_name"), "Field 'family_name' can't be blank")
		case !bornOn.MatchString(p.BornOn):
			validationError(w, "validation_format", field("born_on"), "born_on must be a date, YYYY-MM-DD.")
		case !strings.Contains(p.Email, "@"):
			validationError(w, "validation_format", field("email"), "email must be an email address.")
		case !e164.MatchString(p.PhoneNumber):
			validationError(w, "validation_format", field("phone_number"), "phone_number must be in E.164 format.")
		case p.Title != "mr" && p.Title != "ms" && p.Title != "mrs" && p.Title != "miss" && p.Title != "dr":
			validationError(w, "validation_inclusion", field("title"), "title must be mr, ms, mrs, miss or dr.")
		case p.Gender != "m" && p.Gender != "f":
			validationError(w, "validation_inclusion", field("gender"), "gender must be m or f.")
		default:
			delete(want, p.ID)
			continue
		}
		return false
	}
	return true
}

func (s *Sim) listOrders(w http.ResponseWriter, r *http.Request) {
	s.Kit.Count(func(st *simkit.Stats) { st.Lookups++ })
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			validationError(w, "validation_format", "limit", "limit must be between 1 and 200.")
			return
		}
		limit = n
	}
	start := 0
	if v := q.Get("after"); v != "" {
		n, ok := decodeCursor(v)
		if !ok {
			validationError(w, "validation_format", "after", "after must be a cursor from a previous page's meta.")
			return
		}
		start = n
	}
	offerID, pnr, awaiting := q.Get("offer_id"), q.Get("booking_reference"), q.Get("awaiting_payment")
	all := s.Kit.Orders()
	s.mu.Lock()
	defer s.mu.Unlock()
	page := []map[string]any{}
	var after any
	for i := start; i < len(all); i++ {
		o := all[i]
		rec, ok := s.orders[o.ID]
		if !ok || (offerID != "" && o.OfferID != offerID) || (pnr != "" && o.BookingReference != pnr) || awaiting == "true" {
			continue
		}
		if len(page) == limit {
			after = encodeCursor(i)
			break
		}
		page = append(page, s.renderOrder(rec))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data": page,
		"meta": map[string]any{"limit": limit, "after": after, "before": nil},
	})
}

func (s *Sim) getOrder(w http.ResponseWriter, r *http.Request) {
	s.Kit.Count(func(st *simkit.Stats) { st.Lookups++ })
	id := r.PathValue("id")
	_, live := s.Kit.OrderByID(id)
	s.mu.Lock()
	rec, ok := s.orders[id]
	var out map[string]any
	if ok && live {
		out = s.renderOrder(rec)
	}
	s.mu.Unlock()
	if out == nil {
		writeError(w, http.StatusNotFound, "invalid_request_error", "not_found", "Not found",
			"The resource you are trying to access does not exist.", nil)
		return
	}
	writeData(w, http.StatusOK, out)
}

func encodeCursor(i int) string {
	return "g2wAAAAC" + base64.RawURLEncoding.EncodeToString([]byte("o:"+strconv.Itoa(i)))
}

func decodeCursor(c string) (int, bool) {
	enc, ok := strings.CutPrefix(c, "g2wAAAAC")
	if !ok {
		return 0, false
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "o:"))
	return n, err == nil && n >= 0 && strings.HasPrefix(string(b), "o:")
}

func (s *Sim) renderOrder(rec *orderRecord) map[string]any {
	total := money.Money{Amount: rec.kit.Amount, Currency: rec.kit.Currency}
	tax := money.Money{Amount: total.Amount * 15 / 100, Currency: total.Currency}
	base := money.Money{Amount: total.Amount - tax.Amount, Currency: total.Currency}
	offer := s.renderOffer(rec.key, rec.journey, total.Amount, "economy")
	pax := make([]map[string]any, len(rec.passengers))
	for i, p := range rec.passengers {
		pax[i] = map[string]any{
			"id": p.ID, "title": p.Title, "gender": p.Gender, "given_name": p.GivenName,
			"family_name": p.FamilyName, "born_on": p.BornOn, "type": duffelType(typeOf(rec.key, p.ID)), "infant_passenger_id": nullable(p.InfantPassengerID),
		}
	}
	metadata := rec.metadata
	if metadata == nil {
		metadata = map[string]string{}
	}
	return map[string]any{
		"id":                rec.kit.ID,
		"type":              "instant",
		"live_mode":         false,
		"booking_reference": rec.kit.BookingReference,
		"created_at":        stamp(rec.createdAt),
		"synced_at":         stamp(rec.createdAt),
		"cancelled_at":      nil,
		"total_amount":      total.Decimal(),
		"total_currency":    total.Currency,
		"base_amount":       base.Decimal(),
		"base_currency":     base.Currency,
		"tax_amount":        tax.Decimal(),
		"tax_currency":      tax.Currency,
		"owner":             offer["owner"],
		"slices":            offer["slices"],
		"passengers":        pax,
		"services":          []any{},
		"metadata":          metadata,
		"conditions":        offer["conditions"],
		"available_actions": []string{"cancel", "update"},
		"documents": []map[string]any{{
			"type": "electronic_ticket", "unique_identifier": "125" + hashDigits(rec.kit.ID, 10),
		}},
		"payment_status": map[string]any{
			"awaiting_payment": false, "payment_required_by": nil, "price_guarantee_expires_at": nil,
			"paid_at": stamp(rec.createdAt),
		},
	}
}

// typeOf is the type of the offer's passenger id.
func typeOf(k offerKey, id string) string {
	for i, t := range k.party().Types() {
		if k.passengerID(i) == id {
			return t
		}
	}
	return simkit.Adult
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
