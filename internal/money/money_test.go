package money

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParseDecimal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, cur string
		want    int64
		ok      bool
	}{
		{"123.45", "USD", 12345, true},
		{"123.4", "USD", 12340, true},
		{"123", "USD", 12300, true},
		{"0.07", "EUR", 7, true},
		{"-5.10", "GBP", -510, true},
		{"1500", "JPY", 1500, true},
		{"12.345", "KWD", 12345, true},
		{"1.5", "JPY", 0, false},
		{"123.456", "USD", 0, false},
		{"1e3", "USD", 0, false},
		{"", "USD", 0, false},
		{"12.", "USD", 0, false},
		{".5", "USD", 0, false},
		{"abc", "USD", 0, false},
		{"1.00", "XYZ", 0, false},
		{"99999999999999999999", "USD", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseDecimal(tt.in, tt.cur)
		if (err == nil) != tt.ok || (tt.ok && got != (Money{Amount: tt.want, Currency: tt.cur})) {
			t.Errorf("ParseDecimal(%q, %s) = %v, %v; want %d ok=%v", tt.in, tt.cur, got, err, tt.want, tt.ok)
		}
		if tt.ok {
			back, err := ParseDecimal(got.Decimal(), tt.cur)
			if err != nil || back != got {
				t.Errorf("round trip of %v via %q = %v, %v", got, got.Decimal(), back, err)
			}
		}
	}
}

func FuzzParseDecimal(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseDecimal(s, "USD")
		if err != nil {
			return
		}
		back, err := ParseDecimal(m.Decimal(), "USD")
		if err != nil || back != m {
			t.Fatalf("%q → %v → %q → %v, %v", s, m, m.Decimal(), back, err)
		}
	})
}

// FuzzDecimal: every amount prints as a plain decimal with exactly the
// currency's fraction digits, which ParseDecimal reads back.
func FuzzDecimal(f *testing.F) {
	f.Fuzz(func(t *testing.T, amount int64, currency string) {
		exp, err := Exponent(currency)
		if err != nil {
			return
		}
		m := Money{Amount: amount, Currency: currency}
		s := m.Decimal()
		digits := strings.TrimPrefix(s, "-")
		whole, frac, _ := strings.Cut(digits, ".")
		if (amount < 0) != strings.HasPrefix(s, "-") || whole == "" || len(frac) != exp ||
			strings.Trim(whole+frac, "0123456789") != "" || (len(whole) > 1 && whole[0] == '0') {
			t.Fatalf("%v prints as %q", m, s)
		}
		if amount == math.MinInt64 {
			return // its magnitude is out of ParseDecimal's range
		}
		if back, err := ParseDecimal(s, currency); err != nil || back != m {
			t.Fatalf("%v → %q → %v, %v", m, s, back, err)
		}
	})
}

func TestAddChecksOverflow(t *testing.T) {
	t.Parallel()
	usd := func(n int64) Money { return Money{Amount: n, Currency: "USD"} }
	for _, c := range []struct {
		a, b int64
		ok   bool
	}{
		{1, 2, true},
		{math.MaxInt64, 0, true},
		{math.MaxInt64 - 1, 1, true},
		{math.MinInt64, math.MaxInt64, true},
		{-1, math.MinInt64 + 1, true},
		{math.MaxInt64, math.MaxInt64, false}, // two seats at the maximum: -2 without the check
		{math.MaxInt64, 1, false},
		{math.MinInt64, -1, false},
		{math.MinInt64, math.MinInt64, false},
	} {
		got, err := usd(c.a).Add(usd(c.b))
		switch {
		case c.ok && (err != nil || got != usd(c.a+c.b)):
			t.Errorf("%d + %d = %v, %v", c.a, c.b, got, err)
		case !c.ok && !errors.Is(err, ErrOverflow):
			t.Errorf("%d + %d = %v, %v; want ErrOverflow", c.a, c.b, got, err)
		}
	}
	// A million amounts at the bound the API accepts still add up exactly.
	total := usd(0)
	for range 1_000_000 {
		var err error
		if total, err = total.Add(usd(MaxAmount)); err != nil {
			t.Fatal(err)
		}
	}
	if total.Amount != 1_000_000*MaxAmount {
		t.Errorf("a million times MaxAmount = %d", total.Amount)
	}
}
