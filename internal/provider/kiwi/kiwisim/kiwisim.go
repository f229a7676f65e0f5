// Package kiwisim simulates Kiwi.com's Tequila API in its own wire format
// (the subset the kiwi adapter speaks): GET /v2/search, GET
// /v2/booking/check_flights (answers "not checked yet" first, so clients
// must poll), POST /v2/booking/save_booking, POST /v2/booking/confirm_payment
// and GET /v2/booking/bookings?visitor_uniqid=… for the order lookup (paid
// bookings as "confirmed", saved unpaid ones as "pending"). Every
// call needs the "apikey" header.
//
// Offers come from simkit.Inventory with the carriers FR, U2, W6, VY and
// LS. A booking_token encodes route, date, flight index, passengers and
// currency, so the simulator keeps no state about offers; it keeps the saved
// (not yet paid) bookings, and an order is registered with the kit only when
// its payment is confirmed, carrying the visitor_uniqid of the booking as the
// client's reference. The inventory is priced in EUR and quoted in the
// search's "curr" (default EUR) at the shipped rates (internal/fx), per
// adult; check_flights' and save_booking's "total" is in EUR, with
// "conversion" in the requested currency.
//
// The knobs of simkit apply: request faults in front of everything, price
// changes at check_flights (pricing) and save_booking (booking), sold out as
// "flights_invalid", a lost answer to confirm_payment after the order
// was created, and the order knobs on save_booking and the lookup
// (orderfaults.go).
package kiwisim

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider/simkit"
)

// Carriers are the airlines the simulator sells.
var Carriers = []string{"FR", "U2", "W6", "VY", "LS"}

// Sim is a Tequila simulator.
type Sim struct {
	// Kit holds the knobs, counters and the register of orders.
	Kit *simkit.Sim
	// APIKey, when set, is the only apikey accepted; otherwise any
	// non-empty key is.
	APIKey string

	mu       sync.Mutex
	nextID   int64
	sessions int64
	bookings map[string]*booking // saved bookings by booking_id
}

// booking is a saved booking, paid or not.
type booking struct {
	id, transactionID, visitor, token string
	amount                            int64
	currency                          string
	passengers                        int
	paid                              bool
}

// New returns a simulator without faults.
func New() *Sim {
	return &Sim{Kit: simkit.New("kiwi"), nextID: 7000000, bookings: map[string]*booking{}}
}

// AdminHandler serves the kit's knobs and counters under /_sim/.
func (s *Sim) AdminHandler() http.Handler { return s.Kit.AdminHandler() }

// Close releases every request the simulator holds (black holes, lost answers).
func (s *Sim) Close() { s.Kit.Close() }

// Handler serves the Tequila API.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/search", s.search)
	mux.HandleFunc("GET /v2/booking/check_flights", s.checkFlights)
	mux.HandleFunc("POST /v2/booking/save_booking", s.saveBooking)
	mux.HandleFunc("POST /v2/booking/confirm_payment", s.confirmPayment)
	mux.HandleFunc("GET /v2/booking/bookings", s.lookup)
	mux.HandleFunc("POST /v2/booking/cancel_booking", s.cancelBooking)
	return s.Kit.Wrap(s.Kit.OrderFaults(s.auth(mux), orderRoutes), writeFault)
}

func (s *Sim) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("apikey")
		if key == "" || (s.APIKey != "" && key != s.APIKey) {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"status": "Error", "message": "Unauthorized: missing or invalid apikey"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// writeFault renders the kit's injected faults in Tequila's envelope.
func writeFault(w http.ResponseWriter, status int, _, detail string) {
	writeJSON(w, status, map[string]string{"status": "Error", "message": detail})
}

// badRequest is Tequila's validation error, {"error": "..."}.
func badRequest(w http.ResponseWriter, detail string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) // #nosec G104 -- a simulator's answer: a failed write means the client went away
}

// amount renders minor units as a JSON number in currency.
func amount(minor int64, currency string) json.Number {
	return json.Number(money.Money{Amount: minor, Currency: currency}.Decimal())
}

