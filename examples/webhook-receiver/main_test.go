package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/webhook"
)

func sign(secret string, t int64, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.%s", t, body)
	return hex.EncodeToString(mac.Sum(nil))
}

func TestVerify(t *testing.T) {
	const secret, body = "whsec_test", `{"id":"evt_1","type":"hold.created"}`
	now := time.Unix(1_800_000_000, 0)
	ts := now.Unix() - 10
	good := fmt.Sprintf("t=%d,v1=%s", ts, sign(secret, ts, body))
	cases := []struct {
		name, header, body string
		ok                 bool
	}{
		{"valid", good, body, true},
		{"one of two v1 values matches (secret rotation)", fmt.Sprintf("t=%d,v1=%s,v1=%s", ts, sign("whsec_old", ts, body), sign(secret, ts, body)), body, true},
		{"tampered body", good, body + " ", false},
		{"other secret", fmt.Sprintf("t=%d,v1=%s", ts, sign("whsec_other", ts, body)), body, false},
		{"six minutes old", fmt.Sprintf("t=%d,v1=%s", ts-350, sign(secret, ts-350, body)), body, false},
		{"no timestamp", "v1=" + sign(secret, ts, body), body, false},
		{"no signature", fmt.Sprintf("t=%d", ts), body, false},
		{"empty header", "", body, false},
	}
	for _, c := range cases {
		err := verify(c.header, []byte(c.body), secret, now)
		if (err == nil) != c.ok {
			t.Errorf("%s: verify = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

// TestVerifiesWhatReservdSigns: the receiver accepts the signature reservd
// itself puts on a delivery (internal/webhook.Sign), so the two cannot drift.
func TestVerifiesWhatReservdSigns(t *testing.T) {
	const secret, body = "whsec_test", `{"id":"evt_1","type":"booking.confirmed"}`
	now := time.Now()
	if err := verify(webhook.Sign(secret, now, []byte(body)), []byte(body), secret, now); err != nil {
		t.Fatalf("the receiver refuses reservd's signature: %v", err)
	}
}
