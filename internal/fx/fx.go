// Package fx converts money between currencies through a dated table of
// exchange rates, exactly: rates are decimal strings read as rationals, and
// the one rounding, to the target currency's minor unit, is half-to-even.
// Floats never touch money.
package fx

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"

	"github.com/reservd/reservd/internal/money"
)

//go:embed rates.json
var defaultRates []byte

// ErrNoRate reports a currency the table has no rate for.
var ErrNoRate = errors.New("no exchange rate")

// Table is a set of rates against one base currency on one date.
type Table struct {
	Date  time.Time
	Base  string
	rates map[string]*big.Rat // units of the currency per one unit of Base
}

type tableJSON struct {
	Date  string            `json:"date"`
	Base  string            `json:"base"`
	Rates map[string]string `json:"rates"`
}

// Default returns the table shipped with reservd.
func Default() *Table {
	t, err := Parse(defaultRates)
	if err != nil {
		panic("fx: shipped rates: " + err.Error())
	}
	return t
}

// Load reads a table from a JSON file of the shipped table's form; an empty
// path returns the shipped table.
func Load(path string) (*Table, error) {
	if path == "" {
		return Default(), nil
	}
	b, err := os.ReadFile(path) // #nosec G304 -- FX_RATES_FILE, set by the operator
	if err != nil {
		return nil, fmt.Errorf("read rates: %w", err)
	}
	return Parse(b)
}

// Parse reads a table: {"date": "2026-11-25", "base": "USD", "rates": {"EUR": "0.95", …}}.
func Parse(b []byte) (*Table, error) {
	var j tableJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("parse rates: %w", err)
	}
	date, err := time.Parse(time.DateOnly, j.Date)
	if err != nil {
		return nil, fmt.Errorf("rates date %q: %w", j.Date, err)
	}
	t := &Table{Date: date, Base: j.Base, rates: map[string]*big.Rat{}}
	for cur, s := range j.Rates {
		if !money.Known(cur) {
			return nil, fmt.Errorf("rates: %w %q", money.ErrUnknownCurrency, cur)
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok || r.Sign() <= 0 {
			return nil, fmt.Errorf("rates: %s rate %q is not a positive decimal", cur, s)
		}
		t.rates[cur] = r
	}
	if r, ok := t.rates[t.Base]; !ok || r.Cmp(big.NewRat(1, 1)) != 0 {
		return nil, fmt.Errorf("rates: the base %s must have rate 1", t.Base)
	}
	return t, nil
}

// Convert returns m in currency to, rounded half-to-even to its minor unit.
func (t *Table) Convert(m money.Money, to string) (money.Money, error) {
	if m.Currency == to {
		return m, nil
	}
	from, ok := t.rates[m.Currency]
	if !ok {
		return money.Money{}, fmt.Errorf("%w for %s", ErrNoRate, m.Currency)
	}
	target, ok := t.rates[to]
	if !ok {
		return money.Money{}, fmt.Errorf("%w for %s", ErrNoRate, to)
	}
	fromExp, err := money.Exponent(m.Currency)
	if err != nil {
		return money.Money{}, err
	}
	toExp, err := money.Exponent(to)
	if err != nil {
		return money.Money{}, err
	}
	// minor_to = minor_from / 10^fromExp * (target/from) * 10^toExp
	v := new(big.Rat).SetInt64(m.Amount)
	v.Mul(v, target)
	v.Quo(v, from)
	v.Mul(v, new(big.Rat).SetFrac(pow10(toExp), pow10(fromExp)))
	n, err := roundHalfEven(v)
	if err != nil {
		return money.Money{}, err
	}
	return money.Money{Amount: n, Currency: to}, nil
}

func pow10(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }

func roundHalfEven(r *big.Rat) (int64, error) {
	num, den := r.Num(), r.Denom()
	q, rem := new(big.Int).QuoRem(num, den, new(big.Int))
	twice := new(big.Int).Mul(new(big.Int).Abs(rem), big.NewInt(2))
	switch c := twice.Cmp(den); {
	case c > 0, c == 0 && q.Bit(0) == 1:
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	if !q.IsInt64() {
		return 0, errors.New("converted amount out of range")
	}
	return q.Int64(), nil
}
