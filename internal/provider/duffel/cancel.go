package duffel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/reservd/reservd/internal/provider"
)

// wireCancellation is Duffel's Order Cancellation
// (https://duffel.com/docs/api/order-cancellations): a quote until
// confirmed_at is set, the refund in refund_amount/refund_currency.
type wireCancellation struct {
	ID             string  `json:"id"`
	OrderID        string  `json:"order_id"`
	RefundAmount   string  `json:"refund_amount"`
	RefundCurrency string  `json:"refund_currency"`
	ConfirmedAt    *string `json:"confirmed_at"`
}

func (w wireCancellation) result() (provider.Cancellation, error) {
	c := provider.Cancellation{Canceled: w.ConfirmedAt != nil && *w.ConfirmedAt != ""}
	if w.RefundAmount != "" || w.RefundCurrency != "" {
		m, err := parseAmount(w.RefundAmount, w.RefundCurrency)
		if err != nil {
			return c, fmt.Errorf("duffel: order cancellation %s: refund: %w", w.ID, err)
		}
		c.Refund = &m
	}
	return c, nil
}

// Cancel cancels an order in Duffel's two steps: it creates a cancellation
// quote for the order, then confirms that quote; the refund is the one
// Duffel states on the confirmed cancellation. A refusal of either step
// (4xx: the airline does not allow it, the order is cancelled already) is
// provider.ErrNotCancelable. The quote alone cancels nothing, so only an
// unknown outcome of the confirmation can have canceled the order; the
// caller settles that with CancelStatus.
func (c *Client) Cancel(ctx context.Context, orderID string) (provider.Cancellation, error) {
	if orderID == "" {
		return provider.Cancellation{}, fmt.Errorf("%w: empty order id", provider.ErrNotCancelable)
	}
	answer, err := c.call(ctx, http.MethodPost, "/air/order_cancellations", nil, map[string]string{"order_id": orderID})
	if err != nil {
		return provider.Cancellation{}, notCancelable(err)
	}
	quote, err := parseCancellation(answer)
	if err != nil {
		return provider.Cancellation{}, err
	}
	answer, err = c.call(ctx, http.MethodPost, "/air/order_cancellations/"+url.PathEscape(quote.ID)+"/actions/confirm", nil, nil)
	if err != nil {
		return provider.Cancellation{}, notCancelable(err)
	}
	done, err := parseCancellation(answer)
	if err != nil {
		// A 2xx confirmation cancelled the order even if its answer is
		// unreadable: report the quote's refund, which Duffel confirmed.
		res, qerr := quote.result()
		res.Canceled = true
		if qerr != nil {
			res.Refund = nil
		}
		return res, nil
	}
	res, err := done.result()
	res.Canceled = true
	return res, err
}

// CancelStatus lists the order's cancellations
// (GET /air/order_cancellations?order_id=): a confirmed one means the
// order is cancelled.
func (c *Client) CancelStatus(ctx context.Context, orderID string) (provider.Cancellation, error) {
	answer, err := c.call(ctx, http.MethodGet, "/air/order_cancellations", url.Values{"order_id": {orderID}}, nil)
	if err != nil {
		return provider.Cancellation{}, err
	}
	var list struct {
		Data []wireCancellation `json:"data"`
	}
	if err := json.Unmarshal(answer, &list); err != nil {
		return provider.Cancellation{}, fmt.Errorf("duffel: order cancellations: %w", err)
	}
	for _, w := range list.Data {
		if w.OrderID == orderID && w.ConfirmedAt != nil && *w.ConfirmedAt != "" {
			return w.result()
		}
	}
	return provider.Cancellation{}, nil
}

func parseCancellation(body []byte) (wireCancellation, error) {
	var out struct {
		Data wireCancellation `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Data.ID == "" {
		return wireCancellation{}, fmt.Errorf("duffel: unreadable order cancellation answer: %v", err)
	}
	return out.Data, nil
}

// notCancelable maps Duffel's refusals (4xx other than 429) to
// provider.ErrNotCancelable and keeps anything else as it is (unknown).
func notCancelable(err error) error {
	if errors.Is(err, provider.ErrRejected) || errors.Is(err, provider.ErrUnavailable) {
		return fmt.Errorf("%w: %w", provider.ErrNotCancelable, err)
	}
	return err
}
