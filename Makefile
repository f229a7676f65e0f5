# reservd developer entry points. `make test` is the one command that runs
# every test (CI runs it too, through .ci/run). `make` alone lists targets.

# Every recipe runs in bash with errexit, nounset and pipefail, so a recipe's
# exit status is the status of the first command in it that failed, pipes
# included (/bin/sh is dash on Debian and knows no pipefail).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

GO  ?= go
BIN := bin/reservd
CMD := ./cmd/reservd

# Shell snippet listing the Go files to format: tracked plus untracked-but-not-
# ignored ones (so new files count before their first commit), or every file
# outside git; testdata/ is left alone.
GO_FILES = (git ls-files --cached --others --exclude-standard -- '*.go' 2>/dev/null || \
	find . -name '*.go' -not -path './data/*') | grep -v '/testdata/' | while read -r f; do \
	if [ -f "$$f" ]; then echo "$$f"; fi; done

.DEFAULT_GOAL := help
.PHONY: help build run run-pg migrate test lint fmt tidy

help: ## list the targets
	@echo 'usage: make TARGET'
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN { FS = ":.*## " } { printf "  %-10s %s\n", $$1, $$2 }'

build: ## build bin/reservd
	$(GO) build -o $(BIN) $(CMD)

run: ## run reservd in embedded mode (SQLite under ./data); ARGS=... passes arguments
	$(GO) run $(CMD) $(ARGS)

run-pg: ## start PostgreSQL + Redis (bin/start_db.sh) and run reservd against them
	eval "$$(bin/start_db.sh)" && $(GO) run $(CMD) $(ARGS)

migrate: ## apply database migrations (DATABASE_URL, or the embedded database)
	$(GO) run $(CMD) migrate

# make test's Go test events, read for its closing summary line.
TEST_JSON ?= $(or $(TMPDIR),/tmp)/reservd-test.json

test: ## THE full test run: ensure PostgreSQL + Redis, lint, then every Go test; ends with a summary line
	@start=$$(date +%s); \
	bin/start_db.sh --check; \
	$(MAKE) --no-print-directory lint; \
	bin/install_tools.sh; \
	$(GO) tool gotestsum --format pkgname-and-test-fails --jsonfile $(TEST_JSON) -- -race -count=1 -timeout 15m ./...; \
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZ_SMOKE_TIME) FUZZ_CACHE=fresh | tee $(TEST_JSON).fuzz; \
	awk -v start=$$start -v now=$$(date +%s) -v fuzz=$$(grep -c '^fuzz: .*: ' $(TEST_JSON).fuzz) \
		'/"Action":"(pass|fail)"/ && !/"Test":/ { match($$0, /"Package":"[^"]*"/); pkgs[substr($$0, RSTART, RLENGTH)] = 1 } \
		 /"Action":"pass"/ && /"Test":/ { tests++ } \
		 END { n = 0; for (p in pkgs) n++; \
		       printf "make test: %d packages, %d tests and %d fuzz targets passed in %ds\n", n, tests, fuzz, now - start; \
		       printf "summary: %d passed, 0 failed\n", tests + fuzz }' $(TEST_JSON)

lint: ## gofmt check, go vet, staticcheck and gosec (pinned in go.mod) and the import-direction test
	@files="$$( $(GO_FILES) )"; test -n "$$files" || { echo "lint: no Go files found"; exit 1; }; \
	bad="$$(gofmt -l $$files)" || exit 1; \
	test -z "$$bad" || { echo "gofmt: these files need formatting (run 'make fmt'):"; echo "$$bad"; exit 1; }
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GOSEC)
	$(GO) test -count=1 ./internal/deptest/

fmt: ## gofmt -w every Go file
	@files="$$( $(GO_FILES) )"; test -z "$$files" || gofmt -w $$files

tidy: ## go mod tidy
	$(GO) mod tidy

# ---------------------------------------------------------------------------
# Longer runs, each behind its own command (docs/RELIABILITY.md, docs/PERFORMANCE.md).
# ---------------------------------------------------------------------------

# Fuzzing (bin/fuzz.sh): every FuzzXxx in every package, found by listing the
# compiled test binaries. The fuzz cache lives in $(go env GOCACHE)/fuzz as
# with go test -fuzz, or in a temporary directory, never in the repository; a
# failing input is written to the package's testdata/fuzz/FuzzXxx/ to be
# committed with the fix. A FUZZ that matches no target fails. The script
# forgives Go's spurious end-of-FUZZTIME deadline report (go.dev/issue/75804)
# only when it is a run's sole failure; see its header.
FUZZTIME ?= 30s
FUZZ     ?= .
# FUZZ_CACHE=fresh fuzzes from the seed corpora alone, with a throwaway cache.
FUZZ_CACHE ?= shared
# The short run make test (and so CI) does of every target: from the seeds,
# so that its 2 s go to new inputs rather than to replaying a cache that
# grows with every run.
FUZZ_SMOKE_TIME ?= 2s

