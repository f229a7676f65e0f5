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
# Future targets go here: bench-*, fuzz, chaos.
# Add each to .PHONY and give it a "## description" so `make help` lists it.
# ---------------------------------------------------------------------------

.PHONY: bench-flights
bench-flights: ## benchmark GET /flights/{id}: reservd (SQLite, PostgreSQL) vs bare net/http, with wrk (docs/PERFORMANCE.md)
	bench/flights.sh
