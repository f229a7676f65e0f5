package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestRunUsage(t *testing.T) {
	t.Parallel()
	var out, errs bytes.Buffer
	if err := run(t.Context(), nil, &out, &errs); err == nil || !strings.Contains(errs.String(), "usage") {
		t.Errorf("no command: err %v, stderr %q", err, errs.String())
	}
	if err := run(t.Context(), []string{"nope"}, &out, &errs); err == nil {
		t.Error("an unknown command was accepted")
	}
	if err := run(t.Context(), []string{"holds", "-h"}, &out, &errs); err != nil {
		t.Errorf("holds -h: %v", err)
	}
	if err := run(t.Context(), []string{"holds", "-flights", "1"}, &out, &errs); err == nil || !strings.Contains(err.Error(), "-keys") {
		t.Errorf("holds without -keys: %v", err)
	}
}

// TestGet runs the get command against a server that answers 200, then
// 503 for every third request, and checks what it counted and sent.
func TestGet(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer k1" {
			http.Error(w, "no key", http.StatusUnauthorized)
			return
		}
		if n.Add(1)%3 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintln(w, `{"data":{}}`)
	}))
	t.Cleanup(srv.Close)

	var out, errs bytes.Buffer
	err := run(t.Context(), []string{"get", "-url", srv.URL + "/flights/1", "-keys", "k1", "-c", "4", "-d", "200ms", "-json"}, &out, &errs)
	if err != nil {
		t.Fatalf("get: %v\n%s", err, errs.String())
	}
	var r report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	s := r.Summaries[0]
	if s.Requests == 0 || s.Status["200"] == 0 || s.Status["503"] == 0 || s.Status["200"]+s.Status["503"] != s.Requests {
		t.Errorf("summary = %+v", s)
	}
	if s.Requests > int(n.Load()) {
		t.Errorf("%d requests counted, the server saw %d", s.Requests, n.Load())
	}
	if !strings.Contains(errs.String(), "first 503 answer") {
		t.Errorf("the unexpected 503 was not shown on stderr: %q", errs.String())
	}
}

func TestFastPathCounts(t *testing.T) {
	t.Parallel()
	metrics := func(hit int) string {
		return "# HELP reservd_seat_fastpath_total x\n# TYPE reservd_seat_fastpath_total counter\n" +
			fmt.Sprintf("reservd_seat_fastpath_total{result=\"error\"} 0\nreservd_seat_fastpath_total{result=\"hit\"} %d\n", hit) +
			"reservd_seat_fastpath_total{result=\"miss\"} 7\nreservd_holds_total{event=\"conflict\"} 99\n"
	}
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, metrics(5)) }))
	t.Cleanup(a.Close)
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, metrics(1e6)) }))
	t.Cleanup(b.Close)
	c := newClient(1, time.Second, &bytes.Buffer{})
	t.Cleanup(c.hc.CloseIdleConnections)
	got, err := fastPathCounts(t.Context(), c, []string{a.URL, b.URL})
	if err != nil {
		t.Fatal(err)
	}
	if got["hit"] != 1000005 || got["miss"] != 14 || got["error"] != 0 {
		t.Errorf("fastPathCounts = %v", got)
	}
}

// TestMain checks that no command leaves goroutines behind (its idle
// connections included).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
