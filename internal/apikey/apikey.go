// Package apikey issues and recognises API keys. A key is shown once, when it
// is created; only its SHA-256 digest is stored. Keys carry 256 random bits,
// so a fast hash is enough: there is nothing to brute-force.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"strings"
)

// ErrNotFound reports a key that is unknown or revoked.
var ErrNotFound = errors.New("api key not found")

// Prefix starts every key so that leaked keys are easy to recognise in scans.
const Prefix = "rsv_"

// Principal is who a request acts for.
type Principal struct {
	KeyID int64
	Name  string
	Admin bool
	// Digest is the key's digest, set when a request authenticated with
	// it: a secret that derives ids only this key can name (idempotency.HoldID).
	Digest string
}

var enc = base32.StdEncoding.WithPadding(base32.NoPadding)

// Generate returns a new key and the digest to store for it.
func Generate() (key string, digest []byte) {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand panics instead of returning an error)
	key = Prefix + strings.ToLower(enc.EncodeToString(b[:]))
	return key, Digest(key)
}

// Digest is what the store keeps and looks keys up by.
func Digest(key string) []byte {
	d := sha256.Sum256([]byte(key))
	return d[:]
}
