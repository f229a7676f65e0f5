package duffel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
)

// Defaults of Config.
const (
	DefaultBaseURL  = "https://api.duffel.com"
	DefaultVersion  = "v2"
	defaultPageSize = 200 // Duffel's largest page
	maxAnswer       = 64 << 20
	maxHints        = 4096
)

// Config configures a Client. BaseURL and AccessToken are DUFFEL_BASE_URL
// and DUFFEL_ACCESS_TOKEN, the names Duffel's own client libraries use.
type Config struct {
	BaseURL     string // default https://api.duffel.com
	AccessToken string
	// Version is the Duffel-Version header; default "v2".
	Version string
	// CabinClass of searches: economy (default), premium_economy, business, first.
	CabinClass string
	// ContactEmail and ContactPhone stand in for a passenger's email and
	// phone number (E.164) when the passenger has none: Duffel requires both
	// on every passenger of an order.
	ContactEmail string
	ContactPhone string
	// PageSize of the order list FindOrder pages through; 1 to 200, default 200.
	PageSize int
}

// ConfigFromEnv reads DUFFEL_BASE_URL and DUFFEL_ACCESS_TOKEN.
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{BaseURL: getenv("DUFFEL_BASE_URL"), AccessToken: getenv("DUFFEL_ACCESS_TOKEN")}
}

// Client is the Duffel adapter.
type Client struct {
	cfg  Config
	http *http.Client
	now  func() time.Time

	mu    sync.Mutex
	hints map[string]string // our reference -> the offer it booked
}

var _ provider.Provider = (*Client)(nil)

// New returns a Client. A nil httpClient uses a client without a timeout of
// its own: every call is bounded by its context.
func New(cfg Config, httpClient *http.Client) *Client {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Version == "" {
		cfg.Version = DefaultVersion
	}
	if cfg.CabinClass == "" {
		cfg.CabinClass = "economy"
	}
	if cfg.PageSize <= 0 || cfg.PageSize > defaultPageSize {
		cfg.PageSize = defaultPageSize
	}
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	return &Client{cfg: cfg, http: httpClient, now: time.Now, hints: make(map[string]string)}
}

// Name is "duffel".
func (c *Client) Name() string { return "duffel" }

// PriceStep names Price for the attempts' records: Duffel confirms an offer by reading it again (GET /air/offers/{id}).
func (c *Client) PriceStep() string { return "offer re-fetch" }

// Search creates an offer request for a one-way trip (one slice) or a
// round trip (a second slice back) and returns its offers. Adults are
// passengers of type "adult"; children and infants are sent by their age
// when the request knows it, else as the types "child" and
// "infant_without_seat". Duffel quotes in the account's billing currency;
// req.Currency is not sent.
func (c *Client) Search(ctx context.Context, req provider.SearchRequest) ([]provider.Offer, error) {
	if len(req.Origin) != 3 || len(req.Destination) != 3 || req.DepartureDate.IsZero() {
		return nil, fmt.Errorf("%w: duffel search needs IATA origin, destination and a date", provider.ErrRejected)
	}
	origin, dest := strings.ToUpper(req.Origin), strings.ToUpper(req.Destination)
	body := offerRequestBody{
		Slices:     []sliceRequest{{Origin: origin, Destination: dest, DepartureDate: req.DepartureDate.Format(time.DateOnly)}},
		Passengers: searchPassengers(req),
		CabinClass: c.cfg.CabinClass,
	}
	if req.RoundTrip() {
		body.Slices = append(body.Slices, sliceRequest{Origin: dest, Destination: origin, DepartureDate: req.ReturnDate.Format(time.DateOnly)})
	}
	q := url.Values{"return_offers": {"true"}}
	if dl, ok := ctx.Deadline(); ok {
		// Let Duffel answer with what its airlines sent in time rather than
		// not at all: 2 to 60 seconds, in milliseconds.
		ms := (time.Until(dl) - 500*time.Millisecond).Milliseconds()
		q.Set("supplier_timeout", strconv.FormatInt(min(max(ms, 2000), 60000), 10))
	}
	answer, err := c.call(ctx, http.MethodPost, "/air/offer_requests", q, body)
	if err != nil {
		return nil, err
	}
	return parseSearchResponse(answer)
}

// Price reads the offer again. When its total moved, it returns the fresh
// offer together with a *provider.PriceChangedError.
func (c *Client) Price(ctx context.Context, offer provider.Offer) (provider.Offer, error) {
	fresh, err := c.getOffer(ctx, offer.ID)
	if err != nil {
		return provider.Offer{}, err
	}
	if offer.Price != (money.Money{}) && fresh.Price != offer.Price {
		return fresh, &provider.PriceChangedError{Old: offer.Price, New: fresh.Price}
	}
	return fresh, nil
}

