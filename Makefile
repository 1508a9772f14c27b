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
	@echo "deps: npm ci (lock changed or node_modules missing; better-sqlite3 builds from source when no prebuilt binary is reachable, ~4-5 min on a busy 2-core box)"
	npm ci --no-audit --no-fund
	@touch $(NODE_MODULES_STAMP)

## build: bundle the gateway, the bridge and the pages into dist/
build: deps
	node build.mjs

typecheck: deps
	npx tsc -p tsconfig.json

## test: every suite — unit, integration (real aedes, Mosquitto, SQLite, socat), e2e (Chromium)
test: build
	@mkdir -p test-artifacts
	npx vitest run --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest.json; rc=$$?; \
	node test/helpers/summary.mjs test-artifacts/vitest.json; exit $$rc

## demo: the whole store on config/demo.yaml; Ctrl-C stops everything
demo: build
	node dist/demo.js --config config/demo.yaml

## bench: load generator against storegw, bare aedes and Mosquitto in one run
bench: build
	node dist/bench.js

clean:
	rm -rf dist test-artifacts bench-results.json
