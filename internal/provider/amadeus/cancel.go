package amadeus

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/reservd/reservd/internal/provider"
)

// Cancel deletes the flight order (Flight Order Management,
// DELETE /v1/booking/flight-orders/{id}), which answers 204 without a body:
// Amadeus states no refund (the consolidator settles it), so Refund is nil.
// A 4xx refusal is provider.ErrNotCancelable; anything else leaves the
// outcome unknown, for CancelStatus to settle.
func (c *Client) Cancel(ctx context.Context, orderID string) (provider.Cancellation, error) {
	if orderID == "" {
		return provider.Cancellation{}, fmt.Errorf("amadeus cancel: %w: empty order id", provider.ErrNotCancelable)
	}
	res, err := c.call(ctx, http.MethodDelete, "/v1/booking/flight-orders/"+url.PathEscape(orderID), nil, nil)
	if err != nil {
		return provider.Cancellation{}, fmt.Errorf("amadeus cancel: %w", err)
	}
	switch {
	case res.status >= 200 && res.status < 300:
		return provider.Cancellation{Canceled: true}, nil
	case res.status == http.StatusTooManyRequests || res.status >= 500 || res.status == http.StatusRequestTimeout:
		return provider.Cancellation{}, fmt.Errorf("amadeus cancel: %w", c.apiErr(res))
	default:
		return provider.Cancellation{}, fmt.Errorf("amadeus cancel: %w: %w", provider.ErrNotCancelable, c.apiErr(res))
	}
}

// CancelStatus reads the order by id: 200 is an order still live, and 404
// an order deleted. The id came from the order's own creation, so the order
// existed; deletion is the only way Flight Order Management loses one
// before its flight (the adapter's FindOrder reads the same 404 the same way).
func (c *Client) CancelStatus(ctx context.Context, orderID string) (provider.Cancellation, error) {
	res, err := c.call(ctx, http.MethodGet, "/v1/booking/flight-orders/"+url.PathEscape(orderID), nil, nil)
	if err != nil {
		return provider.Cancellation{}, fmt.Errorf("amadeus cancel status: %w", err)
	}
	switch res.status {
	case http.StatusOK:
		return provider.Cancellation{}, nil
	case http.StatusNotFound:
		return provider.Cancellation{Canceled: true}, nil
	}
	return provider.Cancellation{}, fmt.Errorf("amadeus cancel status: %w", c.apiErr(res))
}
