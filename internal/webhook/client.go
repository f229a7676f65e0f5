package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// Timeout bounds one delivery: connecting, sending and reading the answer.
const Timeout = 10 * time.Second

// ErrForbiddenAddress reports a destination on a loopback, private,
// link-local or otherwise internal address.
var ErrForbiddenAddress = errors.New("webhook: destination address is not public")

// reserved are ranges no public receiver lives in, beyond those netip
// classifies: "this network", carrier-grade NAT, benchmarking, reserved.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
}

// Forbidden reports whether a is an address webhooks may not reach unless
// private destinations are allowed.
func Forbidden(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || !a.IsValid() {
		return true
	}
	for _, p := range reserved {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// NewClient returns the client deliveries go through. Unless allowPrivate,
// its dialer refuses forbidden addresses at connect time, on the address
// actually dialed after resolution, so a name that resolves (or is rebound)
// to an internal address is refused too. It uses no proxy (the proxy would
// connect instead) and follows no redirects.
func NewClient(allowPrivate bool, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || Forbidden(ap.Addr()) {
				return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
			}
			return nil
		}
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// CheckURL reports why raw may not be a webhook URL: not https:// (http://
// too when allowPrivate), no host, or a host that is, or resolves to, a
// forbidden address. A name that does not resolve now is accepted: the
// dialer checks every delivery's address anyway.
func CheckURL(ctx context.Context, raw string, allowPrivate bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return errors.New("must be an absolute https:// URL")
	}
	if u.Scheme != "https" && !(allowPrivate && u.Scheme == "http") {
		return errors.New("must be an https:// URL")
	}
	if u.User != nil {
		return errors.New("must not carry credentials")
	}
	if allowPrivate {
		return nil
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if Forbidden(a) {
			return errors.New("must not point to a loopback, private or link-local address")
		}
		return nil
	}
	lookup, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(lookup, "ip", host)
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if Forbidden(a) {
			return errors.New("must not resolve to a loopback, private or link-local address")
		}
	}
	return nil
}
