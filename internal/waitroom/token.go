package waitroom

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrTokenInvalid reports a Queue-Token that is forged, expired, or for
// another flight or customer.
var ErrTokenInvalid = errors.New("queue token invalid")

// MinSecretLen is the shortest signing secret accepted: 32 bytes, the size
// of HMAC-SHA-256's output.
const MinSecretLen = 32

// Signer signs and verifies Queue-Tokens with one secret.
type Signer struct {
	secret []byte
}

// NewSigner returns a signer for secret, which must be at least
// MinSecretLen bytes.
func NewSigner(secret []byte) (*Signer, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("queue token secret: %d bytes, want at least %d", len(secret), MinSecretLen)
	}
	return &Signer{secret: append([]byte(nil), secret...)}, nil
}

var b64 = base64.RawURLEncoding

// Claims is what a token grants: holds on FlightID by KeyID until
// ExpiresAt, during the sale that opened at SaleOpensAt (a sale put anew
// with another opens_at does not honour the old sale's tokens).
type Claims struct {
	TicketID    string
	FlightID    int64
	KeyID       int64
	SaleOpensAt time.Time
	ExpiresAt   time.Time
}

// payload is the signed text: versioned, one field per '|' (a ticket id
// never contains one), times in Unix milliseconds.
func (c Claims) payload() string {
	return "v1|" + c.TicketID + "|" + strconv.FormatInt(c.FlightID, 10) + "|" +
		strconv.FormatInt(c.KeyID, 10) + "|" + strconv.FormatInt(c.SaleOpensAt.UnixMilli(), 10) + "|" +
		strconv.FormatInt(c.ExpiresAt.UnixMilli(), 10)
}

func (s *Signer) mac(payload string) []byte {
	h := hmac.New(sha256.New, s.secret)
	h.Write([]byte(payload))
	return h.Sum(nil)
}

// Sign returns the token for c.
func (s *Signer) Sign(c Claims) string {
	p := c.payload()
	return b64.EncodeToString([]byte(p)) + "." + b64.EncodeToString(s.mac(p))
}

// Verify checks that token is one this secret signed, for flightID, keyID
// and the sale that opens at saleOpensAt, and unexpired at now. It reads
// nothing but the token.
func (s *Signer) Verify(token string, flightID, keyID int64, saleOpensAt, now time.Time) (Claims, error) {
	if len(token) > 512 {
		return Claims{}, ErrTokenInvalid
	}
	enc, sig, ok := strings.Cut(token, ".")
	if !ok {
		return Claims{}, ErrTokenInvalid
	}
	p, err1 := b64.DecodeString(enc)
	mac, err2 := b64.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.mac(string(p))) {
		return Claims{}, ErrTokenInvalid
	}
	f := strings.Split(string(p), "|")
	if len(f) != 6 || f[0] != "v1" {
		return Claims{}, ErrTokenInvalid
	}
	fid, err1 := strconv.ParseInt(f[2], 10, 64)
	kid, err2 := strconv.ParseInt(f[3], 10, 64)
	opens, err3 := strconv.ParseInt(f[4], 10, 64)
	exp, err4 := strconv.ParseInt(f[5], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return Claims{}, ErrTokenInvalid
	}
	c := Claims{TicketID: f[1], FlightID: fid, KeyID: kid, SaleOpensAt: time.UnixMilli(opens).UTC(), ExpiresAt: time.UnixMilli(exp).UTC()}
	if c.FlightID != flightID || c.KeyID != keyID || !c.SaleOpensAt.Equal(saleOpensAt.Truncate(time.Millisecond)) || !now.Before(c.ExpiresAt) {
		return Claims{}, ErrTokenInvalid
	}
	return c, nil
}
