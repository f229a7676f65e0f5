package duffel

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/provider"
)

// Duffel error codes with a meaning of their own to the aggregator.
var (
	// The offer is gone: sold, expired, or its offer request already booked.
	unavailableCodes = map[string]bool{
		"offer_no_longer_available":    true,
		"offer_expired":                true,
		"offer_request_already_booked": true,
		"offer_request_expired":        true,
	}
	// The offer's time ran out: a new search may find the flights again.
	expiredCodes = map[string]bool{"offer_expired": true, "offer_request_expired": true}
	// The payment no longer matches the offer: its price moved.
	priceCodes = map[string]bool{
		"payment_amount_does_not_match_order_amount":     true,
		"payment_currency_does_not_match_order_currency": true,
		"price_changed": true,
	}
)

// rejectedError is a non-retryable 4xx: it is both provider.ErrRejected and
// the *provider.HTTPError with Duffel's status and code.
type rejectedError struct{ *provider.HTTPError }

func (e rejectedError) Unwrap() []error { return []error{provider.ErrRejected, e.HTTPError} }

// unavailableError is an offer Duffel no longer sells: provider.ErrUnavailable
// with Duffel's code for the logs.
type unavailableError struct{ *provider.HTTPError }

func (e unavailableError) Error() string {
	return fmt.Sprintf("%s (duffel %d %s: %s)", provider.ErrUnavailable, e.Status, e.Code, e.Detail)
}
func (e unavailableError) Unwrap() []error { return []error{provider.ErrUnavailable, e.HTTPError} }

// expiredError is an offer whose time ran out: provider.ErrOfferExpired.
type expiredError struct{ unavailableError }

func (e expiredError) Unwrap() []error { return []error{provider.ErrOfferExpired, e.HTTPError} }

// priceMismatchError is Duffel refusing a payment that no longer matches the
// offer's total. Book turns it into a *provider.PriceChangedError after
// reading the offer's new price; anywhere else it is a rejection.
type priceMismatchError struct{ rejectedError }

// mapError turns a non-2xx Duffel answer into the provider's errors.
func mapError(status int, h http.Header, body []byte, now time.Time) error {
	he := &provider.HTTPError{Status: status, Detail: http.StatusText(status)}
	if e, reqID, ok := parseErrorResponse(body); ok {
		he.Code = e.Code
		if he.Code == "" {
			he.Code = e.Type
		}
		he.Detail = strings.TrimSpace(strings.Join(nonEmpty(e.Title, e.Message), ": "))
		if reqID != "" {
			he.Detail += " (request_id " + reqID + ")"
		}
	}
	switch {
	case status == http.StatusTooManyRequests:
		return &provider.RateLimitedError{RetryAfter: retryAfter(h, now)}
	case expiredCodes[he.Code]:
		return expiredError{unavailableError{he}}
	case unavailableCodes[he.Code]:
		return unavailableError{he}
	case priceCodes[he.Code]:
		return &priceMismatchError{rejectedError{he}}
	case status >= 500 || status == http.StatusRequestTimeout:
		return he
	case status >= 400:
		return rejectedError{he}
	default:
		return he
	}
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// retryAfter reads how long to wait after a 429: Retry-After (seconds or an
// HTTP date) first, then Duffel's ratelimit-reset (an HTTP date at the end of
// the current window). Zero when neither says.
func retryAfter(h http.Header, now time.Time) time.Duration {
	for _, name := range []string{"Retry-After", "Ratelimit-Reset"} {
		if d, ok := provider.ParseRetryAfter(h.Get(name), now); ok {
			return d
		}
	}
	return 0
}
