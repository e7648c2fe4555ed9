.DEFAULT_GOAL := help
BIN     := bin/pinbridge
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

JS      := scripts/js
JSBIN   := $(JS)/node_modules/.bin

.PHONY: help run build test test-short e2e bench generate generate-go generate-ts check-generate lint lint-spec js-deps vendor-passwords vendor-swagger-ui clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## Start the service on :8080 with the embedded SQLite database (./data)
	go run -ldflags "$(LDFLAGS)" . serve

build: ## Build a static binary into bin/pinbridge
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) .

test: ## Run every test, on SQLite and PostgreSQL (PostgreSQL started if installed)
	scripts/test.sh

test-short: ## Fast inner loop: the tests on SQLite only (no PostgreSQL, browser or -race)
	TEST_DATABASE_URL= PINBRIDGE_REQUIRE_POSTGRES= PINBRIDGE_BROWSER_TESTS= PINBRIDGE_REQUIRE_BROWSER= PINBRIDGE_E2E= \
		go test -short -count=1 ./...

e2e: ## Only the end-to-end tests: two servers over one PostgreSQL, a crash mid-burst, a failover, a hung SMTP server
	PINBRIDGE_E2E_ONLY=1 scripts/test.sh

bench: ## Load-test on a throwaway PostgreSQL (BENCH_DURATION=15s each); writes bin/bench.json
	scripts/bench.sh

generate: generate-go generate-ts ## Regenerate all of gen/ from openapi.yaml (Go and TypeScript)

generate-go: ## Regenerate the Go server, models and client in gen/ (needs only Go)
	go generate ./gen/...

generate-ts: js-deps ## Regenerate the TypeScript types in gen/typescript (needs node)
	$(JSBIN)/openapi-typescript openapi.yaml -o gen/typescript/schema.d.ts

check-generate: generate ## Fail when gen/ is not exactly what openapi.yaml generates
	@git diff --exit-code --stat -- gen/ && test -z "$$(git status --porcelain -- gen/)" \
		|| { echo "gen/ is stale: run 'make generate' and commit"; exit 1; }

lint: ## gofmt, go vet, staticcheck (not gen/ nor internal/argon2); handlers of at most 40 lines
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/'))" || { gofmt -l $$(git ls-files '*.go' | grep -v '^gen/'); exit 1; }
	go vet ./...
	go tool staticcheck $$(go list ./... | grep -v -e '/gen' -e '/internal/argon2$$')
	go run ./scripts/handlerlen -max 40 server

lint-spec: js-deps ## Lint openapi.yaml with Redocly (recommended-strict: zero errors, zero warnings)
	cd $(JS) && node_modules/.bin/redocly lint --config redocly.yaml ../../openapi.yaml

js-deps: ## Install the pinned node tools (scripts/js) if missing
	@test -d $(JS)/node_modules/.bin || (cd $(JS) && npm ci --no-audit --no-fund --silent)

vendor-passwords: js-deps ## Rebuild the embedded common-password list from the pinned npm package
	scripts/vendor-passwords.sh

vendor-swagger-ui: js-deps ## Copy the pinned swagger-ui-dist into server/docs (embedded)
	scripts/vendor-swagger-ui.sh

clean: ## Remove build output (not ./data)
	rm -rf bin
