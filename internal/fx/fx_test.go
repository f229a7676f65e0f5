package fx

import (
	"errors"
	"testing"

	"github.com/reservd/reservd/internal/money"
)

func TestConvert(t *testing.T) {
	t.Parallel()
	tab, err := Parse([]byte(`{"date": "2026-11-25", "base": "USD", "rates": {"USD": "1", "EUR": "0.95", "JPY": "150", "KWD": "0.3"}}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   money.Money
		to   string
		want int64
	}{
		{money.Money{Amount: 10000, Currency: "USD"}, "EUR", 9500},
		{money.Money{Amount: 9500, Currency: "EUR"}, "USD", 10000},
		{money.Money{Amount: 10000, Currency: "USD"}, "JPY", 15000}, // 100.00 USD = 15000 JPY (exponent 0)
		{money.Money{Amount: 15000, Currency: "JPY"}, "USD", 10000}, // and back
		{money.Money{Amount: 10000, Currency: "USD"}, "KWD", 30000}, // 30.000 KWD (exponent 3)
		{money.Money{Amount: 1, Currency: "USD"}, "EUR", 1},         // 0.0095 EUR → 0.01 (rounds up)
		{money.Money{Amount: 10, Currency: "USD"}, "EUR", 10},       // 0.095 → 0.10 (half-even: 9.5 → 10)
		{money.Money{Amount: 30, Currency: "USD"}, "EUR", 28},       // 0.285 → 0.28 (28.5 → 28, even)
		{money.Money{Amount: 12345, Currency: "USD"}, "USD", 12345},
	}
	for _, tt := range tests {
		got, err := tab.Convert(tt.in, tt.to)
		if err != nil || got != (money.Money{Amount: tt.want, Currency: tt.to}) {
			t.Errorf("Convert(%v, %s) = %v, %v; want %d", tt.in, tt.to, got, err, tt.want)
		}
	}
	if _, err := tab.Convert(money.Money{Amount: 1, Currency: "USD"}, "GBP"); !errors.Is(err, ErrNoRate) {
		t.Errorf("Convert to a currency without a rate: %v", err)
	}
}

func TestDefaultTable(t *testing.T) {
	t.Parallel()
	tab := Default()
	if tab.Base != "USD" || tab.Date.IsZero() {
		t.Fatalf("default table = %+v", tab)
	}
	for _, cur := range []string{"EUR", "GBP", "JPY", "CAD"} {
		if _, err := tab.Convert(money.Money{Amount: 100, Currency: "USD"}, cur); err != nil {
			t.Errorf("default table cannot convert to %s: %v", cur, err)
		}
	}
}

func TestParseRejectsBadTables(t *testing.T) {
	t.Parallel()
	for _, b := range []string{
		`{"date": "yesterday", "base": "USD", "rates": {"USD": "1"}}`,
		`{"date": "2026-11-25", "base": "USD", "rates": {"USD": "1", "EUR": "-1"}}`,
		`{"date": "2026-11-25", "base": "USD", "rates": {"USD": "1", "XYZ": "2"}}`,
		`{"date": "2026-11-25", "base": "USD", "rates": {"EUR": "0.9"}}`,
		`{"date": "2026-11-25", "base": "USD", "rates": {"USD": "1", "EUR": 0.9}}`,
	} {
		if _, err := Parse([]byte(b)); err == nil {
			t.Errorf("Parse accepted %s", b)
		}
	}
}
