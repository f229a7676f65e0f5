package idempotency

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"unicode"
	"unicode/utf8"

	"github.com/reservd/reservd/internal/id"
)

// MaxKeyLen is the longest Idempotency-Key, in characters.
const MaxKeyLen = 255

// Error is a refusal the API answers with its own status and code.
type Error struct {
	Status     int
	Code       string
	Message    string
	RetryAfter int // seconds, when non-zero
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// The refusals of API.md.
var (
	ErrKeyRequired = &Error{Status: 400, Code: "idempotency_key_required", Message: "This request needs an Idempotency-Key header (1 to 255 characters)"}
	ErrKeyInvalid  = &Error{Status: 400, Code: "invalid_idempotency_key", Message: "Idempotency-Key must be 1 to 255 characters"}
	ErrKeyReused   = &Error{Status: 422, Code: "idempotency_key_reused", Message: "This Idempotency-Key was used for a different request"}
	ErrKeyInUse    = &Error{Status: 409, Code: "idempotency_key_in_use", Message: "A request with this Idempotency-Key is still running; retry shortly", RetryAfter: 1}
)

// CheckKey returns ErrKeyInvalid unless key is 1 to MaxKeyLen characters of
// valid UTF-8 without control characters: a key is echoed in logs and
// compared byte for byte, so only printable text is accepted.
func CheckKey(key string) error {
	if key == "" || len(key) > 4*MaxKeyLen || !utf8.ValidString(key) || utf8.RuneCountInString(key) > MaxKeyLen {
		return ErrKeyInvalid
	}
	for _, r := range key {
		if unicode.IsControl(r) {
			return ErrKeyInvalid
		}
	}
	return nil
}

// Fingerprint identifies a request for its key: the same method, path with
// query, and body give the same fingerprint, anything else another one.
func Fingerprint(method, requestURI string, body []byte) string {
	sum := sha256.New()
	io.WriteString(sum, method+" "+requestURI+"\n") // #nosec G104 -- hash.Hash's Write never returns an error
	sum.Write(body)
	return hex.EncodeToString(sum.Sum(nil))
}

// HoldID is the id of the hold that an API key asks for with this
// Idempotency-Key: a retry, or a twin sent while the first is running,
// names the same hold, so the database tells them apart from a new hold.
// secret is the API key's digest, which only the key's holder can compute:
// to anyone else the id is as unpredictable as holds.NewID's.
func HoldID(secret, key string) string {
	return id.Derive("hld", []byte(secret), key)
}
