package deptest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/reservd/reservd"

// pkg is the part of `go list -json` the rules read.
type pkg struct {
	ImportPath string
	Name       string
	Deps       []string // every package it depends on, transitively (not its tests')
}

// list runs go list -json with args and decodes the stream of packages.
func list(t *testing.T, args ...string) map[string]pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json=ImportPath,Name,Deps"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, stderr.String())
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs[p.ImportPath] = p
	}
	if len(pkgs) == 0 {
		t.Fatalf("go list %v listed no package", args)
	}
	return pkgs
}

// rel is an import path relative to the module ("internal/holds"), or ""
// for a package outside it.
func rel(importPath string) string {
	if importPath == module {
		return "."
	}
	r, ok := strings.CutPrefix(importPath, module+"/")
	if !ok {
		return ""
	}
	return r
}

// under reports whether the module-relative path p is dir or inside it.
func under(p string, dirs ...string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// domain are the packages of plain types and rules, the lowest floor.
var domain = []string{
	"internal/apikey", "internal/airport", "internal/bookings", "internal/flights",
	"internal/holds", "internal/id", "internal/money", "internal/trips", "internal/validate",
}

// infrastructure are the packages beside the store, between the domain
// and the services: caches, locks, jobs, queues, clients, configuration.
// Like the store, they never reach up into services or the HTTP layer.
var infrastructure = []string{
	"internal/cache", "internal/config", "internal/demo", "internal/events", "internal/fx", "internal/health",
	"internal/idempotency", "internal/jobs", "internal/payment", "internal/provider", "internal/ratelimit",
	"internal/redisclient", "internal/seatlock", "internal/stream", "internal/telemetry", "internal/views",
	"internal/waitroom", "internal/webhook",
}

// services are the floor above the store and below the HTTP layer.
var services = []string{"internal/reserve", "internal/aggregator"}

// top are the HTTP layer, the composition root and the commands.
var top = []string{"internal/httpapi", "internal/app", "cmd"}

// testOnly are packages that exist for tests; none may reach the binary.
var testOnly = []string{"internal/testdb", "internal/store/storetest", "internal/lincheck", "internal/provider/providertest", "internal/browsertest"}

// TestImportDirection checks the floors of the module against what each
// package depends on, transitively.
func TestImportDirection(t *testing.T) {
	pkgs := list(t, module+"/...")
	exists := func(dirs []string) {
		t.Helper()
		for _, d := range dirs {
			if _, ok := pkgs[module+"/"+d]; !ok && d != "internal/app" && d != "cmd" {
				t.Errorf("rule names %s, which no longer exists: update the rules in internal/deptest", d)
			}
		}
	}
	exists(domain)
	exists(infrastructure)
	exists(services)
	checked := 0
	for _, p := range pkgs {
		me := rel(p.ImportPath)
		var deps []string
		for _, d := range p.Deps {
			if r := rel(d); r != "" {
				deps = append(deps, r)
			}
		}
		forbid := func(why string, bad func(dep string) bool) {
			t.Helper()
			checked++
			for _, d := range deps {
				if bad(d) {
					t.Errorf("%s depends on %s (directly or not): %s", me, d, why)
				}
			}
		}
		switch {
		case slices.Contains(domain, me):
			forbid("a domain package imports only other domain packages", func(d string) bool { return !slices.Contains(domain, d) })
		case under(me, "internal/store") && !under(me, "internal/store/storetest"):
			forbid("the store is below services, the HTTP layer and the composition root", func(d string) bool { return under(d, services...) || under(d, top...) })
		case under(me, infrastructure...) && !under(me, testOnly...):
			forbid("infrastructure is below services, the HTTP layer and the composition root", func(d string) bool { return under(d, services...) || under(d, top...) })
		case under(me, services...):
			forbid("services are below the HTTP layer and the composition root", func(d string) bool { return under(d, top...) })
		}
		if a := adapterOf(me, pkgs); a != "" {
			forbid("provider adapters never import each other", func(d string) bool {
				other := adapterOf(d, pkgs)
				return other != "" && other != a
			})
		}
	}
	if checked == 0 {
		t.Fatal("no package was checked")
	}
	var adapters []string
	for _, p := range pkgs {
		if a := adapterOf(rel(p.ImportPath), pkgs); a != "" && !slices.Contains(adapters, a) {
			adapters = append(adapters, a)
		}
	}
	if len(adapters) < 2 {
		t.Errorf("found provider adapters %v; the adapter rule needs at least two to mean anything", adapters)
	}
}

// adapterOf returns the provider adapter (internal/provider/NAME) the
// module-relative package p belongs to, or "". An adapter is a directory
// under internal/provider that ships its simulator as NAME/NAMEsim; its
// simulator belongs to it.
func adapterOf(p string, pkgs map[string]pkg) string {
	rest, ok := strings.CutPrefix(p, "internal/provider/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	dir := "internal/provider/" + name
	if _, ok := pkgs[module+"/"+path.Join(dir, name+"sim")]; !ok {
		return ""
	}
	return dir
}

// TestBinaryLinksNoTestPackage checks that the reservd binary carries no
// test infrastructure.
func TestBinaryLinksNoTestPackage(t *testing.T) {
	pkgs := list(t, "-deps", module+"/cmd/reservd")
	if _, ok := pkgs[module+"/internal/store"]; !ok {
		t.Fatalf("go list -deps ./cmd/reservd does not list internal/store: the listing is not what this test expects")
	}
	for _, p := range pkgs {
		r := rel(p.ImportPath)
		if r == "" {
			// The browser tests' driver (internal/browsertest) stays in tests.
			if strings.HasPrefix(p.ImportPath, "github.com/chromedp/") {
				t.Errorf("the reservd binary links %s, which only the browser tests may import", p.ImportPath)
			}
			continue
		}
		if under(r, testOnly...) || strings.HasSuffix(p.Name, "test") {
			t.Errorf("the reservd binary links the test-only package %s", r)
		}
	}
}