.PHONY: chaos fuzz mutate
mutate: ## hand mutations of the integrity-critical code, each must fail its tests (tools/mutate; minutes)
	bin/start_db.sh --check
	$(GO) run ./tools/mutate $(if $(MUTATE),-run '$(MUTATE)')

chaos: ## the full fault-injection, crash and linearizability suite (minutes; CHAOS_FULL=1)
	bin/start_db.sh --check
	@# The whole output goes to a file and only its tail is shown; the
	@# recipe fails with go test's own status, after showing that tail.
	@out=$$(mktemp); trap 'rm -f "$$out"' EXIT; rc=0; \
	CHAOS_FULL=1 $(GO) test -race -count=1 -timeout 30m -v ./internal/faults/ ./internal/lincheck/ -run . >"$$out" 2>&1 || rc=$$?; \
	tail -n 80 "$$out"; \
	if [ "$$rc" != 0 ]; then echo "chaos: go test failed (exit $$rc); the failures:"; grep -E -- '^\s*--- FAIL|^FAIL|^panic:' "$$out" || true; exit "$$rc"; fi; \
	rc=0; $(GO) test -race -count=1 -run 'Kill9|Storm' -v ./cmd/reservd/ >"$$out" 2>&1 || rc=$$?; \
	grep -E '^(---|ok|FAIL|PASS)|storm:' "$$out" || true; \
	if [ "$$rc" != 0 ]; then tail -n 80 "$$out"; echo "chaos: go test ./cmd/reservd failed (exit $$rc)"; exit "$$rc"; fi

fuzz: ## run every fuzz target for FUZZTIME each (default 30s); FUZZ=regexp picks targets
	FUZZTIME='$(FUZZTIME)' FUZZ='$(FUZZ)' FUZZ_CACHE='$(FUZZ_CACHE)' GO='$(GO)' bin/fuzz.sh

.PHONY: scale
scale: ## rolling restart of 3 replicas behind HAProxy under 200 clients, kill -9, audit (docs/OPERATIONS.md)
	bin/start_db.sh --check
	bin/install_tools.sh
	RESERVD_SCALE_FULL=1 $(GO) test -count=1 -timeout 10m -v -run 'TestRollingRestartBehindHAProxy|TestStaticBinary' ./deploy/

.PHONY: bench-flights
bench-flights: ## benchmark GET /flights/{id}: reservd (SQLite, PostgreSQL) vs bare net/http, with wrk (docs/PERFORMANCE.md)
	bench/flights.sh

.PHONY: bench-holds bench-holds-sqlite bench-flashsale bench-fastpath bench-offers bench-scale
bench-scale: ## POST /holds with 1, 2, 3 replicas behind HAProxy, direct and through PgBouncer; CPU per part (docs/PERFORMANCE.md)
	bin/install_tools.sh
	bench/scale.sh

bench-holds: ## benchmark POST /holds on PostgreSQL beside pgbench's conditional UPDATE (docs/PERFORMANCE.md)
	bench/holds.sh

bench-holds-sqlite: ## benchmark POST /holds on the embedded engine, batching on and off (docs/PERFORMANCE.md)
	bench/holds_sqlite.sh

bench-flashsale: ## flash sale: 2,000 clients race for 100 seats and book them; checks no seat is sold twice
	bench/flashsale.sh

bench-fastpath: ## conflict refusals with the seat fast path in Redis, in process, and PostgreSQL only
	bench/fastpath.sh

bench-offers: ## GET /offers latency with a black-holed provider; cache hits vs bare net/http
	bench/offers.sh

.PHONY: bench-streams
bench-streams: ## 1,000 seat-map streams on one replica: memory per stream, commit-to-client fan-out latency
	bench/streams.sh

.PHONY: bench-webhooks
bench-webhooks: ## POST /holds with one webhook endpoint vs none (ABAB); commit-to-delivery latency at 500 events/s
	bench/webhooks.sh

# Security scanners, both pinned as tools in go.mod (docs/SECURITY.md).
# gosec works offline (about 30 s), so make lint, and through it make test,
# runs it too: it fails on any finding that is not justified in place, and
# on a #nosec annotation that names no rule or gives no reason
# ("// #nosec G404 -- why", on the line or the statement). govulncheck is not
# part of make test: it downloads the Go vulnerability database from
# vuln.go.dev on every run and fails where it cannot reach it.
GOSEC = $(GO) tool gosec -quiet -nosec-require-rules -nosec-require-justification ./...

.PHONY: audit gosec
gosec: ## gosec over ./... alone (offline; also run by make lint and make audit)
	$(GOSEC)

audit: ## govulncheck (needs vuln.go.dev) and gosec over ./... (docs/SECURITY.md)
	@# Both run even when the first fails; the recipe fails if either did.
	@rc=0; $(GOSEC) || rc=$$?; \
	$(GO) tool govulncheck ./... || rc=$$?; \
	exit $$rc