type leg struct {
	ID                 string      `json:"id"`
	FlyFrom            string      `json:"flyFrom"`
	FlyTo              string      `json:"flyTo"`
	LocalDeparture     string      `json:"local_departure"`
	UTCDeparture       string      `json:"utc_departure"`
	LocalArrival       string      `json:"local_arrival"`
	UTCArrival         string      `json:"utc_arrival"`
	Airline            string      `json:"airline"`
	FlightNo           json.Number `json:"flight_no"`
	OperatingCarrier   string      `json:"operating_carrier"`
	OperatingFlightNo  string      `json:"operating_flight_no"`
	FareCategory       string      `json:"fare_category"`
	Return             int         `json:"return"`
	BagsRecheckRequire bool        `json:"bags_recheck_required"`
	VehicleType        string      `json:"vehicle_type"`
}

type searchItem struct {
	ID             string                 `json:"id"`
	FlyFrom        string                 `json:"flyFrom"`
	FlyTo          string                 `json:"flyTo"`
	LocalDeparture string                 `json:"local_departure"`
	UTCDeparture   string                 `json:"utc_departure"`
	LocalArrival   string                 `json:"local_arrival"`
	UTCArrival     string                 `json:"utc_arrival"`
	Duration       map[string]int         `json:"duration"`
	Price          json.Number            `json:"price"`
	Conversion     map[string]json.Number `json:"conversion"`
	Fare           map[string]json.Number `json:"fare"`
	Availability   map[string]int         `json:"availability"`
	Airlines       []string               `json:"airlines"`
	Route          []leg                  `json:"route"`
	BookingToken   string                 `json:"booking_token"`
	DeepLink       string                 `json:"deep_link"`
	minor          int64
}

// kiwiTime writes a time the way Kiwi does: milliseconds and a "Z", also on
// local wall-clock times.
func kiwiTime(wall string) string { return wall + ".000Z" }

func (s *Sim) search(w http.ResponseWriter, r *http.Request) {
	s.Kit.Count(func(st *simkit.Stats) { st.Searches++ })
	q := r.URL.Query()
	from, to := strings.ToUpper(q.Get("fly_from")), strings.ToUpper(q.Get("fly_to"))
	if from == "" || to == "" {
		badRequest(w, "fly_from: Missing data for required field.")
		return
	}
	dateFrom, err := time.Parse("02/01/2006", q.Get("date_from"))
	if err != nil {
		badRequest(w, "date_from: Not a valid date (dd/mm/yyyy).")
		return
	}
	dateTo := dateFrom
	if v := q.Get("date_to"); v != "" {
		if dateTo, err = time.Parse("02/01/2006", v); err != nil || dateTo.Before(dateFrom) {
			badRequest(w, "date_to: Not a valid date (dd/mm/yyyy).")
			return
		}
	}
	party, problem := readParty(q, simkit.Party{Adults: 1})
	if problem != "" {
		badRequest(w, problem)
		return
	}
	var ret time.Time
	if v := q.Get("return_from"); v != "" {
		if ret, err = time.Parse("02/01/2006", v); err != nil || ret.Before(dateTo) || (q.Get("return_to") != "" && q.Get("return_to") != v) {
			badRequest(w, "return_from: Not a valid date (dd/mm/yyyy); the simulator returns on one date, return_to alike.")
			return
		}
	}
	curr := q.Get("curr")
	if curr == "" {
		curr = "EUR"
	}
	if !money.Known(curr) {
		badRequest(w, "curr: Not a valid choice.")
		return
	}
	limit := 200
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 {
			badRequest(w, "limit: Must be a positive integer.")
			return
		}
	}
	var items []searchItem
	now := time.Now().UnixMilli()
	for d, n := dateFrom, 0; !d.After(dateTo) && n < 31; d, n = d.AddDate(0, 0, 1), n+1 {
		for _, j := range simkit.Journeys("kiwi", Carriers, from, to, d, ret) {
			ref := offerRef{Origin: from, Destination: to, Date: d, Return: ret, Index: j[0].Index, Party: party, Currency: curr, Created: now}
			items = append(items, item(ref, j))
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].minor < items[j].minor })
	if len(items) > limit {
		items = items[:limit]
	}
	if items == nil {
		items = []searchItem{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"search_id": fmt.Sprintf("%x", hash(r.URL.RawQuery)),
		"currency":  curr,
		"fx_rate":   1,
		"data":      items,
		"_results":  len(items),
	})
}

