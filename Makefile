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
	$(GO) test -race -count=1 -timeout 15m ./...

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

FUZZTIME ?= 30s
FUZZ_TARGETS = \
	./internal/httpapi:FuzzDecodeHoldRequest ./internal/httpapi:FuzzDecodeBookingRequest \
	./internal/httpapi:FuzzDecodeFlightRequest ./internal/httpapi:FuzzDecodeTripRequest \
	./internal/httpapi:FuzzFlightListQuery ./internal/money:FuzzParseDecimal

.PHONY: chaos fuzz
chaos: ## the full fault-injection, crash and linearizability suite (minutes; CHAOS_FULL=1)
	bin/start_db.sh --check
	CHAOS_FULL=1 $(GO) test -race -count=1 -timeout 30m -v ./internal/faults/ ./internal/lincheck/ -run . 2>&1 | tail -n 80
	$(GO) test -race -count=1 -run 'Kill9|Storm' -v ./cmd/reservd/ 2>&1 | grep -E '^(---|ok|FAIL|PASS)|storm:'

fuzz: ## run every fuzz target (request decoders, query parsing, money, provider parsers) for FUZZTIME each
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$pkg $$name"; $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; done
	@for d in ./internal/provider/duffel ./internal/provider/amadeus ./internal/provider/kiwi; do \
		for name in $$($(GO) test -list '^Fuzz' $$d | grep '^Fuzz'); do \
			echo "== $$d $$name"; $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$d || exit 1; done; done

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
