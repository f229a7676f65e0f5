package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/provider/registry"
)

// TestServesEverySimulator starts a simulator of every registered provider,
// each on the address of the flag named after it.
func TestServesEverySimulator(t *testing.T) {
	var args []string
	addrs := map[string]string{}
	for _, p := range registry.All() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[p.Name] = ln.Addr().String()
		ln.Close()
		args = append(args, "-"+p.Name, addrs[p.Name])
	}
	if len(addrs) < 3 {
		t.Fatalf("registry lists %d providers, want duffel, amadeus and kiwi", len(addrs))
	}
	envFile := filepath.Join(t.TempDir(), "providers.env")
	args = append(args, "-env", envFile)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, io.Discard, io.Discard)
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
	// -env wrote every provider's simulated settings, pointed at its
	// simulator, before any simulator answered.
	b, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range registry.All() {
		v := p.SimulatedSettings("http://" + addrs[p.Name])
		for _, s := range p.Settings {
			if val, ok := v[s.Env]; ok {
				want = append(want, s.Env+"="+val)
			}
		}
		if !p.Configured(p.Load(v.Get)) {
			t.Errorf("%s: the simulated settings %v do not configure it", p.Name, v)
		}
	}
	if got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"); !slices.Equal(got, want) {
		t.Errorf("-env wrote %q, want %q", got, want)
	}
	// Kiwi's API answers in its own error envelope without an apikey.
	res, err := http.Get("http://" + addrs["kiwi"] + "/v2/search")
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

// TestNames prints every registered provider's name, in the registry's order.
func TestNames(t *testing.T) {
	var stdout strings.Builder
	if err := run(t.Context(), []string{"-names"}, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got, want := stdout.String(), strings.Join(registry.Names(), "\n")+"\n"; got != want {
		t.Errorf("-names printed %q, want %q", got, want)
	}
}
