#!/usr/bin/env bash
# `make oq`: the operational qualification. Runs every suite on the release build (the Rust
# suites with cargo-nextest, optimised as the release is but without its whole-program link,
# Cargo profile `qualify`; the end-to-end tests against the release server and site
# themselves, with a screenshot of every test) and writes the report: target/oq/index.html (what was
# qualified, the traceability matrix, the evidence, every test), traceability.csv, the
# suites' JUnit XML and requirements-junit.xml. Exits 1 unless every test passed and every
# requirement is proved. `make build-release` has built the server and the site.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/venv/bin:$PWD/.tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
out=target/oq
rm -rf "$out" end2end/test-results
mkdir -p "$out"
failed=0

echo "==> the Rust suites, optimised as the release is (cargo nextest, Cargo profile qualify; the first build takes about 25 minutes on 2 cores)"
cargo nextest run --cargo-profile qualify --locked --workspace --profile oq || failed=1
cp target/nextest/oq/junit.xml "$out/rust-junit.xml" || failed=1
echo "==> the portal's own tests (ssr), optimised"
cargo nextest run --cargo-profile qualify --locked -p countersign-app --features ssr --profile oq-app || failed=1
cp target/nextest/oq-app/junit.xml "$out/app-junit.xml" || failed=1

echo "==> end-to-end tests against the release server and site, a screenshot of each"
(
  cd end2end &&
    E2E_BIN="$PWD/../target/release/countersign" OQ_EVIDENCE=1 \
      PLAYWRIGHT_JUNIT_OUTPUT_NAME="$PWD/../$out/e2e-junit.xml" \
      npx playwright test --reporter=junit,line
) || failed=1

echo "==> the report"
python3 scripts/oq_report.py "$out" "$out/rust-junit.xml" "$out/app-junit.xml" "$out/e2e-junit.xml" || failed=1
exit "$failed"
