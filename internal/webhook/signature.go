package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries a delivery's signature.
const SignatureHeader = "Reservd-Signature"

// Tolerance is how old a signature receivers accept.
const Tolerance = 5 * time.Minute

// Sign returns the Reservd-Signature value for body sent at t under secret:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Errors Verify returns.
var (
	ErrSignatureFormat = errors.New("webhook: malformed Reservd-Signature")
	ErrSignatureOld    = errors.New("webhook: signature timestamp outside the tolerance")
	ErrSignature       = errors.New("webhook: no v1 signature matches")
)

// Verify checks a Reservd-Signature header against body and secret: its
// timestamp must be within tolerance of now and one of its v1 values must
// be the HMAC of "<t>.<body>" (compared in constant time).
func Verify(header, secret string, body []byte, tolerance time.Duration) error {
	return verifyAt(header, secret, body, tolerance, time.Now())
}

func verifyAt(header, secret string, body []byte, tolerance time.Duration, now time.Time) error {
	var (
		ts   string
		sigs []string
	)
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrSignatureFormat
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrSignatureFormat
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrSignatureOld
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return ErrSignature
}

// NewSecret returns a fresh endpoint secret, "whsec_" and 32 random bytes in hex.
func NewSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return "whsec_" + hex.EncodeToString(b[:])
}