func item(ref offerRef, j simkit.Journey) searchItem {
	token := encodeToken(ref)
	legID := fmt.Sprintf("%016x_0", hash(token))
	total := ref.quote(j.Fare(), ref.Currency)
	first, last := j[0], j[len(j)-1]
	var route []leg
	var back time.Duration
	for n, f := range j {
		num, _ := strconv.Atoi(f.Number)
		route = append(route, leg{
			ID: fmt.Sprintf("%016x_%d", hash(token), n), FlyFrom: f.Origin, FlyTo: f.Destination,
			LocalDeparture: kiwiTime(f.DepartsLocal), UTCDeparture: f.DepartsAt.Format("2006-01-02T15:04:05.000Z"),
			LocalArrival: kiwiTime(f.ArrivesLocal), UTCArrival: f.ArrivesAt.Format("2006-01-02T15:04:05.000Z"),
			Airline: f.Carrier, FlightNo: json.Number(strconv.Itoa(num)),
			FareCategory: "M", VehicleType: "aircraft", Return: n,
		})
		if n == 1 {
			back = f.Duration
		}
	}
	fare := func(t string) json.Number {
		return amount(quote(simkit.FareFor(j.Fare(), t), ref.Currency), ref.Currency)
	}
	return searchItem{
		ID: legID, FlyFrom: first.Origin, FlyTo: first.Destination,
		LocalDeparture: kiwiTime(first.DepartsLocal), UTCDeparture: first.DepartsAt.Format("2006-01-02T15:04:05.000Z"),
		LocalArrival: kiwiTime(first.ArrivesLocal), UTCArrival: first.ArrivesAt.Format("2006-01-02T15:04:05.000Z"),
		Duration: map[string]int{"departure": int(first.Duration.Seconds()), "return": int(back.Seconds()),
			"total": int((first.Duration + back).Seconds())},
		Price:        amount(total, ref.Currency),
		Conversion:   map[string]json.Number{ref.Currency: amount(total, ref.Currency)},
		Fare:         map[string]json.Number{"adults": fare(simkit.Adult), "children": fare(simkit.Child), "infants": fare(simkit.Infant)},
		Availability: map[string]int{"seats": 9},
		Airlines:     []string{first.Carrier, last.Carrier},
		Route:        route,
		BookingToken: token,
		DeepLink:     "https://www.kiwi.com/deep?booking_token=" + token,
		minor:        total,
	}
}

func hash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s)) // #nosec G104 -- hash.Hash's Write never returns an error
	return h.Sum64()
}

type priceConversion struct {
	Currency string      `json:"currency"`
	Amount   json.Number `json:"amount"`
}

func (s *Sim) checkFlights(w http.ResponseWriter, r *http.Request) {
	s.Kit.Count(func(st *simkit.Stats) { st.Prices++ })
	q := r.URL.Query()
	ref, f, err := decodeToken(q.Get("booking_token"))
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	if s.expired(ref) {
		badRequest(w, "Expired booking token")
		return
	}
	party, problem := readParty(q, ref.Party)
	if problem != "" {
		badRequest(w, problem)
		return
	}
	ref.Party = party
	curr := q.Get("currency")
	if curr == "" {
		curr = "EUR"
	}
	if !money.Known(curr) {
		badRequest(w, "currency: Not a valid choice.")
		return
	}
	k := s.Kit.Knobs()
	base := ref.quote(f.Fare(), "EUR")
	session := q.Get("session_id")
	// The first call of a session starts the check; later calls see it done.
	checked := session != ""
	if session == "" {
		s.mu.Lock()
		s.sessions++
		session = fmt.Sprintf("%x-%d", hash(ref.Origin+ref.Destination), s.sessions)
		s.mu.Unlock()
	}
	total, pct := base, 0
	if checked {
		pct = k.PriceChangeAtPricing
		total = simkit.Adjust(base, pct)
	}
	converted := simkit.Adjust(ref.quote(f.Fare(), curr), pct)
	writeJSON(w, http.StatusOK, map[string]any{
		"server_time":             time.Now().Unix(),
		"session_id":              session,
		"booking_token":           q.Get("booking_token"),
		"pnum":                    party.Adults + party.Children + party.Infants,
		"adults":                  party.Adults,
		"children":                party.Children,
		"infants":                 party.Infants,
		"flights_checked":         checked && !k.SoldOut,
		"flights_real_checked":    checked && !k.SoldOut,
		"flights_to_check":        !checked,
		"flights_invalid":         k.SoldOut,
		"price_change":            total != base,
		"orig_price":              amount(base, "EUR"),
		"total":                   amount(total, "EUR"),
		"currency":                "EUR",
		"conversion":              priceConversion{Currency: curr, Amount: amount(converted, curr)},
		"max_passengers":          9,
		"flights":                 checkedFlights(q.Get("booking_token"), f),
		"age_category_thresholds": map[string]int{"adult": 12, "child": 2},
		"document_options":        map[string]int{"document_need": 0},
		"baggage":                 baggage(),
	})
}

