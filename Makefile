# Everything a fresh machine needs comes from here: `make demo`, `make test`, `make bench`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
NODE_PEER := tests/interop/js
NODE_INSTALLED := $(NODE_PEER)/node_modules/.package-lock.json
STORAGE_JS := tests/gateway/js
STORAGE_JS_INSTALLED := $(STORAGE_JS)/node_modules/.package-lock.json

.PHONY: install demo test check lint typecheck unit integration interop reliability soak bench clean

# The nats.go peers and the nats CLI (rules at the end): Go's module and build caches and the
# programs all live in .gocache/ (ignored), so only the first build needs the Go module proxy.
GO ?= go
GO_DIR := $(CURDIR)/.gocache
GO_ENV := GOMODCACHE=$(GO_DIR)/mod GOCACHE=$(GO_DIR)/build GOTOOLCHAIN=local \
	GOFLAGS='-buildvcs=false -modcacherw -trimpath'
GO_PEER := .gocache/bin/gopeer
GO_BENCH := .gocache/bin/gobench
NATS_CLI := .gocache/bin/nats
NATSCLI_VERSION := v0.5.0
GO_PROGRAMS := $(GO_PEER) $(GO_BENCH) $(NATS_CLI)

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(NODE_INSTALLED): $(NODE_PEER)/package.json $(NODE_PEER)/package-lock.json
	npm ci --prefix $(NODE_PEER) --no-audit --no-fund --loglevel=error
	touch $@

$(STORAGE_JS_INSTALLED): $(STORAGE_JS)/package.json $(STORAGE_JS)/package-lock.json
	npm ci --prefix $(STORAGE_JS) --no-audit --no-fund --loglevel=error
	touch $@

demo: $(INSTALLED)
	$(BIN)/python examples/quickstart.py

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(INSTALLED)
	$(BIN)/mypy

check: lint typecheck

unit: $(INSTALLED)
	$(BIN)/pytest tests/unit

integration: $(INSTALLED)
	$(BIN)/pytest tests/integration

interop: $(INSTALLED) $(NODE_INSTALLED) $(GO_PROGRAMS)
	$(BIN)/pytest tests/interop

test: $(INSTALLED) $(NODE_INSTALLED) $(STORAGE_JS_INSTALLED) $(GO_PROGRAMS) check
	$(BIN)/pytest

# Cluster, fault, race and chaos tests (part of `make test`; the chaos run lasts 30 s).
reliability: $(INSTALLED)
	$(BIN)/pytest tests/reliability

# The Go programs (variables at the top): the nats.go interop and bench peers, the nats CLI.
.PHONY: go-peers clean-go
go-peers: $(GO_PROGRAMS)

$(GO_PEER): tests/interop/go/go.mod tests/interop/go/go.sum $(wildcard tests/interop/go/*.go)
	cd tests/interop/go && $(GO_ENV) $(GO) build -o $(CURDIR)/$@ .

$(GO_BENCH): benchmarks/go/go.mod benchmarks/go/go.sum $(wildcard benchmarks/go/*.go)
	cd benchmarks/go && $(GO_ENV) $(GO) build -o $(CURDIR)/$@ .

$(NATS_CLI):
	GOBIN=$(GO_DIR)/bin $(GO_ENV) $(GO) install github.com/nats-io/natscli/nats@$(NATSCLI_VERSION)

clean: clean-go
clean-go:
	rm -rf .gocache

# The chaos test for SOAK_SECONDS (default 600), figures in soak-report.json. Not in CI.
SOAK_SECONDS ?= 600
soak: $(INSTALLED)
	NATSOBJ_CHAOS_SECONDS=$(SOAK_SECONDS) NATSOBJ_CHAOS_REPORT=soak-report.json \
		$(BIN)/pytest tests/reliability/test_chaos.py -p no:cacheprovider --timeout=0 -s

# The full benchmark suite (about 15 minutes on 2 cores, plus 8-9 for the HTTP gateway
# part, whose load generator needs Go); writes BENCHMARKS.md.
bench: $(INSTALLED) $(NODE_INSTALLED) $(GO_BENCH)
	$(BIN)/python -m benchmarks.run --require-node --require-go --output BENCHMARKS.md --json benchmarks/results.json

clean:
	rm -rf $(VENV) $(NODE_PEER)/node_modules $(STORAGE_JS)/node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis
