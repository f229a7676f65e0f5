package amadeus

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
	"time"

	"github.com/reservd/reservd/internal/provider"
)

// Name is the provider's public name.
const Name = "amadeus"

// DefaultBaseURL is Amadeus's test environment, the SDKs' default.
const DefaultBaseURL = "https://test.api.amadeus.com"

// ErrLookupUnsupported: the endpoint offers no search of orders by our
// reference (the real Self-Service API does not), so FindOrder cannot tell
// whether an order whose booking answer was lost exists. It is not
// provider.ErrNotFound on purpose: treating it as "absent" could book twice.
var ErrLookupUnsupported = errors.New("amadeus: this endpoint cannot look orders up by client reference")

// Config configures the adapter.
type Config struct {
	// BaseURL is AMADEUS_BASE_URL; empty means DefaultBaseURL.
	BaseURL string
	// ClientID and ClientSecret are AMADEUS_CLIENT_ID and
	// AMADEUS_CLIENT_SECRET, the application's API key and secret.
	ClientID     string
	ClientSecret string
	// MaxOffers is the search's max parameter; 0 means 50.
	MaxOffers int
	// OfferTTL caps an offer's ExpiresAt after the search; 0 means 30
	// minutes. Amadeus's search answers carry no expiry of their own.
	OfferTTL time.Duration
	// Now is the clock (token expiry, offer expiry); nil means time.Now.
	Now func() time.Time
}

// ConfigFromEnv reads the settings the Amadeus SDKs read.
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{
		BaseURL:      getenv("AMADEUS_BASE_URL"),
		ClientID:     getenv("AMADEUS_CLIENT_ID"),
		ClientSecret: getenv("AMADEUS_CLIENT_SECRET"),
	}
}

// Client speaks to Amadeus. It is safe for concurrent use.
type Client struct {
	base     string
	id       string
	secret   string
	max      int
	ttl      time.Duration
	now      func() time.Time
	http     *http.Client
	tokens   tokenCache
	refs     orderIndex
	maxBytes int64
}

var _ provider.Provider = (*Client)(nil)