func (c *Client) getOffer(ctx context.Context, id string) (provider.Offer, error) {
	if id == "" {
		return provider.Offer{}, fmt.Errorf("%w: offer without id", provider.ErrRejected)
	}
	q := url.Values{"return_available_services": {"false"}}
	answer, err := c.call(ctx, http.MethodGet, "/air/offers/"+url.PathEscape(id), q, nil)
	if err != nil {
		var he *provider.HTTPError
		if errors.As(err, &he) && he.Status == http.StatusNotFound {
			return provider.Offer{}, unavailableError{he}
		}
		return provider.Offer{}, err
	}
	return parseOfferResponse(answer)
}

// Book creates an instant order paid from the Duffel balance, carrying
// req.Reference in the order's metadata.
func (c *Client) Book(ctx context.Context, req provider.OrderRequest) (provider.Order, error) {
	if req.Reference == "" || len(req.Reference) > 500 {
		return provider.Order{}, fmt.Errorf("%w: duffel needs a reference of 1 to 500 characters", provider.ErrRejected)
	}
	if len(req.Passengers) == 0 {
		return provider.Order{}, fmt.Errorf("%w: an order needs passengers", provider.ErrRejected)
	}
	offer := req.Offer
	expected := offer.Price
	ids, err := offerPassengerIDs(offer.Raw)
	if err != nil {
		// Without the offer as Duffel sent it, read it: its passenger ids
		// name the travellers of the order.
		fresh, err := c.getOffer(ctx, offer.ID)
		if err != nil {
			return provider.Order{}, err
		}
		if expected != (money.Money{}) && fresh.Price != expected {
			return provider.Order{}, &provider.PriceChangedError{Old: expected, New: fresh.Price}
		}
		expected = fresh.Price
		if ids, err = offerPassengerIDs(fresh.Raw); err != nil {
			return provider.Order{}, fmt.Errorf("duffel: offer %s: %w", offer.ID, err)
		}
	}
	if len(ids) != len(req.Passengers) {
		return provider.Order{}, fmt.Errorf("%w: offer %s is for %d passengers, order names %d",
			provider.ErrRejected, offer.ID, len(ids), len(req.Passengers))
	}
	if _, err := money.Exponent(expected.Currency); err != nil {
		return provider.Order{}, fmt.Errorf("%w: offer %s has no price to pay: %v", provider.ErrRejected, offer.ID, err)
	}
	body := orderBody{
		Type:           "instant",
		SelectedOffers: []string{offer.ID},
		Payments:       []payment{{Type: "balance", Amount: expected.Decimal(), Currency: expected.Currency}},
		Metadata:       map[string]string{MetadataReferenceKey: req.Reference},
	}
	types := make([]string, len(req.Passengers))
	for i, p := range req.Passengers {
		body.Passengers = append(body.Passengers, c.orderPassenger(ids[i], p))
		types[i] = p.Type
	}
	if err := linkInfants(body.Passengers, types); err != nil {
		return provider.Order{}, err
	}

	// Remember which offer the reference books before asking: if the answer
	// is lost, FindOrder lists only that offer's orders.
	c.remember(req.Reference, offer.ID)
	answer, err := c.call(ctx, http.MethodPost, "/air/orders", nil, body)
	if err != nil {
		var pm *priceMismatchError
		if !errors.As(err, &pm) {
			return provider.Order{}, err
		}
		// Duffel refused the payment for the offer's old total and created
		// no order. Its error does not say the new total: read the offer.
		fresh, ferr := c.getOffer(ctx, offer.ID)
		if errors.Is(ferr, provider.ErrUnavailable) {
			return provider.Order{}, ferr
		}
		pc := &provider.PriceChangedError{Old: expected}
		if ferr == nil {
			pc.New = fresh.Price
		}
		return provider.Order{}, pc
	}
	order, err := parseOrderResponse(answer)
	if err != nil {
		// Duffel answered 2xx: the order exists even if its answer is
		// unreadable. When the answer names it, that is the outcome, at
		// the amount our balance payment paid (Duffel refuses a payment
		// that differs from the order's total).
		if o, ok := orderIdentity(answer); ok {
			o.Price = expected
			return o, nil
		}
		return provider.Order{}, fmt.Errorf("duffel: order created but its answer is unreadable (FindOrder %q): %w", req.Reference, err)
	}
	return order, nil
}

