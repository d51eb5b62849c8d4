#!/usr/bin/env bash
# The release build's software bill of materials: every crate the server binary is built
# from (build dependencies included), with versions, licences and checksums, as CycloneDX
# 1.5 JSON in target/release/countersign.cdx.json (cargo-cyclonedx, from Cargo.lock).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "==> the software bill of materials (CycloneDX)"
cargo cyclonedx --manifest-path server/Cargo.toml --format json --spec-version 1.5 \
  --describe binaries --quiet
mkdir -p target/release
mv server/countersign_bin.cdx.json target/release/countersign.cdx.json
# cargo-cyclonedx describes every package of the workspace beside its Cargo.toml: only the
# server's is wanted.
find app server -name '*.cdx.json' -delete
echo "    target/release/countersign.cdx.json"
