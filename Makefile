# stepup — step-up MFA OpenID Connect provider.
GO        ?= go
BIN       := bin/stepup
PKGS      := ./...
# Tests use the machine's PostgreSQL unless told otherwise.
export STEPUP_TEST_POSTGRES_DSN ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# The built-in methods' own binaries, built beside stepup in the same go
# build and with one stamp, which is how stepup serve knows it may run them
# instead of re-executing itself (plugins.BuiltinCommand).
METHOD_CMDS := $(addprefix ./,$(wildcard plugins/*/cmd/stepup-*))
BUILD_STAMP := $(shell date -u +%Y%m%dT%H%M%S.%N)

.PHONY: build
build: ## Build bin/stepup and the built-in methods' binaries beside it
	$(GO) build -ldflags "-X github.com/stepup-mfa/stepup/plugins.buildStamp=$(BUILD_STAMP)" -o bin/ ./cmd/stepup $(METHOD_CMDS)

.PHONY: run
run: build ## Run the provider in demo mode (SQLite under ./stepup-data)
	./$(BIN) serve --demo

.PHONY: test
test: ## Run the whole test suite (SQLite and PostgreSQL; the plugin host under -race)
	$(GO) test -count=1 -timeout 15m $(PKGS)
	$(GO) test -count=1 -race -timeout 10m ./plugins/host/... ./provider/storage/...

.PHONY: race
race: ## Run the tests with the race detector
	$(GO) test -count=1 -race -timeout 20m $(PKGS)

.PHONY: bench
bench: ## Run the benchmarks
	$(GO) test -run '^$$' -bench . -benchmem -timeout 20m $(PKGS)

.PHONY: lint
lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)
