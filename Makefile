# Countersign. `make run` serves the portal on the embedded store; `make test` runs every
# test. Both install what they need first (scripts/tools.sh), and skip what is there.

SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(CURDIR)/.tools/node_modules/.bin:$(PATH)

# Where `make run` keeps its store; delete it to start again from the demo data.
RUN_DATABASE ?= countersign.db

.PHONY: run test test-rust test-e2e bench build build-release tools clean audit oq

# The portal on this machine, built for a quick first start: debug builds (the profile the
# tests use, so most of what one compiles the other reuses) and, on the embedded store,
# without the AWS SDK. `COUNTERSIGN_BACKEND=aws make run` builds the AWS backend in. Demo models only go
# into the embedded store: never into a real AWS account.
run:
	@scripts/tools.sh build
	@scripts/site.sh dev
	@if [ "$${COUNTERSIGN_BACKEND:-local}" = local ]; then \
	  scripts/server.sh dev --no-default-features || exit $$?; \
	  echo "==> serving the portal on http://127.0.0.1:3000 (embedded store: $(RUN_DATABASE); Ctrl-C stops)"; \
	  export COUNTERSIGN_DEMO_DATA="$${COUNTERSIGN_DEMO_DATA:-true}"; \
	else \
	  scripts/server.sh dev || exit $$?; \
	  echo "==> serving the portal on http://127.0.0.1:3000 (backend: $$COUNTERSIGN_BACKEND; Ctrl-C stops)"; \
	fi; \
	COUNTERSIGN_DATABASE=$(RUN_DATABASE) exec ./target/debug/countersign serve

test: test-rust test-e2e

test-rust:
	@scripts/tools.sh test
	@echo "==> formatting (cargo fmt --check)"
	cargo fmt --all -- --check
	@scripts/check-file-sizes.sh
	@scripts/check-cited-tests.sh
	@scripts/check-changelog.sh
	@python3 scripts/requirements.py check
	@echo "==> the requirements check and the OQ report's own tests (python unittest)"
	python3 -m unittest discover -s scripts -p 'test_*.py'
	@echo "==> dependencies: licences, bans and sources (cargo deny; advisories: make audit)"
	cargo deny --locked check licenses bans sources
	@echo "==> cargo tests: workflow core, port contract on the embedded store and on moto, server (API, sign-in, SSO against oidc-provider, pages); the first build takes about 7 minutes on 2 cores, the tests about 1"
	cargo test --locked
	@echo "==> the portal's own tests (addresses, what the review page shows)"
	cargo test --locked -p countersign-app --features ssr
	@echo "==> lints (cargo clippy, warnings are errors; about 3 minutes the first time)"
	cargo clippy --locked --all-targets -- -D warnings
	cargo clippy --locked -p countersign-app --features ssr --all-targets -- -D warnings
	@echo "==> the laptop build (server without the AWS backend, as make run builds it): lints and its configuration tests"
	cargo clippy --locked -p countersign-server --no-default-features --all-targets -- -D warnings
	cargo test --locked -p countersign-server --no-default-features --lib config
	@scripts/check-wasm-deps.sh

# Known vulnerabilities in dependencies: needs the RustSec advisory database, fetched from
# GitHub, which CI and this project's build machines cannot reach.
audit:
	@scripts/tools.sh test
	cargo deny --locked check advisories

# The end-to-end tests run the debug site and the server binary `cargo test` builds beside its
# tests (same packages, same features: after test-rust nothing compiles again).
test-e2e:
	@scripts/tools.sh test
	@scripts/site.sh dev
	@echo "==> the server binary, as the cargo tests built it"
	cargo test --locked --no-run
	@echo "==> end-to-end tests in Debian's chromium, with and without JavaScript (about 3 minutes)"
	cd end2end && npx playwright test

bench: build-release
	@scripts/tools.sh bench
	cargo build --release -p countersign-bench-hello
	@echo "==> benchmark (figures, not pass/fail)"
	scripts/bench.sh

# The operational qualification: every suite on the release build, and the report with the
# traceability matrix and the end-to-end screenshots (target/oq/index.html). About an hour
# the first time on 2 cores; not part of `make test`.
oq: build-release
	@scripts/tools.sh oq
	scripts/oq.sh

# Debug: the server with the AWS backend, and the site.
build:
	@scripts/tools.sh build
	@scripts/site.sh dev
	@scripts/server.sh dev

# What deployments run and `make bench` measures: the optimised server and the size-optimised
# site; and the server's software bill of materials.
build-release:
	@scripts/tools.sh release
	@scripts/site.sh release
	@scripts/server.sh release
	@scripts/sbom.sh

tools:
	@scripts/tools.sh test

clean:
	cargo clean
	rm -rf .tools end2end/node_modules end2end/test-results
