package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/reservd/reservd/internal/testdb"
)

// The files under deploy/, relative to this package.
const (
	dashboardFile = "../../deploy/grafana/reservd.json"
	alertsFile    = "../../deploy/prometheus/alerts.yml"
)

// metricRe finds the metric names in a PromQL expression: reservd's own,
// and the Go runtime and process collectors'.
var metricRe = regexp.MustCompile(`(?:^|[^a-zA-Z0-9_:$])((?:reservd|go|process)_[a-zA-Z0-9_:]+)`)

func metricNames(expr string) []string {
	var out []string
	for _, m := range metricRe.FindAllStringSubmatch(expr, -1) {
		out = append(out, m[1])
	}
	return out
}

// dashboardExprs returns every query of the Grafana dashboard: panel
// targets' expr and template variables' queries.
func dashboardExprs(t testing.TB) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string
		UID    string
		Panels []struct {
			ID      int
			Type    string
			Title   string
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct {
				Name       string
				Type       string
				Definition string
			}
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("%s is not JSON: %v", dashboardFile, err)
	}
	if dash.Title == "" || dash.UID == "" || len(dash.Panels) == 0 {
		t.Fatalf("%s: no title, uid or panels", dashboardFile)
	}
	exprs := map[string][]string{}
	ids := map[int]bool{}
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("dashboard: panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("dashboard panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs["panel "+p.Title] = append(exprs["panel "+p.Title], tg.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		if v.Type == "query" {
			exprs["variable "+v.Name] = append(exprs["variable "+v.Name], v.Definition)
		}
	}
	return exprs
}

type alertRule struct {
	Alert       string
	Expr        string
	For         string
	Labels      map[string]string
	Annotations map[string]string
}

func alertRules(t testing.TB) []alertRule {
	t.Helper()
	raw, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string
			Rules []alertRule
		}
	}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	var rules []alertRule
	for _, g := range file.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("%s: a group without a name or rules", alertsFile)
		}
		rules = append(rules, g.Rules...)
	}
	return rules
}

// balanced reports whether an expression's brackets pair up, a cheap check
// that catches most editing slips without a PromQL parser.
func balanced(expr string) bool {
	var stack []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	inString := false
	for _, c := range expr {
		switch {
		case c == '"':
			inString = !inString
		case inString:
		case c == '(' || c == '[' || c == '{':
			stack = append(stack, c)
		case pairs[c] != 0:
			if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
				return false
			}
			stack = stack[:len(stack)-1]
		}
	}
	return len(stack) == 0 && !inString
}

// TestDeployFilesNameRealMetrics loads the Grafana dashboard and the alert
// rules under deploy/ and checks that every metric they name is served by
// a real reservd (PostgreSQL and Redis, as in production) once it has done
// a little of everything.
func TestDeployFilesNameRealMetrics(t *testing.T) {
	t.Parallel()
	exprs := dashboardExprs(t)
	rules := alertRules(t)
	wantAlerts := map[string]string{ // the alerts the issue asks for, and a metric each must use
		"ReservdHigh5xxRate":         "reservd_http_request_duration_seconds_count",
		"ReservdHoldExpiryLag":       "reservd_hold_expiry_lag_seconds",
		"ReservdProviderCircuitOpen": "reservd_provider_circuit_state",
		"ReservdJobFailing":          "reservd_job_runs_total",
		"ReservdDatabaseUnreachable": "reservd_dependency_up",
	}
	for _, r := range rules {
		if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
			t.Errorf("alert %q needs alert, expr, labels.severity and annotations.summary", r.Alert)
		}
		if r.For != "" {
			if _, err := time.ParseDuration(r.For); err != nil {
				t.Errorf("alert %s: for %q: %v", r.Alert, r.For, err)
			}
		}
		if m, ok := wantAlerts[r.Alert]; ok {
			if !slices.Contains(metricNames(r.Expr), m) {
				t.Errorf("alert %s does not use %s: %s", r.Alert, m, r.Expr)
			}
			delete(wantAlerts, r.Alert)
		}
		exprs["alert "+r.Alert] = append(exprs["alert "+r.Alert], r.Expr)
	}
	for a := range wantAlerts {
		t.Errorf("no alert %s in %s", a, alertsFile)
	}

	// A real service, on PostgreSQL and a Redis of its own, after a hold,
	// a booking and its cancellation, an offer search and a trip.
	addr, _, _ := privateRedis(t)
	env := map[string]string{"DATABASE_URL": testdb.PostgresURL(t), "REDIS_URL": "redis://" + addr + "/0",
		"LOG_LEVEL": "warn", "SWEEP_INTERVAL": "200ms", "RATE_LIMIT": "0"}
	in := start(t, env)
	key, flight := setupFlight(t, in, env)
	hold := in.call(t, "POST", "/holds", key, fmt.Sprintf(`{"flight_id":%d,"seats":["10A"]}`, flight), "Idempotency-Key", "d-1").must(t, 201, "POST /holds")
	booking := in.call(t, "POST", "/bookings", key, `{"hold_id":"`+hold.id()+`","payment":{"token":"tok_visa"}}`, "Idempotency-Key", "d-2").must(t, 201, "POST /bookings")
	in.call(t, "POST", "/bookings/"+booking.id()+"/cancel", key, "").must(t, 200, "cancel")
	in.call(t, "GET", "/flights/"+fmt.Sprint(flight), "", "").must(t, 200, "GET /flights/{id}")
	in.call(t, "GET", offersPath(), key, "").must(t, 200, "GET /offers")
	trip := in.call(t, "POST", "/trips", key, tripBody(), "Idempotency-Key", "d-3").must(t, 202, "POST /trips")
	eventually(t, "the trip to be booked", func() bool {
		return in.call(t, "GET", "/trips/"+trip.id(), key, "").data()["status"] == "confirmed"
	})
	in.call(t, "GET", "/readyz", "", "").must(t, 200, "GET /readyz")
	// Let every job run at least once.
	eventually(t, "every job to run", func() bool {
		m := in.scrape(t)
		for _, j := range []string{"expire_holds", "recover_payments", "recover_refunds", "book_trips", "queue_depth", "check_dependencies"} {
			if m.value("reservd_job_runs_total", "job", j) < 1 {
				return false
			}
		}
		return true
	})
	served := in.scrape(t)

	present := func(name string) bool {
		if _, ok := served[name]; ok {
			return true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok {
				if f, ok := served[base]; ok && (f.GetType().String() == "HISTOGRAM" || f.GetType().String() == "SUMMARY") {
					return true
				}
			}
		}
		return false
	}
	var where []string
	for w := range exprs {
		where = append(where, w)
	}
	sort.Strings(where)
	named := 0
	for _, w := range where {
		for _, e := range exprs[w] {
			if !balanced(e) {
				t.Errorf("%s: unbalanced brackets in %s", w, e)
			}
			names := metricNames(e)
			if len(names) == 0 && !strings.HasPrefix(w, "alert ReservdDown") {
				t.Errorf("%s names no reservd, go or process metric: %s", w, e)
			}
			for _, n := range names {
				named++
				if !present(n) {
					t.Errorf("%s names %s, which GET /metrics does not serve", w, n)
				}
			}
		}
	}
	if named < 40 {
		t.Errorf("only %d metric references found; is the extraction broken?", named)
	}
}
