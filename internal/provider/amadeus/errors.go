package amadeus

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/provider"
)

// Amadeus error codes the adapter acts on.
const (
	codePriceDiscrepancy   = "37200" // PRICE DISCREPANCY
	codeSegmentSellFailure = "34651" // SEGMENT SELL FAILURE
	codeNotApplicableFare  = "34107" // NOT APPLICABLE FARE
	codeServiceUnavailable = "38034" // ONE OR MORE SERVICES ARE NOT AVAILABLE
	codeInvalidData        = "4926"  // INVALID DATA RECEIVED ("No fare applicable")
)

// tokenRejected reports a 401 that a new access token can cure.
func tokenRejected(body []byte) bool {
	for _, e := range parseErrorResponse(body) {
		switch e.Code {
		case "38190", "38191", "38192", "38193":
			return true
		}
	}
	return false
}

func findIssue(body []byte, code string) (apiError, bool) {
	for _, e := range parseErrorResponse(body) {
		if e.Code == code {
			return e, true
		}
	}
	return apiError{}, false
}

// apiErr maps an unsuccessful answer to the provider's errors.
func (c *Client) apiErr(res response) error {
	issues := parseErrorResponse(res.body)
	var first apiError
	if len(issues) > 0 {
		first = issues[0]
	}
	detail := strings.TrimSpace(strings.TrimSpace(first.Title) + ": " + first.Detail)
	detail = strings.Trim(detail, ": ")
	if detail == "" {
		detail = strings.TrimSpace(string(res.body[:min(len(res.body), 200)]))
	}
	herr := &provider.HTTPError{Status: res.status, Code: first.Code, Detail: detail}
	if res.status == http.StatusTooManyRequests {
		return &provider.RateLimitedError{RetryAfter: retryAfter(res.header.Get("Retry-After"), c.now())}
	}
	for _, e := range issues {
		if soldOut(e) {
			return fmt.Errorf("%w: %w", provider.ErrUnavailable, herr)
		}
	}
	if res.status >= 400 && res.status < 500 && res.status != http.StatusRequestTimeout {
		return fmt.Errorf("%w: %w", provider.ErrRejected, herr)
	}
	return herr
}

// soldOut reports the codes that mean the offer cannot be had any more.
func soldOut(e apiError) bool {
	switch e.Code {
	case codeSegmentSellFailure, codeNotApplicableFare, codeServiceUnavailable:
		return true
	case codeInvalidData:
		// 4926 is also any malformed input; only "No fare applicable" (and
		// the like) says the fare is gone.
		d := strings.ToLower(e.Detail)
		return strings.Contains(d, "no fare") || strings.Contains(d, "not available")
	}
	return false
}

// retryAfter reads Retry-After. Amadeus does not document the header;
// without it, one second.
func retryAfter(h string, now time.Time) time.Duration {
	if d, ok := provider.ParseRetryAfter(h, now); ok {
		return d
	}
	return time.Second
}
