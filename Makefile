# Countersign. `make run` serves the portal on the embedded store; `make test` runs every
# test. Both install what they need first (scripts/tools.sh), and skip what is there.

SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(CURDIR)/.tools/node_modules/.bin:$(PATH)

# Where `make run` keeps its store; delete it to start again from the demo data.
RUN_DATABASE ?= countersign.db

.PHONY: run test test-rust test-e2e bench build build-release tools clean audit

# Demo models only go into the embedded store: never into a real AWS account.
run: build-release
	@if [ "$${COUNTERSIGN_BACKEND:-local}" = local ]; then \
	  echo "==> serving the portal on http://127.0.0.1:3000 (embedded store: $(RUN_DATABASE); Ctrl-C stops)"; \
	  export COUNTERSIGN_DEMO_DATA="$${COUNTERSIGN_DEMO_DATA:-true}"; \
	else \
	  echo "==> serving the portal on http://127.0.0.1:3000 (backend: $$COUNTERSIGN_BACKEND; Ctrl-C stops)"; \
	fi; \
	COUNTERSIGN_DATABASE=$(RUN_DATABASE) exec ./target/release/countersign serve

test: test-rust test-e2e

test-rust:
	@scripts/tools.sh test
	@echo "==> formatting (cargo fmt --check)"
	cargo fmt --all -- --check
	@echo "==> dependencies: licences, bans and sources (cargo deny; advisories: make audit)"
	cargo deny --locked check licenses bans sources
	@echo "==> cargo tests: workflow core, port contract on the embedded store and on moto, server (API, sign-in, SSO against oidc-provider, pages)"
	cargo test --locked
	@echo "==> the portal's own tests (addresses, what the review page shows)"
	cargo test --locked -p countersign-app --features ssr
	@echo "==> lints (cargo clippy, warnings are errors)"
	cargo clippy --locked --all-targets -- -D warnings
	cargo clippy --locked -p countersign-app --features ssr --all-targets -- -D warnings
	@scripts/check-wasm-deps.sh

# Known vulnerabilities in dependencies: needs the RustSec advisory database, fetched from
# GitHub, which CI and this project's build machines cannot reach.
audit:
	@scripts/tools.sh test
	cargo deny --locked check advisories

# The end-to-end tests need the server and WASM that `cargo leptos build` makes together: a
# debug build compiles both with `--cfg erase_components`, so a server from a plain
# `cargo build` renders pages the debug WASM cannot hydrate.
test-e2e: build
	@scripts/tools.sh test
	@echo "==> end-to-end tests in Debian's chromium, with and without JavaScript"
	cd end2end && npx playwright test

bench: build-release
	@scripts/tools.sh bench
	cargo build --release -p countersign-bench-hello
	@echo "==> benchmark (figures, not pass/fail)"
	scripts/bench.sh

build:
	@scripts/tools.sh build
	@echo "==> building the portal (server and WASM, debug)"
	cargo leptos build

build-release:
	@scripts/tools.sh release
	@echo "==> building the portal (server and WASM, release)"
	cargo leptos build --release

tools:
	@scripts/tools.sh test

clean:
	cargo clean
	rm -rf .tools end2end/node_modules end2end/test-results
