package webhook

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"evt_1","type":"hold.created"}`)
	now := time.Unix(2_100_000_000, 0)
	h := Sign("whsec_a", now, body)
	if !strings.HasPrefix(h, "t=2100000000,v1=") || len(h) != len("t=2100000000,v1=")+64 {
		t.Fatalf("Sign = %q", h)
	}
	for _, c := range []struct {
		name   string
		header string
		secret string
		body   []byte
		at     time.Time
		want   error
	}{
		{"valid", h, "whsec_a", body, now, nil},
		{"valid within tolerance", h, "whsec_a", body, now.Add(4 * time.Minute), nil},
		{"one of several v1", "t=2100000000,v1=00," + strings.TrimPrefix(h, "t=2100000000,"), "whsec_a", body, now, nil},
		{"too old", h, "whsec_a", body, now.Add(6 * time.Minute), ErrSignatureOld},
		{"from the future", h, "whsec_a", body, now.Add(-6 * time.Minute), ErrSignatureOld},
		{"other secret", h, "whsec_b", body, now, ErrSignature},
		{"tampered body", h, "whsec_a", append([]byte(" "), body...), now, ErrSignature},
		{"timestamp changed", strings.Replace(h, "t=2100000000", "t=2100000001", 1), "whsec_a", body, now, ErrSignature},
		{"no v1", "t=2100000000", "whsec_a", body, now, ErrSignatureFormat},
		{"garbage", "nonsense", "whsec_a", body, now, ErrSignatureFormat},
	} {
		if err := verifyAt(c.header, c.secret, c.body, Tolerance, c.at); !errors.Is(err, c.want) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
	}
	if err := Verify(Sign("s", time.Now(), body), "s", body, Tolerance); err != nil {
		t.Errorf("Verify of a fresh signature: %v", err)
	}
	if a, b := NewSecret(), NewSecret(); a == b || !strings.HasPrefix(a, "whsec_") || len(a) != 6+64 {
		t.Errorf("NewSecret = %q, %q", a, b)
	}
}

func TestForbidden(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"127.0.0.1": true, "10.1.2.3": true, "172.16.0.1": true, "192.168.1.1": true, "169.254.169.254": true,
		"0.0.0.0": true, "100.64.0.1": true, "224.0.0.1": true, "255.255.255.255": true,
		"::1": true, "fe80::1": true, "fc00::1": true, "::": true, "::ffff:127.0.0.1": true, "ff02::1": true,
		"93.184.216.34": false, "8.8.8.8": false, "2606:4700:4700::1111": false,
	} {
		if got := Forbidden(netip.MustParseAddr(s)); got != want {
			t.Errorf("Forbidden(%s) = %v, want %v", s, got, want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	for raw, ok := range map[string]bool{
		"https://93.184.216.34/hook":     true,
		"http://93.184.216.34/hook":      false,
		"ftp://93.184.216.34/":           false,
		"https://127.0.0.1/hook":         false,
		"https://[::1]:8443/":            false,
		"https://10.0.0.7/":              false,
		"https://169.254.169.254/latest": false,
		"https://localhost:8443/hook":    false, // a name that resolves to loopback
		"https://user:pw@93.184.216.34/": false,
		"https:///nohost":                false,
		"not a url":                      false,
	} {
		if err := CheckURL(ctx, raw, false); (err == nil) != ok {
			t.Errorf("CheckURL(%q) = %v, want ok=%v", raw, err, ok)
		}
	}
	for _, raw := range []string{"http://127.0.0.1:9/hook", "https://localhost/"} {
		if err := CheckURL(ctx, raw, true); err != nil {
			t.Errorf("CheckURL(%q) with private allowed = %v", raw, err)
		}
	}
}

// TestClientRefusesPrivateAtConnect: the check is on the address dialed,
// so a name resolving to loopback is refused at delivery time too.
func TestClientRefusesPrivateAtConnect(t *testing.T) {
	t.Parallel()
	hits := 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits++ }))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	c := NewClient(false, 2*time.Second)
	for _, u := range []string{"https://localhost:" + port + "/", srv.URL} {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, u, nil)
		_, err := c.Do(req)
		if !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("POST %s = %v, want ErrForbiddenAddress", u, err)
		}
	}
	if hits != 0 {
		t.Errorf("the receiver on loopback was reached %d times", hits)
	}
	// With private addresses allowed the same client reaches it (and
	// follows no redirect).
	redirect := httptest.NewServer(http.RedirectHandler(srv.URL, http.StatusFound))
	t.Cleanup(redirect.Close)
	res, err := NewClient(true, 2*time.Second).Post(redirect.URL, "application/json", nil)
	if err != nil || res.StatusCode != http.StatusFound {
		t.Fatalf("POST with private allowed = %v, %v; want the 302 itself", res, err)
	}
	res.Body.Close()
}
