// Package id makes the opaque public identifiers of holds, bookings, trips
// and offers: a type prefix and 128 random bits, so ids cannot be guessed.
package id

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

var enc = base32.StdEncoding.WithPadding(base32.NoPadding)

// New returns prefix + "_" + 26 lowercase base32 characters of randomness.
func New(prefix string) string {
	var b [16]byte
	rand.Read(b[:])
	return prefix + "_" + strings.ToLower(enc.EncodeToString(b[:]))
}

// Valid reports whether s has the form New(prefix) produces.
func Valid(prefix, s string) bool {
	rest, ok := strings.CutPrefix(s, prefix+"_")
	if !ok || len(rest) != 26 {
		return false
	}
	for _, c := range rest {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
