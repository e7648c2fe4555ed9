.DEFAULT_GOAL := help
BIN     := bin/pinbridge
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

JS      := scripts/js
JSBIN   := $(JS)/node_modules/.bin

.PHONY: help run build test e2e bench generate check-generate lint lint-spec js-deps vendor-passwords vendor-swagger-ui clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## Start the service on :8080 with the embedded SQLite database (./data)
	go run -ldflags "$(LDFLAGS)" . serve

build: ## Build a static binary into bin/pinbridge
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) .

test: ## Run every test, on SQLite and PostgreSQL (PostgreSQL started if installed)
	scripts/test.sh

e2e: ## Only the end-to-end tests: two servers over one PostgreSQL, a crash mid-burst, a failover, a hung SMTP server
	PINBRIDGE_E2E_ONLY=1 scripts/test.sh

bench: ## Load-test against a throwaway PostgreSQL (BENCH_DURATION=15s per scenario); table + bin/bench.json
	scripts/bench.sh

generate: js-deps ## Regenerate gen/ (Go server, models, client; TypeScript types) from openapi.yaml
	go generate ./gen/...
	$(JSBIN)/openapi-typescript openapi.yaml -o gen/typescript/schema.d.ts

check-generate: generate ## Fail when gen/ is not exactly what openapi.yaml generates
	@git diff --exit-code --stat -- gen/ && test -z "$$(git status --porcelain -- gen/)" \
		|| { echo "gen/ is stale: run 'make generate' and commit"; exit 1; }

lint: ## gofmt, go vet and staticcheck (generated code and upstream's argon2 copy excluded)
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/'))" || { gofmt -l $$(git ls-files '*.go' | grep -v '^gen/'); exit 1; }
	go vet ./...
	go tool staticcheck $$(go list ./... | grep -v -e '/gen' -e '/internal/argon2$$')

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
