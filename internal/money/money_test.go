package money

import "testing"

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
	for _, s := range []string{"123.45", "0", "-1.5", "1e9", "..", "9999999999999999.99"} {
		f.Add(s)
	}
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
