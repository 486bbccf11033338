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

# The built-in methods' own binaries, built first; stepup, built after
# them, records the SHA-256 of each and runs one only while its file has it
# (plugins.BuiltinCommand); without them it re-executes itself.
METHOD_CMDS := $(addprefix ./,$(wildcard plugins/*/cmd/stepup-*))
SHA256SUM   := $(shell command -v sha256sum >/dev/null 2>&1 && echo sha256sum || echo 'shasum -a 256')

.PHONY: build
build: ## Build bin/stepup and the built-in methods' binaries beside it
	$(GO) build -o bin/ $(METHOD_CMDS)
	sums=$$(for c in $(notdir $(METHOD_CMDS)); do printf '%s:%s,' "$${c#stepup-}" "$$($(SHA256SUM) bin/$$c | cut -d' ' -f1)"; done) && \
	$(GO) build -ldflags "-X github.com/stepup-mfa/stepup/plugins.builtinSHA256=$$sums" -o bin/ ./cmd/stepup

.PHONY: run
run: build ## Run the provider in demo mode (SQLite under ./stepup-data)
	./$(BIN) serve --demo

.PHONY: test
test: ## Run the whole test suite (SQLite and PostgreSQL; the plugin host, the storage and the methods that race for a code under -race)
	$(GO) test -count=1 -timeout 15m $(PKGS)
	$(GO) test -count=1 -race -timeout 10m ./plugins/host/... ./plugins/recovery/... ./plugins/sms/... ./provider/storage/...

# Each fuzz target with its package; their seed corpora (and the inputs
# a fuzz run found, under testdata/fuzz) run in make test.
FUZZ_TARGETS := FuzzDecode:./provider/config FuzzParseClaimsACR:./provider/login FuzzNormalize:./provider/username FuzzDecodeParams:./provider/adminapi \
	FuzzNormalise:./plugins/recovery FuzzParsePhone:./plugins/sms \
	FuzzAuthorizeRequest:./provider FuzzIDTokenHint:./provider FuzzAdminAPI:./provider \
	FuzzVerifyCode:./plugins/totp FuzzVerifyCode:./plugins/tempcode
FUZZTIME ?= 30s

.PHONY: fuzz
fuzz: ## Fuzz every parser of outside input for FUZZTIME each (30s)
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t%%:*} ($${t#*:}) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t%%:*}$$" -fuzztime $(FUZZTIME) $${t#*:} || exit 1; \
	done

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
