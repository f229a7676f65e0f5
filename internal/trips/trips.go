// Package trips is the domain of third-party bookings: a customer asks for
// a one-way or round trip, and reservd books the cheapest offer across providers,
// recording every attempt, falling back when a provider refuses, and never
// booking twice.
package trips

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/id"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/validate"
)

// Status of a trip.
type Status string

// Trip statuses.
const (
	Pending   Status = "pending"
	Confirmed Status = "confirmed"
	Failed    Status = "failed"
	// Canceled: a confirmed trip whose order the provider canceled.
	Canceled Status = "canceled"
)

// ErrNotCancelable reports a trip that cannot be canceled: it is not
// confirmed, or its provider refused.
var ErrNotCancelable = errors.New("trip not cancelable")

// Cancellation is a cancellation of a confirmed trip's order, written down
// before the provider is asked, so that a crash or a lost answer is settled
// by looking the order up, never by canceling again.
type Cancellation struct {
	// StartedAt is when the cancel call was (about to be) made; whoever finds
	// it older than the cancellation lease settles it.
	StartedAt time.Time `json:"started_at"`
}

// Attempt outcomes, as the API reports them.
const (
	OutcomeConfirmed    = "confirmed"
	OutcomePriceChanged = "price_changed"
	OutcomeUnavailable  = "unavailable"
	OutcomeError        = "error"
	OutcomeTimeout      = "timeout"
	OutcomeCircuitOpen  = "circuit_open"
)

// ErrNotFound reports a trip that does not exist (or is another customer's).
var ErrNotFound = errors.New("trip not found")

// Passenger is a traveller.
type Passenger struct {
	GivenName   string `json:"given_name"`
	FamilyName  string `json:"family_name"`
	BornOn      string `json:"born_on"`
	Title       string `json:"title,omitempty"`
	Gender      string `json:"gender,omitempty"`
	Email       string `json:"email,omitempty"`
	PhoneNumber string `json:"phone_number,omitempty"`
}

// Contact is who the provider writes to about the order.
type Contact struct {
	Email       string `json:"email"`
	PhoneNumber string `json:"phone_number"`
}

// Request is what a customer asked for.
type Request struct {
	Origin        string `json:"origin"`
	Destination   string `json:"destination"`
	DepartureDate string `json:"departure_date"`
	// ReturnDate makes the trip a round trip; "" for one way.
	ReturnDate string       `json:"return_date,omitempty"`
	Currency   string       `json:"currency"`
	Passengers []Passenger  `json:"passengers"`
	Contact    *Contact     `json:"contact,omitempty"`
	MaxPrice   *money.Money `json:"max_price,omitempty"`
}

// Attempt is one try at booking an offer.
type Attempt struct {
	Provider string      `json:"provider"`
	OfferID  string      `json:"offer_id"`
	Price    money.Money `json:"price"`
	Outcome  string      `json:"outcome"`
	Detail   string      `json:"detail"`
	// Reference is ours, carried to the provider with the order.
	Reference string `json:"reference"`
}

// Trip is a booking across providers.
type Trip struct {
	ID                       string
	KeyID                    int64
	Status                   Status
	Request                  Request
	Price                    *money.Money // what was booked, in the requested currency
	Provider                 string
	ProviderBookingReference string
	Attempts                 []Attempt
	// InFlight is an order call whose outcome is not known yet; it is
	// resolved by looking the order up before anything else is tried.
	InFlight *Attempt
	// OrderID is the provider's id of the confirmed order (what cancels it).
	OrderID string
	// Cancel is a cancellation under way (its outcome not recorded yet).
	Cancel *Cancellation
	// Refund is what the provider refunded, as it reported it, once the
	// trip is canceled; nil when the provider states no amount.
	Refund *money.Money
	// Claim is the fencing token of the worker that holds the trip: a save
	// with an older claim is refused, so a worker whose lease ran out can
	// never overwrite its successor's progress.
	Claim     int64
	CreatedAt time.Time
	UpdatedAt time.Time
	// TraceParent is the W3C traceparent of the request that created the
	// trip, so that the background work booking it joins that trace.
	TraceParent string
}

