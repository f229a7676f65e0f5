# reservd developer entry points. `make test` is the one command that runs
# every test (CI runs it too, through .ci/run). `make` alone lists targets.

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

test: ## THE full test run: ensure PostgreSQL + Redis, lint, then every Go test
	bin/start_db.sh --check
	@$(MAKE) --no-print-directory lint
	bin/install_tools.sh
	$(GO) test -race -count=1 -timeout 15m ./...
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZ_SMOKE_TIME) FUZZ_CACHE=fresh

lint: ## gofmt check and go vet
	@files="$$( $(GO_FILES) )"; test -n "$$files" || { echo "lint: no Go files found"; exit 1; }; \
	bad="$$(gofmt -l $$files)" || exit 1; \
	test -z "$$bad" || { echo "gofmt: these files need formatting (run 'make fmt'):"; echo "$$bad"; exit 1; }
	$(GO) vet ./...

fmt: ## gofmt -w every Go file
	@files="$$( $(GO_FILES) )"; test -z "$$files" || gofmt -w $$files

tidy: ## go mod tidy
	$(GO) mod tidy

# ---------------------------------------------------------------------------
# Longer runs, each behind its own command (docs/RELIABILITY.md, docs/PERFORMANCE.md).
# ---------------------------------------------------------------------------

# Fuzzing: every FuzzXxx in every package, found by listing the compiled test
# binary (go test -list), so no list goes stale. Each package is compiled once,
# with the fuzzing instrumentation, and its binary runs each target in turn.
# The fuzz cache (inputs found interesting) lives in $(go env GOCACHE)/fuzz as
# with go test -fuzz, or in a temporary directory, never in the repository; a
# failing input is written to the package's testdata/fuzz/FuzzXxx/ to be
# committed with the fix. Go before 1.27 can end a run at FUZZTIME with a
# spurious "context deadline exceeded" (go.dev/issue/75804, likelier on a
# loaded machine): a run failing so without writing a failing input passes.
FUZZTIME ?= 30s
FUZZ     ?= .
# FUZZ_CACHE=fresh fuzzes from the seed corpora alone, with a throwaway cache.
FUZZ_CACHE ?= shared
# The short run make test (and so CI) does of every target: from the seeds,
# so that its 2 s go to new inputs rather than to replaying a cache that
# grows with every run.
FUZZ_SMOKE_TIME ?= 2s

.PHONY: chaos fuzz
chaos: ## the full fault-injection, crash and linearizability suite (minutes; CHAOS_FULL=1)
	bin/start_db.sh --check
	CHAOS_FULL=1 $(GO) test -race -count=1 -timeout 30m -v ./internal/faults/ ./internal/lincheck/ -run . 2>&1 | tail -n 80
	$(GO) test -race -count=1 -run 'Kill9|Storm' -v ./cmd/reservd/ 2>&1 | grep -E '^(---|ok|FAIL|PASS)|storm:'

fuzz: ## run every fuzz target for FUZZTIME each (default 30s); FUZZ=regexp picks targets
	@set -e; bin=$$(mktemp -d); trap 'rm -rf "$$bin"' EXIT; \
	case "$(FUZZ_CACHE)" in fresh) cache="$$bin/cache";; *) cache="$$($(GO) env GOCACHE)/fuzz";; esac; \
	pkgs=$$(grep -rlE --include='*_test.go' --exclude-dir=testdata '^func Fuzz[A-Z0-9_]' cmd internal | xargs -n1 dirname | sort -u); \
	test -n "$$pkgs" || { echo "fuzz: no fuzz targets found"; exit 1; }; \
	for pkg in $$pkgs; do \
		exe="$$bin/$$(echo "$$pkg" | tr / _).test"; \
		$(GO) test -c -fuzz=. -o "$$exe" "./$$pkg"; \
		for name in $$("$$exe" -test.list '^Fuzz' | grep -E '^Fuzz' | grep -E -- '$(FUZZ)' || true); do \
			seeds=$$(ls "$$pkg/testdata/fuzz/$$name" 2>/dev/null | wc -l); \
			if (cd "$$pkg" && "$$exe" -test.run '^$$' -test.fuzz "^$$name\$$" -test.fuzztime $(FUZZTIME) \
				-test.fuzzcachedir "$$cache") >"$$bin/out" 2>&1; then \
				echo "fuzz: $$pkg $$name: $$(grep '^fuzz: elapsed' "$$bin/out" | tail -n 1 | sed 's/^fuzz: //; s/ ([0-9]*\/sec)//')"; \
			elif grep -qx '    context deadline exceeded' "$$bin/out" && \
				[ "$$(ls "$$pkg/testdata/fuzz/$$name" 2>/dev/null | wc -l)" = "$$seeds" ]; then \
				echo "fuzz: $$pkg $$name: passed; Go's coordinator misreported the end of FUZZTIME (go.dev/issue/75804, Go < 1.27), no failing input"; \
			else \
				cat "$$bin/out"; echo "fuzz: $$pkg $$name FAILED; the input is under $$pkg/testdata/fuzz/$$name/"; exit 1; \
			fi; \
		done; \
	done

.PHONY: scale
scale: ## rolling restart of 3 replicas behind HAProxy under 200 clients, kill -9, audit (docs/OPERATIONS.md)
	bin/start_db.sh --check
	bin/install_tools.sh
	RESERVD_SCALE_FULL=1 $(GO) test -count=1 -timeout 10m -v -run 'TestRollingRestartBehindHAProxy|TestStaticBinary' ./deploy/

.PHONY: bench-flights
bench-flights: ## benchmark GET /flights/{id}: reservd (SQLite, PostgreSQL) vs bare net/http, with wrk (docs/PERFORMANCE.md)
	bench/flights.sh

.PHONY: bench-holds bench-flashsale bench-fastpath bench-offers
bench-holds: ## benchmark POST /holds on PostgreSQL beside pgbench's conditional UPDATE (docs/PERFORMANCE.md)
	bench/holds.sh

bench-flashsale: ## flash sale: 2,000 clients race for 100 seats and book them; checks no seat is sold twice
	bench/flashsale.sh

bench-fastpath: ## conflict refusals with the seat fast path in Redis, in process, and PostgreSQL only
	bench/fastpath.sh

bench-offers: ## GET /offers latency with a black-holed provider; cache hits vs bare net/http
	bench/offers.sh
