package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServesTheThreeSimulators(t *testing.T) {
	addrs := make([]string, 3)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = ln.Addr().String()
		ln.Close()
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-duffel", addrs[0], "-amadeus", addrs[1], "-kiwi", addrs[2]}, io.Discard)
	}()
	for _, addr := range addrs {
		var res *http.Response
		var err error
		for range 100 {
			if res, err = http.Get("http://" + addr + "/_sim/stats"); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(b), `"orders"`) {
			t.Errorf("%s/_sim/stats = %d %s", addr, res.StatusCode, b)
		}
	}
	// Kiwi's API answers in its own error envelope without an apikey.
	res, err := http.Get("http://" + addrs[2] + "/v2/search")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Errorf("kiwi search without apikey = %d, want 401", res.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run = %v", err)
	}
}
