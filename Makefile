# Parley: the one command surface for humans, CI and the README alike.
#
#   make run     start PostgreSQL (under .data/), ingest, synth and Envoy
#   make test    run the test suite against real PostgreSQL, gRPC servers and Envoy
#   make test-llm  the spec's synth request against a real model on this CPU (minutes)
#   make bench   benchmark the running stack (start it with `make run` first)
#   make proto   generate Python stubs, the Envoy descriptor set and the OpenAPI document
#   make lint    ruff, mypy and buf lint
#   make k8s     render the Kubernetes overlays to stdout

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUILD := build
GEN := $(BUILD)/python
DESCRIPTOR := $(BUILD)/parley.pb
PROTOS := $(shell find proto -name '*.proto')
BUF := .tools/node_modules/.bin/buf
export PYTHONPATH := $(CURDIR):$(CURDIR)/$(GEN)

.PHONY: all run test test-llm bench proto lint k8s k8s-config clean setup chromium

all: setup

setup: $(VENV)/.installed proto $(BUILD)/docs/index.html $(BUILD)/console/index.html

# PostgreSQL's server binaries come from the machine; where it has none, the
# pgserver wheel carries them (services/common/localpg.py looks in both places).
$(VENV)/.installed: requirements.txt requirements-build.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -c 'from services.common.localpg import find_bindir; find_bindir()' 2>/dev/null \
	  || $(PY) -m pip install --quiet --disable-pip-version-check pgserver
	# `.venv/bin/python -m parley ...` works from anywhere: the checkout and its stubs on the path.
	printf '%s\n%s\n' "$(CURDIR)" "$(CURDIR)/$(GEN)" > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/parley-checkout.pth"
	touch $@

proto: $(GEN)/.stamp

# Stubs and the descriptor set are build outputs (gitignored): googleapis'
# annotations come from the googleapis-common-protos wheel, the well-known
# types from grpcio-tools.
$(GEN)/.stamp: $(PROTOS) $(VENV)/.installed gateway/openapi.py
	rm -rf $(GEN) && mkdir -p $(GEN)
	$(PY) -m services.common.protogen --out $(GEN) --descriptor $(DESCRIPTOR) $(PROTOS)
	$(PY) -m gateway.openapi $(DESCRIPTOR) > $(BUILD)/openapi.json
	touch $@

run: setup
	$(PY) -m services.stack

test: setup $(BUF) chromium
	$(PY) -m pytest

# The console's browser tests drive Debian's chromium (Playwright's downloads are not used).
chromium:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "chromium is missing (apt-get install chromium): the browser tests will fail"

# A real model (llama-server with Gemma 3 270M, built once into ~/.cache/parley/llm) answers
# the spec's request through the gateway: minutes, so not part of `make test`.
test-llm: setup
	$(PY) -c 'from testkit.llm import install; install()'
	$(PY) -m pytest -m llm tests/llm -s -p no:cacheprovider -o timeout=1800

# wrk (Debian's package) loads the services from its own process; the reference row is
# a Node route with `pg` (bench/node/server.js), the seed's kind of stack.
PG_NODE := .tools/node_modules/pg/package.json
bench: setup $(PG_NODE)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq wrk; } \
		|| echo "wrk is missing (apt-get install wrk): the wrk sections will be skipped"
	$(PY) -m bench

$(PG_NODE):
	mkdir -p .tools
	cd .tools && npm install --silent --no-audit --no-fund --prefix . pg@8.23.1 >/dev/null

lint: setup $(BUF)
	$(VENV)/bin/ruff check services tests testkit bench gateway parley
	$(VENV)/bin/mypy
	$(PY) -m services.common.protogen --lint --buf $(BUF)

# The cluster's Envoy config: the same template as `make run`, cluster addresses.
K8S_ENVOY := deploy/k8s/base/gateway-envoy.yaml
k8s-config: $(VENV)/.installed
	$(PY) gateway/render.py --place kubernetes > $(K8S_ENVOY)

k8s:
	@for overlay in deploy/k8s/overlays/*/; do \
	  echo "# ---- $$overlay"; kubectl kustomize "$$overlay"; done

# The API reference page's renderer, from the npm registry (never a CDN at run time).
REDOC := 2.5.4
$(BUILD)/docs/redoc.standalone.js:
	mkdir -p .tools $(BUILD)/docs
	cd .tools && npm install --silent --no-audit --no-fund --prefix . redoc@$(REDOC) >/dev/null
	cp .tools/node_modules/redoc/bundles/redoc.standalone.js $@

$(BUILD)/docs/index.html: gateway/docs/index.html $(BUILD)/docs/redoc.standalone.js
	cp $< $@

# The console (console/): Chart.js and Vite from the npm registry, pinned by its lockfile,
# built into $(BUILD)/console, which the gateway serves at /. The Parley-summaries preset
# comes from services/synth/presets.py, the one place it is written; enums, bounds and scopes
# from the protos (services/common/contract.py).
CONSOLE_SOURCES := $(shell find console -path console/node_modules -prune -o -type f -print)
# npm install, not ci: the lockfile pins every version, but this npm writes it without
# the other platforms' optional packages, which ci then asks for.
console/node_modules/.installed: console/package.json console/package-lock.json
	cd console && npm install --no-save --silent --no-audit --no-fund >/dev/null
	touch $@

$(BUILD)/console/index.html: $(CONSOLE_SOURCES) services/synth/presets.py $(GEN)/.stamp console/node_modules/.installed $(VENV)/.installed
	mkdir -p $(BUILD)/console-generated
	$(PY) -m services.synth.presets > $(BUILD)/console-generated/parley-summaries.json
	$(PY) -m services.common.contract > $(BUILD)/console-generated/contract.json
	cd console && ./node_modules/.bin/vite build

# buf comes from the npm registry; it lints proto/ with googleapis' protos
# copied beside it (the Buf Schema Registry is not reachable from here).
$(BUF):
	mkdir -p .tools
	cd .tools && npm install --silent --no-audit --no-fund --prefix . @bufbuild/buf@1.75.0 >/dev/null

clean:
	rm -rf $(BUILD) $(VENV) .tools
