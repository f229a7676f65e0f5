package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/webhook"
)

// README:begin
// verify reports whether a delivery's Reservd-Signature header is valid for
// body, the raw request body, under the endpoint's secret (whsec_…).
func verify(header, secret string, body []byte) bool {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return false // malformed, or too old to trust (a replay)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := hex.EncodeToString(mac.Sum(nil))
	for _, sig := range sigs {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

// README:end

// TestREADMEVerifier: the README's receiver-side snippet is this file's
// verify, word for word, and it agrees with the signer.
func TestREADMEVerifier(t *testing.T) {
	t.Parallel()
	self, err := os.ReadFile("readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(self), "// README:begin\n")
	snippet, _, _ := strings.Cut(rest, "\n// README:end")
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), snippet) {
		t.Errorf("README.md does not carry verify as in readme_test.go:\n%s", snippet)
	}
	body := []byte(`{"id":"evt_x","type":"hold.expired","created_at":"2036-01-01T00:00:00Z","data":{}}`)
	secret := webhook.NewSecret()
	h := webhook.Sign(secret, time.Now(), body)
	if !verify(h, secret, body) {
		t.Error("verify refuses a fresh signature")
	}
	if verify(h, secret, append(body, ' ')) || verify(h, "whsec_other", body) ||
		verify(webhook.Sign(secret, time.Now().Add(-6*time.Minute), body), secret, body) {
		t.Error("verify accepts a changed body, another secret or an old signature")
	}
}
