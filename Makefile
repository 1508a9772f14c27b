# storegw — the two commands first: `make demo`, `make test`.
SHELL := /bin/bash
NODE_MODULES_STAMP := node_modules/.package-lock.json
APT_PACKAGES := mosquitto mosquitto-clients socat chromium systemd fonts-wqy-microhei openssl
export NODE_OPTIONS ?=

.PHONY: deps build test demo bench typecheck clean

## deps: install only what is missing (Debian packages, then npm ci when the lock changed)
deps: $(NODE_MODULES_STAMP)
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else echo "deps: Debian packages present"; fi

$(NODE_MODULES_STAMP): package-lock.json package.json
	@echo "deps: npm ci (lock changed or node_modules missing; sqlite3 builds from source, ~1-2 min)"
	npm ci --no-audit --no-fund
	@touch $(NODE_MODULES_STAMP)

## build: bundle the gateway, the bridge and the pages into dist/
build: deps
	node build.mjs

## typecheck: tsc for the server, the pages and the browser-driving tests, each with its own tsconfig
typecheck: deps
	node test/helpers/typecheck.mjs

## test: type checks, then every suite — unit, integration (real aedes, Mosquitto, SQLite, socat), e2e (Chromium)
# The type check is a step of this recipe, not a prerequisite: a failing prerequisite would stop
# make before vitest and the closing "N passed, N failed" line; here its result is counted in it.
test: build
	@mkdir -p test-artifacts
	@rm -f test-artifacts/typecheck.json test-artifacts/vitest.json
	node test/helpers/typecheck.mjs --out test-artifacts/typecheck.json; tc=$$?; \
	npx vitest run --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest.json; rc=$$?; \
	node test/helpers/summary.mjs test-artifacts/vitest.json test-artifacts/typecheck.json; \
	if [ $$tc -ne 0 ] || [ $$rc -ne 0 ]; then exit 1; fi

## demo: the whole store on config/demo.yaml; Ctrl-C stops everything
demo: build
	node dist/demo.js --config config/demo.yaml

## bench: load generator against storegw, bare aedes and Mosquitto in one run
bench: build
	node dist/bench.js

clean:
	rm -rf dist test-artifacts bench-results.json
