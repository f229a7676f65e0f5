package idempotency_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/reservd/reservd/internal/idempotency"
)

func TestCheckKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		key  string
		ok   bool
	}{
		{"one character", "a", true},
		{"typical", "order-7f3a/retry 2", true},
		{"255 characters", strings.Repeat("x", 255), true},
		{"255 two-byte characters", strings.Repeat("é", 255), true},
		{"empty", "", false},
		{"256 characters", strings.Repeat("x", 256), false},
		{"256 two-byte characters", strings.Repeat("é", 256), false},
		{"NUL", "a\x00b", false},
		{"newline", "a\nb", false},
		{"tab", "a\tb", false},
		{"DEL", "a\x7fb", false},
		{"C1 control", "a\u0085b", false},
		{"invalid UTF-8", "a\xffb", false},
		{"truncated UTF-8", "\xc3", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := idempotency.CheckKey(tc.key)
			if tc.ok && err != nil {
				t.Fatalf("CheckKey(%q) = %v, want nil", tc.key, err)
			}
			if !tc.ok {
				var e *idempotency.Error
				if !errors.As(err, &e) || e.Status != 400 || e.Code != "invalid_idempotency_key" {
					t.Fatalf("CheckKey(%q) = %v, want 400 invalid_idempotency_key", tc.key, err)
				}
			}
		})
	}
}

func TestRefusalsCarryTheAPICodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err        *idempotency.Error
		status     int
		code       string
		retryAfter int
	}{
		{idempotency.ErrKeyRequired, 400, "idempotency_key_required", 0},
		{idempotency.ErrKeyInvalid, 400, "invalid_idempotency_key", 0},
		{idempotency.ErrKeyReused, 422, "idempotency_key_reused", 0},
		{idempotency.ErrKeyInUse, 409, "idempotency_key_in_use", 1},
	} {
		if tc.err.Status != tc.status || tc.err.Code != tc.code || tc.err.RetryAfter != tc.retryAfter || tc.err.Message == "" {
			t.Errorf("%s = %+v, want status %d, retry after %d", tc.code, tc.err, tc.status, tc.retryAfter)
		}
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	base := idempotency.Fingerprint("POST", "/holds", []byte(`{"flight_id":1}`))
	// Stored keys outlive a deploy: the fingerprint of a request never
	// changes (sha256 of "POST /holds\n{"flight_id":1}").
	const want = "b3a49e7c5e90a46cb7b9a159f547afe7fcbda9c8742aac7318eaf49b85f19d9a"
	if base != want {
		t.Fatalf("Fingerprint = %s, want %s", base, want)
	}
	if got := idempotency.Fingerprint("POST", "/holds", []byte(`{"flight_id":1}`)); got != base {
		t.Fatalf("fingerprint not stable: %s then %s", base, got)
	}
	for _, other := range []struct{ method, uri, body string }{
		{"PUT", "/holds", `{"flight_id":1}`},
		{"POST", "/holds/x", `{"flight_id":1}`},
		{"POST", "/holds?a=1", `{"flight_id":1}`},
		{"POST", "/holds", `{"flight_id":2}`},
		{"POST", "/holds", `{"flight_id":1} `},
		{"POST", "/holds", ``},
	} {
		if fp := idempotency.Fingerprint(other.method, other.uri, []byte(other.body)); fp == base {
			t.Errorf("%s %s %q has the fingerprint of POST /holds", other.method, other.uri, other.body)
		}
	}
}

func TestHoldID(t *testing.T) {
	t.Parallel()
	id := idempotency.HoldID("alice's digest", "k1")
	if !strings.HasPrefix(id, "hld_") {
		t.Fatalf("HoldID = %q, want a hold id", id)
	}
	if again := idempotency.HoldID("alice's digest", "k1"); again != id {
		t.Errorf("HoldID not stable: %s then %s", id, again)
	}
	if idempotency.HoldID("bob's digest", "k1") == id || idempotency.HoldID("alice's digest", "k2") == id {
		t.Error("HoldID ignores its secret or its key")
	}
	c := idempotency.Completion[int]{Secret: "alice's digest", Key: "k1"}
	if c.HoldID() != id {
		t.Errorf("Completion.HoldID = %s, want %s", c.HoldID(), id)
	}
}

func TestStorable(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]bool{
		200: true, 201: true, 202: true, 400: true, 402: true, 404: true, 422: true,
		409: false, 429: false, 500: false, 502: false, 503: false,
	} {
		if got := idempotency.Storable(status); got != want {
			t.Errorf("Storable(%d) = %v, want %v", status, got, want)
		}
	}
}