// searchPassengers are the offer request's passengers: adults, children,
// infants, in that order (the order of the offer's passengers).
func searchPassengers(req provider.SearchRequest) []passengerRequest {
	out := make([]passengerRequest, 0, max(req.Adults, 1)+req.Children+req.Infants)
	for range max(req.Adults, 1) {
		out = append(out, passengerRequest{Type: "adult"})
	}
	known := len(req.Ages) == req.Children+req.Infants
	for i := range req.Children + req.Infants {
		switch {
		case known:
			age := req.Ages[i]
			out = append(out, passengerRequest{Age: &age})
		case i < req.Children:
			out = append(out, passengerRequest{Type: "child"})
		default:
			out = append(out, passengerRequest{Type: "infant_without_seat"})
		}
	}
	return out
}

// linkInfants sets infant_passenger_id: the n-th infant travels on the n-th
// adult's lap (provider.Passenger's order).
func linkInfants(ps []orderPassenger, types []string) error {
	var adults, infants []int
	for i, t := range types {
		switch t {
		case provider.Infant:
			infants = append(infants, i)
		case provider.Adult, "":
			adults = append(adults, i)
		}
	}
	if len(infants) > len(adults) {
		return fmt.Errorf("%w: %d infants and %d adults: each infant travels on an adult's lap", provider.ErrRejected, len(infants), len(adults))
	}
	for n, i := range infants {
		ps[adults[n]].InfantPassengerID = ps[i].ID
	}
	return nil
}

func (c *Client) orderPassenger(id string, p provider.Passenger) orderPassenger {
	title, gender := strings.ToLower(p.Title), strings.ToLower(p.Gender)
	switch {
	case title == "" && gender == "m":
		title = "mr"
	case title == "" && gender == "f":
		title = "ms"
	case gender == "" && title == "mr":
		gender = "m"
	case gender == "" && (title == "ms" || title == "mrs" || title == "miss"):
		gender = "f"
	}
	email, phone := p.Email, p.PhoneNumber
	if email == "" {
		email = c.cfg.ContactEmail
	}
	if phone == "" {
		phone = c.cfg.ContactPhone
	}
	return orderPassenger{
		ID: id, Title: title, Gender: gender,
		GivenName: p.GivenName, FamilyName: p.FamilyName, BornOn: p.BornOn,
		Email: email, PhoneNumber: phone,
	}
}

// FindOrder finds the order whose metadata carries reference. Duffel cannot
// filter orders by metadata, so the adapter matches it itself: when this
// Client booked the reference, among the orders of that offer
// (?offer_id=); otherwise among every order of the account, page by page.
func (c *Client) FindOrder(ctx context.Context, reference string) (provider.Order, error) {
	if reference == "" {
		return provider.Order{}, fmt.Errorf("%w: empty reference", provider.ErrRejected)
	}
	q := url.Values{"limit": {strconv.Itoa(c.cfg.PageSize)}}
	if offerID, ok := c.hint(reference); ok {
		q.Set("offer_id", offerID)
	}
	seen := make(map[string]bool)
	for {
		answer, err := c.call(ctx, http.MethodGet, "/air/orders", q, nil)
		if err != nil {
			return provider.Order{}, err
		}
		orders, after, err := parseOrderList(answer)
		if err != nil {
			return provider.Order{}, err
		}
		for _, o := range orders {
			if o.Reference == reference {
				return o.Order, nil
			}
		}
		if after == "" {
			return provider.Order{}, fmt.Errorf("duffel: reference %q: %w", reference, provider.ErrNotFound)
		}
		if seen[after] {
			return provider.Order{}, fmt.Errorf("duffel: order list cursor %q repeats", after)
		}
		seen[after] = true
		q.Set("after", after)
	}
}

func (c *Client) remember(reference, offerID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.hints) >= maxHints {
		for k := range c.hints { // forget one: a lookup without a hint pages through everything
			delete(c.hints, k)
			break
		}
	}
	c.hints[reference] = offerID
}

func (c *Client) hint(reference string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.hints[reference]
	return id, ok
}

// call sends one request and returns the body of a 2xx answer; anything
// else becomes the provider's errors (see mapError).
func (c *Client) call(ctx context.Context, method, path string, q url.Values, data any) ([]byte, error) {
	u := c.cfg.BaseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var body io.Reader
	if data != nil {
		b, err := json.Marshal(struct {
			Data any `json:"data"`
		}{data})
		if err != nil {
			return nil, fmt.Errorf("duffel: encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("duffel: %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.AccessToken)
	req.Header.Set("Duffel-Version", c.cfg.Version)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "reservd duffel-adapter Duffel/"+c.cfg.Version)
	res, err := c.http.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("duffel: %s %s: %w", method, path, ctxErr)
		}
		return nil, fmt.Errorf("duffel: %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("duffel: %s %s: read answer: %w", method, path, ctxErr)
		}
		return nil, fmt.Errorf("duffel: %s %s: read answer: %w", method, path, err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return nil, fmt.Errorf("duffel: %s %s: %w", method, path, mapError(res.StatusCode, res.Header, answer, c.now()))
	}
	return answer, nil
}
