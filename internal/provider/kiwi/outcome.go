package kiwi

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
)

// ErrLookupUnverified reports a booking lookup that answered 404. The
// lookup path is not in Kiwi's public documentation (see the package
// comment), so a 404 may mean the route does not exist rather than that
// no booking does: it never proves absence, and the outcome of the order
// stays unknown.
var ErrLookupUnverified = errors.New("kiwi booking lookup route answered 404; absence is not proven")

// parseSaveBookingStated reads a save_booking answer whose total is not
// in the offer's currency, or not readable at all: booking_id and
// transaction_id say the booking exists, so this is an answer, not an
// unknown outcome. stated is the total in the currency Kiwi stated it in,
// zero when no amount can be read. ok is false when the answer carries no
// booking (then nothing proves the booking exists or not).
func parseSaveBookingStated(body []byte) (res saveResult, stated money.Money, ok bool) {
	// The amounts are read apart, so that an unreadable one cannot hide
	// the booking's id.
	var r struct {
		BookingID      flexString      `json:"booking_id"`
		TransactionID  string          `json:"transaction_id"`
		Status         string          `json:"status"`
		FlightsInvalid bool            `json:"flights_invalid"`
		PriceChange    bool            `json:"price_change"`
		Total          json.RawMessage `json:"total"`
		Currency       json.RawMessage `json:"currency"`
	}
	if err := decodeJSON(body, &r); err != nil {
		return saveResult{}, money.Money{}, false
	}
	res = saveResult{
		BookingID: string(r.BookingID), TransactionID: r.TransactionID, Status: r.Status,
		Invalid: r.FlightsInvalid, PriceChange: r.PriceChange,
	}
	if res.Invalid {
		return res, money.Money{}, true
	}
	if res.BookingID == "" || res.TransactionID == "" {
		return saveResult{}, money.Money{}, false
	}
	var amount json.Number
	currency := "EUR" // Kiwi's "total" is in EUR unless it says otherwise
	if len(r.Currency) > 0 && (decodeJSON(r.Currency, &currency) != nil || !money.Known(currency)) {
		return res, money.Money{}, true
	}
	if decodeJSON(r.Total, &amount) == nil && amount != "" {
		if m, err := parseAmount(amount, currency); err == nil {
			stated = m
		}
	}
	return res, stated, true
}

// acceptStated decides whether to pay a saved booking whose total is not
// stated in the offer's currency, and returns the total to report. Kiwi's
// own "price_change" says whether the price moved since check_flights in
// this session; a price that did not move is the checked price, whatever
// currency it is written in. When a price limit is set, the stated amount
// is also checked against it through the rates table. A refusal leaves the
// booking unpaid: Kiwi releases an unpaid booking on its own, nothing is
// charged, and it never becomes an order.
func acceptStated(req provider.OrderRequest, saved saveResult, stated, checked money.Money) (money.Money, error) {
	old := req.Offer.Price
	if saved.PriceChange {
		return money.Money{}, &provider.PriceChangedError{Old: old, New: stated}
	}
	if stated == (money.Money{}) {
		// Unreadable, and unchanged by Kiwi's own account: the checked price.
		return checked, nil
	}
	if max := req.MaxPrice; max != nil {
		if req.Rates == nil {
			return money.Money{}, fmt.Errorf("kiwi save_booking: total %s cannot be checked against max_price without rates: %w", stated, provider.ErrRejected)
		}
		conv, err := req.Rates.Convert(stated, max.Currency)
		if err != nil {
			return money.Money{}, fmt.Errorf("kiwi save_booking: total %s against max_price: %v: %w", stated, err, provider.ErrRejected)
		}
		if conv.Amount > max.Amount {
			return money.Money{}, &provider.PriceChangedError{Old: old, New: stated}
		}
	}
	return stated, nil
}

// bookingState sorts Kiwi's booking statuses: paid orders, bookings not
// paid yet, and the rest (cancelled, refunded, closed), which once were
// orders or may have been: never proof of absence.
func bookingState(status string) (paid, pending bool) {
	switch strings.ToLower(status) {
	case "", "confirmed", "paid", "issued":
		return true, false
	case "pending", "new", "unpaid", "waiting_for_payment", "in_progress":
		return false, true
	}
	return false, false
}
