.DEFAULT_GOAL := help
BIN     := bin/pinbridge
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: help run build test generate check-generate lint clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## Start the service on :8080 with the embedded SQLite database (./data)
	go run -ldflags "$(LDFLAGS)" . serve

build: ## Build a static binary into bin/pinbridge
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) .

test: ## Run every test, on SQLite and PostgreSQL (PostgreSQL started if installed)
	scripts/test.sh

generate: ## Regenerate gen/ from openapi.yaml
	go generate ./gen/...

check-generate: ## Fail when gen/ is not exactly what openapi.yaml generates
	go generate ./gen/...
	@git diff --exit-code --stat -- gen/ && test -z "$$(git status --porcelain -- gen/)" \
		|| { echo "gen/ is stale: run 'make generate' and commit"; exit 1; }

lint: ## gofmt and go vet (generated code excluded from gofmt)
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/'))" || { gofmt -l $$(git ls-files '*.go' | grep -v '^gen/'); exit 1; }
	go vet ./...

clean: ## Remove build output (not ./data)
	rm -rf bin
