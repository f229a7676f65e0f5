// Package id makes the opaque public identifiers of holds, bookings, trips
// and offers: a type prefix and 128 random bits, so ids cannot be guessed.
package id

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
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
// Derive returns the id that parts name under secret: the same secret and
// parts give the same id, in the same form as New's, and without the secret
// the id is as unpredictable as New's (HMAC-SHA-256). It lets a retried
// request find the row its first attempt wrote.
func Derive(prefix string, secret []byte, parts ...string) string {
	h := hmac.New(sha256.New, secret)
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return prefix + "_" + strings.ToLower(enc.EncodeToString(h.Sum(nil)[:16]))
}

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