type savePassenger struct {
	Name     string `json:"name"`
	Surname  string `json:"surname"`
	Birthday string `json:"birthday"`
	Title    string `json:"title"`
	Category string `json:"category"`
	Email    string `json:"email"`
	Phone    string `json:"phone"`
}

func (s *Sim) saveBooking(w http.ResponseWriter, r *http.Request) {
	var body struct {
		BookingToken string            `json:"booking_token"`
		SessionID    string            `json:"session_id"`
		Passengers   []savePassenger   `json:"passengers"`
		Baggage      []json.RawMessage `json:"baggage"`
		Lang         string            `json:"lang"`
		Locale       string            `json:"locale"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		badRequest(w, "Invalid JSON body")
		return
	}
	ref, f, err := decodeToken(body.BookingToken)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	if s.expired(ref) {
		badRequest(w, "Expired booking token")
		return
	}
	switch {
	case body.SessionID == "":
		badRequest(w, "session_id: Missing data for required field.")
		return
	case len(body.Passengers) == 0:
		badRequest(w, "passengers: Missing data for required field.")
		return
	}
	var named simkit.Party
	for i, p := range body.Passengers {
		if p.Name == "" || p.Surname == "" {
			badRequest(w, fmt.Sprintf("passengers.%d: name and surname are required.", i))
			return
		}
		switch p.Category {
		case "adult":
			named.Adults++
		case "child":
			named.Children++
		case "infant":
			named.Infants++
		default:
			badRequest(w, fmt.Sprintf("passengers.%d.category: Must be one of: adult, child, infant.", i))
			return
		}
	}
	if named != ref.Party {
		badRequest(w, "passengers: The passengers' categories do not match the booking token's passengers.")
		return
	}
	k := s.Kit.Knobs()
	if k.SoldOut {
		writeJSON(w, http.StatusOK, map[string]any{
			"status": "error", "flights_checked": true, "flights_invalid": true, "price_change": false,
		})
		return
	}
	base := ref.quote(f.Fare(), "EUR")
	total := simkit.Adjust(simkit.Adjust(base, k.PriceChangeAtPricing), k.PriceChangeAtBooking)
	converted := simkit.Adjust(simkit.Adjust(ref.quote(f.Fare(), ref.Currency), k.PriceChangeAtPricing), k.PriceChangeAtBooking)

	s.mu.Lock()
	s.nextID++
	b := &booking{
		id: strconv.FormatInt(s.nextID, 10), visitor: r.URL.Query().Get("visitor_uniqid"), token: body.BookingToken,
		amount: converted, currency: ref.Currency, passengers: len(body.Passengers),
	}
	b.transactionID = fmt.Sprintf("%x", hash(b.id+b.token))
	s.bookings[b.id] = b
	s.mu.Unlock()

	writeJSON(w, http.StatusOK, map[string]any{
		"booking_id":      json.Number(b.id),
		"transaction_id":  b.transactionID,
		"status":          "success",
		"status_code":     0,
		"sandbox":         false,
		"flights_checked": true,
		"flights_invalid": false,
		"price_change":    total != base,
		"orig_price":      amount(base, "EUR"),
		"total":           amount(total, "EUR"),
		"currency":        "EUR",
		"conversion":      priceConversion{Currency: ref.Currency, Amount: amount(converted, ref.Currency)},
		"pnum":            len(body.Passengers),
		"passengers":      body.Passengers,
	})
}

func (s *Sim) confirmPayment(w http.ResponseWriter, r *http.Request) {
	var body struct {
		BookingID     json.Number `json:"booking_id"`
		TransactionID string      `json:"transaction_id"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil {
		badRequest(w, "Invalid JSON body")
		return
	}
	s.mu.Lock()
	b, ok := s.bookings[body.BookingID.String()]
	if !ok || b.transactionID != body.TransactionID {
		s.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": -1, "msg": "booking not found or transaction_id mismatch"})
		return
	}
	already := b.paid
	b.paid = true
	s.mu.Unlock()
	if !already {
		s.Kit.AddOrder(simkit.Order{
			ID: b.id, BookingReference: b.id, Reference: b.visitor, OfferID: b.token,
			Amount: b.amount, Currency: b.currency, Passengers: b.passengers,
		})
	}
	if s.Kit.Knobs().LoseOrderResponse {
		s.Kit.Hang(r)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"status": 0})
}

