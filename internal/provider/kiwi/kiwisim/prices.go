package kiwisim

import "github.com/reservd/reservd/internal/provider/simkit"

// quote prices an amount of the inventory (EUR minor units) in currency at
// the shipped rates, as Kiwi converts its EUR prices: 210.67 EUR is not
// 210.67 USD, nor 21067 JPY.
func quote(eurMinor int64, currency string) int64 {
	return simkit.Convert(eurMinor, "EUR", currency)
}
