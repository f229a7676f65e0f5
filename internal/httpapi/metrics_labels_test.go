package httpapi_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// TestMetricLabelsBounded sends requests with made-up methods to made-up
// paths, without a key, and checks that every label of the access histogram
// still comes from a fixed set: a label per client-chosen method would let
// anyone grow /metrics (and the process) without bound.
func TestMetricLabelsBounded(t *testing.T) {
	t.Parallel()
	a := newAPI(t, engines["sqlite"])
	for i := range 50 {
		method := fmt.Sprintf("X%dMADEUP", i)
		a.do(method, fmt.Sprintf("/nowhere/%d", i), "", nil)
		a.do(method, "/holds", "", nil) // a known path, an unknown method
	}
	a.do("get", "/flights", "", nil) // methods are case-sensitive: "get" is not GET
	r := a.get("/metrics")
	if r.status != 200 {
		t.Fatalf("GET /metrics = %d", r.status)
	}
	methods := map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true,
		"OPTIONS": true, "CONNECT": true, "TRACE": true, "other": true}
	routeRe := regexp.MustCompile(`^(unmatched|/[a-z/{}$.]*)$`)
	lineRe := regexp.MustCompile(`^reservd_http_request_duration_seconds_count\{code="([^"]*)",method="([^"]*)",route="([^"]*)"\}`)
	seen, other := 0, false
	for line := range strings.SplitSeq(string(r.body), "\n") {
		if !strings.HasPrefix(line, "reservd_http_request_duration_seconds_count") {
			continue
		}
		m := lineRe.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("unexpected series: %s", line)
		}
		seen++
		if !methods[m[2]] {
			t.Errorf("method label %q is not from the fixed set: %s", m[2], line)
		}
		if !routeRe.MatchString(m[3]) {
			t.Errorf("route label %q is not a route pattern: %s", m[3], line)
		}
		other = other || m[2] == "other"
	}
	if !other || seen > 10 {
		t.Errorf("%d series, a method \"other\" among them: %v; want the made-up methods counted as \"other\" in a handful of series", seen, other)
	}
}