// New returns a client; httpClient nil means a client of its own. Deadlines
// come from each call's context.
func New(cfg Config, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	c := &Client{
		base:     strings.TrimRight(cfg.BaseURL, "/"),
		id:       cfg.ClientID,
		secret:   cfg.ClientSecret,
		max:      cfg.MaxOffers,
		ttl:      cfg.OfferTTL,
		now:      cfg.Now,
		http:     httpClient,
		maxBytes: 32 << 20,
	}
	if c.base == "" {
		c.base = DefaultBaseURL
	}
	if c.max <= 0 {
		c.max = 50
	}
	if c.ttl <= 0 {
		c.ttl = 30 * time.Minute
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.tokens.sem = make(chan struct{}, 1)
	return c
}

// Name returns "amadeus".
func (c *Client) Name() string { return Name }

// PriceStep names Price for the attempts' records: Amadeus confirms an offer with Flight Offers Price.
func (c *Client) PriceStep() string { return "flight-offers pricing" }

// Search runs Flight Offers Search (its POST form, which takes passenger
// types): one originDestination, or two for a round trip, and travelers
// ADULT, CHILD and HELD_INFANT, ids 1.. in that order, the n-th held infant
// associated with the n-th adult.
func (c *Client) Search(ctx context.Context, req provider.SearchRequest) ([]provider.Offer, error) {
	body, err := json.Marshal(searchBody(req, c.max))
	if err != nil {
		return nil, fmt.Errorf("amadeus search: %w", err)
	}
	// Like pricing, the POST form reads: X-HTTP-Method-Override: GET.
	res, err := c.call(ctx, http.MethodPost, "/v2/shopping/flight-offers", body, http.Header{"X-Http-Method-Override": {"GET"}})
	if err != nil {
		return nil, fmt.Errorf("amadeus search: %w", err)
	}
	if res.status != http.StatusOK {
		return nil, fmt.Errorf("amadeus search: %w", c.apiErr(res))
	}
	offers, err := parseSearchResponse(res.body, c.now(), c.ttl)
	if err != nil {
		return nil, fmt.Errorf("amadeus search: %w", err)
	}
	return offers, nil
}

type originDestination struct {
	ID                      string `json:"id"`
	OriginLocationCode      string `json:"originLocationCode"`
	DestinationLocationCode string `json:"destinationLocationCode"`
	DepartureDateTimeRange  struct {
		Date string `json:"date"`
	} `json:"departureDateTimeRange"`
}

type searchTraveler struct {
	ID                string   `json:"id"`
	TravelerType      string   `json:"travelerType"`
	AssociatedAdultID string   `json:"associatedAdultId,omitempty"`
	FareOptions       []string `json:"fareOptions"`
}

// searchBody is the POST Flight Offers Search request of req.
func searchBody(req provider.SearchRequest, maxOffers int) map[string]any {
	od := func(id, from, to string, d time.Time) originDestination {
		o := originDestination{ID: id, OriginLocationCode: from, DestinationLocationCode: to}
		o.DepartureDateTimeRange.Date = d.Format(time.DateOnly)
		return o
	}
	ods := []originDestination{od("1", req.Origin, req.Destination, req.DepartureDate)}
	if req.RoundTrip() {
		ods = append(ods, od("2", req.Destination, req.Origin, req.ReturnDate))
	}
	adults := max(req.Adults, 1)
	var travelers []searchTraveler
	add := func(typ, adult string) {
		travelers = append(travelers, searchTraveler{ID: strconv.Itoa(len(travelers) + 1), TravelerType: typ,
			AssociatedAdultID: adult, FareOptions: []string{"STANDARD"}})
	}
	for range adults {
		add("ADULT", "")
	}
	for range req.Children {
		add("CHILD", "")
	}
	for i := range req.Infants {
		add("HELD_INFANT", strconv.Itoa(i%adults+1))
	}
	body := map[string]any{
		"originDestinations": ods,
		"travelers":          travelers,
		"sources":            []string{"GDS"},
		"searchCriteria":     map[string]any{"maxFlightOffers": maxOffers},
	}
	if req.Currency != "" {
		body["currencyCode"] = req.Currency
	}
	return body
}

// Price confirms the offer with Flight Offers Price. When the price moved it
// returns the re-priced offer AND a *provider.PriceChangedError, so that a
// caller willing to pay the new price can book the returned offer.
func (c *Client) Price(ctx context.Context, offer provider.Offer) (provider.Offer, error) {
	p, err := c.price(ctx, offer)
	if err != nil {
		return provider.Offer{}, fmt.Errorf("amadeus price: %w", err)
	}
	priced := offer
	priced.Provider = Name
	priced.Price = p.Price
	priced.Raw = p.Raw
	if fo, err := parseFlightOffer(p.Raw); err == nil {
		priced.Segments = fo.Segments
	}
	if p.Price != offer.Price {
		return priced, &provider.PriceChangedError{Old: offer.Price, New: p.Price}
	}
	return priced, nil
}

func (c *Client) price(ctx context.Context, offer provider.Offer) (pricedOffer, error) {
	if len(offer.Raw) == 0 {
		return pricedOffer{}, fmt.Errorf("%w: offer %q has no flight-offer object to price", provider.ErrRejected, offer.ID)
	}
	body, err := json.Marshal(map[string]any{"data": map[string]any{
		"type":         "flight-offers-pricing",
		"flightOffers": []json.RawMessage{offer.Raw},
	}})
	if err != nil {
		return pricedOffer{}, fmt.Errorf("%w: offer %q: %v", provider.ErrRejected, offer.ID, err)
	}
	// The pricing endpoint is a POST that reads: the specification makes the
	// X-HTTP-Method-Override: GET header mandatory.
	res, err := c.call(ctx, http.MethodPost, "/v1/shopping/flight-offers/pricing", body,
		http.Header{"X-Http-Method-Override": {"GET"}})
	if err != nil {
		return pricedOffer{}, err
	}
	if res.status != http.StatusOK {
		return pricedOffer{}, c.apiErr(res)
	}
	return parsePricingResponse(res.body, offer.ID)
}

// Book creates the flight order, carrying req.Reference as a general remark
// of the PNR. It is not retried here: a lost answer is resolved by FindOrder.
func (c *Client) Book(ctx context.Context, req provider.OrderRequest) (provider.Order, error) {
	body, err := orderBody(req)
	if err != nil {
		return provider.Order{}, fmt.Errorf("amadeus book: %w", err)
	}
	res, err := c.call(ctx, http.MethodPost, "/v1/booking/flight-orders", body, nil)
	if err != nil {
		return provider.Order{}, fmt.Errorf("amadeus book: %w", err)
	}
	if res.status != http.StatusCreated && res.status != http.StatusOK {
		if issue, ok := findIssue(res.body, codePriceDiscrepancy); ok {
			return provider.Order{}, fmt.Errorf("amadeus book: %w", c.priceChanged(ctx, req.Offer, issue))
		}
		return provider.Order{}, fmt.Errorf("amadeus book: %w", c.apiErr(res))
	}
	o, err := parseOrderResponse(res.body)
	if err != nil {
		// The order exists. When the answer names it, its prices being
		// unreadable does not make the outcome unknown: it is the priced
		// offer Amadeus was sent whole, at that offer's price.
		if order, ok := orderIdentity(res.body); ok {
			order.Price = req.Offer.Price
			c.refs.put(req.Reference, order.ID)
			return order, nil
		}
		return provider.Order{}, fmt.Errorf("amadeus book: %w", err)
	}
	c.refs.put(req.Reference, o.Order.ID)
	return o.Order, nil
}

// priceChanged builds the PriceChangedError of a 37200 PRICE DISCREPANCY:
// the new price from the error's detail when it names it, else from a fresh
// pricing call (safe: a read).
func (c *Client) priceChanged(ctx context.Context, offer provider.Offer, issue apiError) error {
	if p, ok := parseDiscrepancyDetail(issue.Detail, offer.Price.Currency); ok {
		return &provider.PriceChangedError{Old: offer.Price, New: p}
	}
	p, err := c.price(ctx, offer)
	if err != nil {
		return fmt.Errorf("price discrepancy (%s), and pricing again failed: %w", issue.Detail, err)
	}
	return &provider.PriceChangedError{Old: offer.Price, New: p.Price}
}

// FindOrder looks the order up by our reference: by id when this process
// saw the booking's answer, else through the remark search (see the package
// documentation; ErrLookupUnsupported where the endpoint has none).
func (c *Client) FindOrder(ctx context.Context, reference string) (provider.Order, error) {
	if reference == "" {
		return provider.Order{}, fmt.Errorf("amadeus find order: %w: empty reference", provider.ErrRejected)
	}
	if id, ok := c.refs.get(reference); ok {
		res, err := c.call(ctx, http.MethodGet, "/v1/booking/flight-orders/"+url.PathEscape(id), nil, nil)
		if err != nil {
			return provider.Order{}, fmt.Errorf("amadeus find order: %w", err)
		}
		switch res.status {
		case http.StatusOK:
			o, err := parseOrderResponse(res.body)
			if err != nil {
				return provider.Order{}, fmt.Errorf("amadeus find order: %w", err)
			}
			return o.Order, nil
		case http.StatusNotFound:
			// The order existed (this process saw its id) and is gone:
			// cancelled or purged since. That is not "no order was made",
			// so not ErrNotFound, which would let the trip order again.
			return provider.Order{}, fmt.Errorf("amadeus find order: order %s of %q answered 404: cancelled or purged since it was made", id, reference)
		default:
			return provider.Order{}, fmt.Errorf("amadeus find order: %w", c.apiErr(res))
		}
	}
	q := url.Values{"remark": {referenceRemark(reference)}}
	res, err := c.call(ctx, http.MethodGet, "/v1/booking/flight-orders?"+q.Encode(), nil, nil)
	if err != nil {
		return provider.Order{}, fmt.Errorf("amadeus find order: %w", err)
	}
	switch res.status {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
		// Not ErrRejected nor ErrNotFound: the outcome stays unknown.
		return provider.Order{}, fmt.Errorf("amadeus find order: %w (answered %d)", ErrLookupUnsupported, res.status)
	default:
		return provider.Order{}, fmt.Errorf("amadeus find order: %w", c.apiErr(res))
	}
	orders, err := parseOrderList(res.body)
	if err != nil {
		return provider.Order{}, fmt.Errorf("amadeus find order: %w", err)
	}
	for _, o := range orders {
		if carriesReference(o.Remarks, reference) {
			c.refs.put(reference, o.Order.ID)
			return o.Order, nil
		}
	}
	return provider.Order{}, fmt.Errorf("amadeus find order %q: %w", reference, provider.ErrNotFound)
}

// response is an answer read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// call sends one request with a bearer token. A 401 that asks for a new
// token (38190-38193) refreshes it once and repeats the request once.
func (c *Client) call(ctx context.Context, method, path string, body []byte, hdr http.Header) (response, error) {
	tok, err := c.token(ctx, "")
	if err != nil {
		return response{}, err
	}
	res, err := c.send(ctx, method, path, body, hdr, tok)
	if err != nil || res.status != http.StatusUnauthorized || !tokenRejected(res.body) {
		return res, err
	}
	if tok, err = c.token(ctx, tok); err != nil {
		return response{}, err
	}
	return c.send(ctx, method, path, body, hdr, tok)
}

func (c *Client) send(ctx context.Context, method, path string, body []byte, hdr http.Header, tok string) (response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return response{}, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/vnd.amadeus+json, application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/vnd.amadeus+json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return c.do(req)
}

func (c *Client) do(req *http.Request) (response, error) {
	res, err := c.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, c.maxBytes))
	if err != nil {
		return response{}, err
	}
	return response{status: res.StatusCode, header: res.Header, body: b}, nil
}