// NewID returns a fresh trip id.
func NewID() string { return id.New("trp") }

// ValidID reports whether s could be a trip id.
func ValidID(s string) bool { return id.Valid("trp", s) }

// MaxPassengers bounds one trip.
const MaxPassengers = 9

var (
	dateRe  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	phoneRe = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// Validate checks a request against today's date (UTC).
func (r *Request) Validate(today time.Time) error {
	var errs validate.Errors
	r.Origin, r.Destination = strings.ToUpper(r.Origin), strings.ToUpper(r.Destination)
	r.Currency = strings.ToUpper(r.Currency)
	if !flights.ValidAirport(r.Origin) {
		errs.Add("origin", "must be a three-letter IATA airport code")
	}
	if !flights.ValidAirport(r.Destination) {
		errs.Add("destination", "must be a three-letter IATA airport code")
	} else if r.Destination == r.Origin {
		errs.Add("destination", "must differ from origin")
	}
	dep, err := ParseDate(r.DepartureDate)
	if err != nil {
		errs.Add("departure_date", "must be a date like 2026-12-24")
	} else if problem := CheckDeparture(dep, today); problem != "" {
		errs.Add("departure_date", problem)
		err = errors.New(problem)
	}
	if r.ReturnDate != "" {
		if ret, rerr := ParseDate(r.ReturnDate); rerr != nil {
			errs.Add("return_date", "must be a date like 2026-12-31")
		} else if err == nil {
			if problem := CheckReturn(dep, ret, today); problem != "" {
				errs.Add("return_date", problem)
			}
		}
	}
	if !money.Known(r.Currency) {
		errs.Add("currency", "must be an ISO 4217 currency code such as USD")
	}
	switch {
	case len(r.Passengers) == 0:
		errs.Add("passengers", "at least one passenger is required")
	case len(r.Passengers) > MaxPassengers:
		errs.Add("passengers", fmt.Sprintf("at most %d passengers", MaxPassengers))
	}
	for i, p := range r.Passengers {
		f := fmt.Sprintf("passengers[%d].", i)
		if strings.TrimSpace(p.GivenName) == "" || len(p.GivenName) > 100 || !validate.Text(p.GivenName) {
			errs.Add(f+"given_name", "is required (at most 100 characters, no control characters)")
		}
		if strings.TrimSpace(p.FamilyName) == "" || len(p.FamilyName) > 100 || !validate.Text(p.FamilyName) {
			errs.Add(f+"family_name", "is required (at most 100 characters, no control characters)")
		}
		if d, err := ParseDate(p.BornOn); err != nil || !d.Before(today) || d.Year() < 1900 {
			errs.Add(f+"born_on", "must be a past date since 1900, like 1990-04-01")
		}
		switch p.Title {
		case "", "mr", "ms", "mrs", "miss", "dr":
		default:
			errs.Add(f+"title", "must be one of mr, ms, mrs, miss, dr")
		}
		switch p.Gender {
		case "", "m", "f":
		default:
			errs.Add(f+"gender", "must be m or f")
		}
		if p.Email != "" && !validEmail(p.Email) {
			errs.Add(f+"email", "must be an email address")
		}
		if p.PhoneNumber != "" && !phoneRe.MatchString(p.PhoneNumber) {
			errs.Add(f+"phone_number", "must be in E.164 form, like +14155550100")
		}
	}
	if err == nil && len(r.Passengers) > 0 {
		var n [3]int
		for _, p := range r.Passengers {
			if b, err := ParseDate(p.BornOn); err == nil {
				n[typeIndex(PassengerType(b, dep))]++
			}
		}
		if problem := CheckParty(n[0], n[1], n[2]); problem != "" {
			errs.Add("passengers", problem)
		}
	}
	if c := r.Contact; c != nil {
		if !validEmail(c.Email) {
			errs.Add("contact.email", "must be an email address")
		}
		if !phoneRe.MatchString(c.PhoneNumber) {
			errs.Add("contact.phone_number", "must be in E.164 form, like +14155550100")
		}
	}
	if m := r.MaxPrice; m != nil {
		if !money.Known(m.Currency) {
			errs.Add("max_price.currency", "must be an ISO 4217 currency code")
		} else if m.Currency != r.Currency {
			errs.Add("max_price.currency", "must be the trip's currency")
		}
		if m.Amount <= 0 || m.Amount > money.MaxAmount {
			errs.Add("max_price.amount", fmt.Sprintf("must be positive, at most %d", int64(money.MaxAmount)))
		}
	}
	return errs.Err()
}

// MaxDaysAhead bounds how far ahead a departure may be searched or booked:
// airlines sell about a year ahead, and a date far past that (9999-12-31)
// would only carry arithmetic past the end of the calendar into providers
// and caches.
const MaxDaysAhead = 2 * 366

// CheckDeparture says what is wrong with a departure date (midnight UTC)
// given today, or "" when it is within [today, today + MaxDaysAhead].
func CheckDeparture(d, today time.Time) string {
	day := today.UTC().Truncate(24 * time.Hour)
	switch {
	case d.Before(day):
		return "must not be in the past"
	case d.After(day.AddDate(0, 0, MaxDaysAhead)):
		return fmt.Sprintf("must be within %d days from today", MaxDaysAhead)
	}
	return ""
}

// ParseDate reads a YYYY-MM-DD date as midnight UTC.
func ParseDate(s string) (time.Time, error) {
	if !dateRe.MatchString(s) {
		return time.Time{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return time.Parse(time.DateOnly, s)
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && len(s) <= 254
}

// state is the part of a trip stores keep as one JSON document.
type state struct {
	Request                  Request       `json:"request"`
	Price                    *money.Money  `json:"price,omitempty"`
	Provider                 string        `json:"provider,omitempty"`
	ProviderBookingReference string        `json:"provider_booking_reference,omitempty"`
	Attempts                 []Attempt     `json:"attempts"`
	InFlight                 *Attempt      `json:"in_flight,omitempty"`
	TraceParent              string        `json:"traceparent,omitempty"`
	OrderID                  string        `json:"order_id,omitempty"`
	Cancel                   *Cancellation `json:"cancel,omitempty"`
	Refund                   *money.Money  `json:"refund,omitempty"`
}

// MarshalState encodes what a store keeps of t besides its id, owner,
// status and times.
func (t Trip) MarshalState() ([]byte, error) {
	return json.Marshal(state{t.Request, t.Price, t.Provider, t.ProviderBookingReference, t.Attempts, t.InFlight, t.TraceParent,
		t.OrderID, t.Cancel, t.Refund})
}

// UnmarshalState fills t from a document MarshalState wrote.
func (t *Trip) UnmarshalState(b []byte) error {
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("trip state: %w", err)
	}
	t.Request, t.Price, t.Provider, t.ProviderBookingReference, t.Attempts, t.InFlight, t.TraceParent =
		s.Request, s.Price, s.Provider, s.ProviderBookingReference, s.Attempts, s.InFlight, s.TraceParent
	t.OrderID, t.Cancel, t.Refund = s.OrderID, s.Cancel, s.Refund
	if t.OrderID == "" && t.Status != Pending {
		// Trips confirmed before the order id was kept name it in the
		// confirmed attempt's detail ("order <id>").
		for _, a := range t.Attempts {
			if id, ok := strings.CutPrefix(a.Detail, "order "); ok && a.Outcome == OutcomeConfirmed {
				t.OrderID, _, _ = strings.Cut(id, " (") // "order <id> (<price check>)"
			}
		}
	}
	return nil
}
