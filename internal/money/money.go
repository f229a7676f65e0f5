// Package money represents amounts of money as integers in a currency's minor
// units, the way the public API carries them. Floats never hold money.
package money

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Money is an amount in the minor units of an ISO 4217 currency
// (cents for USD, yen for JPY).
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// MaxAmount bounds an amount the API accepts: a trillion minor units (ten
// billion dollars, a trillion yen). It leaves room to add a million of them
// without leaving int64, so that totals of bounded prices cannot overflow.
const MaxAmount = 1_000_000_000_000

// ErrOverflow reports arithmetic whose exact result does not fit an int64.
var ErrOverflow = errors.New("amount overflows")

// ErrUnknownCurrency reports a currency code that is not in the ISO 4217 table.
var ErrUnknownCurrency = errors.New("unknown currency")

// exponents is the ISO 4217 minor-unit exponent of the currencies we accept.
var exponents = map[string]int{
	"AED": 2, "ARS": 2, "AUD": 2, "BGN": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2,
	"CLP": 0, "CNY": 2, "COP": 2, "CZK": 2, "DKK": 2, "EGP": 2, "EUR": 2, "GBP": 2,
	"HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "ISK": 0, "JOD": 3, "JPY": 0,
	"KRW": 0, "KWD": 3, "MAD": 2, "MXN": 2, "MYR": 2, "NOK": 2, "NZD": 2, "OMR": 3,
	"PEN": 2, "PHP": 2, "PLN": 2, "QAR": 2, "RON": 2, "SAR": 2, "SEK": 2, "SGD": 2,
	"THB": 2, "TND": 3, "TRY": 2, "TWD": 2, "UAH": 2, "USD": 2, "VND": 0, "ZAR": 2,
}

// Exponent returns the number of minor-unit digits of currency.
func Exponent(currency string) (int, error) {
	e, ok := exponents[currency]
	if !ok {
		return 0, fmt.Errorf("%w %q", ErrUnknownCurrency, currency)
	}
	return e, nil
}

// Known reports whether currency is a supported ISO 4217 code.
func Known(currency string) bool {
	_, ok := exponents[currency]
	return ok
}

// Add returns m+o; both must share a currency. A sum that does not fit an
// int64 is ErrOverflow, never a wrapped-around amount.
func (m Money) Add(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return Money{}, fmt.Errorf("add %s to %s: currency mismatch", o.Currency, m.Currency)
	}
	sum, ok := addInt64(m.Amount, o.Amount)
	if !ok {
		return Money{}, fmt.Errorf("add %s to %s: %w", o, m, ErrOverflow)
	}
	return Money{Amount: sum, Currency: m.Currency}, nil
}

// addInt64 returns a+b, and false when that overflows.
func addInt64(a, b int64) (int64, bool) {
	s := a + b
	// Overflow happened iff a and b share a sign that s does not.
	return s, (a >= 0) != (b >= 0) || (s >= 0) == (a >= 0)
}

func (m Money) String() string { return fmt.Sprintf("%d %s", m.Amount, m.Currency) }

// ParseDecimal reads a decimal string such as "123.45" as an exact amount of
// currency, the way providers quote prices. It never goes through a float and
// refuses more fraction digits than the currency has.
func ParseDecimal(s, currency string) (Money, error) {
	exp, err := Exponent(currency)
	if err != nil {
		return Money{}, err
	}
	orig := s
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || (hasDot && frac == "") || len(frac) > exp || strings.ContainsAny(whole+frac, "+-eE ") {
		return Money{}, fmt.Errorf("amount %q is not a decimal with at most %d fraction digits for %s", orig, exp, currency)
	}
	frac += strings.Repeat("0", exp-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return Money{}, fmt.Errorf("amount %q: %w", orig, err)
	}
	if neg {
		n = -n
	}
	return Money{Amount: n, Currency: currency}, nil
}

// Decimal formats m as a decimal string in major units ("123.45").
func (m Money) Decimal() string {
	exp, err := Exponent(m.Currency)
	if err != nil || exp == 0 {
		return strconv.FormatInt(m.Amount, 10)
	}
	// The magnitude as unsigned, so that the most negative amount has one.
	sign, n := "", uint64(m.Amount) // #nosec G115 -- two's complement: negated below, so MinInt64 has its magnitude
	if m.Amount < 0 {
		sign, n = "-", -n
	}
	s := fmt.Sprintf("%0*d", exp+1, n)
	return sign + s[:len(s)-exp] + "." + s[len(s)-exp:]
}