// lookup lists the paid bookings made under a visitor_uniqid.
func (s *Sim) lookup(w http.ResponseWriter, r *http.Request) {
	if id := r.URL.Query().Get("booking_id"); id != "" {
		s.lookupByID(w, id)
		return
	}
	ref := r.URL.Query().Get("visitor_uniqid")
	if ref == "" {
		badRequest(w, "visitor_uniqid: Missing data for required field.")
		return
	}
	o, ok := s.Kit.FindOrder(ref)
	if !ok {
		// A booking saved and not paid is listed too, as Kiwi's booking
		// data lists it until it lapses: it is not absent.
		if b := s.unpaid(ref); b != nil {
			writeJSON(w, http.StatusOK, []any{map[string]any{"bid": json.Number(b.id), "status": "pending",
				"price": amount(b.amount, b.currency), "currency": b.currency, "booking_token": b.token}})
			return
		}
		writeJSON(w, http.StatusOK, []any{})
		return
	}
	token, f := o.OfferID, simkit.Flight{}
	if _, j, err := decodeToken(token); err == nil {
		f = j[0]
	}
	writeJSON(w, http.StatusOK, []any{map[string]any{
		"bid":           json.Number(o.ID),
		"status":        "confirmed",
		"price":         amount(o.Amount, o.Currency),
		"currency":      o.Currency,
		"booking_token": token,
		"created":       o.CreatedAt.Unix(),
		"flights": []map[string]any{{
			"airline":            map[string]string{"iata": f.Carrier},
			"flight_no":          json.Number(strconv.Itoa(atoi(f.Number))),
			"reservation_number": fmt.Sprintf("K%05d", hash(o.ID)%100000),
			"return":             0,
		}},
	}})
}

// unpaid returns the saved, unpaid booking made under visitor, if any.
func (s *Sim) unpaid(visitor string) *booking {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.bookings {
		if b.visitor == visitor && !b.paid {
			return b
		}
	}
	return nil
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// cancelBooking cancels a paid booking (the adapter's unverified
// cancellation call: see kiwi.cancelPath) and states the refund.
func (s *Sim) cancelBooking(w http.ResponseWriter, r *http.Request) {
	var body struct {
		BookingID json.Number `json:"booking_id"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil {
		badRequest(w, "Invalid JSON body")
		return
	}
	s.Kit.Count(func(st *simkit.Stats) { st.CancelCalls++ })
	o, ok := s.Kit.OrderByID(body.BookingID.String())
	if !ok || o.Canceled || s.Kit.Knobs().RefuseCancel {
		writeJSON(w, http.StatusOK, map[string]any{"status": -1, "msg": "booking cannot be cancelled"})
		return
	}
	o, _ = s.Kit.CancelOrder(o.ID)
	if s.Kit.CancelFault(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": 0,
		"refund": map[string]any{"amount": amount(o.Refund, o.Currency), "currency": o.Currency}})
}

// lookupByID lists the booking with that booking_id, with its status.
func (s *Sim) lookupByID(w http.ResponseWriter, id string) {
	s.Kit.Count(func(st *simkit.Stats) { st.Lookups++ })
	o, ok := s.Kit.OrderByID(id)
	if !ok {
		writeJSON(w, http.StatusOK, []any{})
		return
	}
	b := map[string]any{"bid": json.Number(o.ID), "status": "confirmed",
		"price": amount(o.Amount, o.Currency), "currency": o.Currency}
	if o.Canceled {
		b["status"] = "refunded"
		b["refund"] = map[string]any{"amount": amount(o.Refund, o.Currency), "currency": o.Currency}
	}
	writeJSON(w, http.StatusOK, []any{b})
}
