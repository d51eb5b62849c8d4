#!/usr/bin/env bash
# The browser build must never link server-only crates (see ARCHITECTURE.md, app/).
set -euo pipefail
cd "$(dirname "$0")/.."
forbidden='^(tokio|rusqlite|libsqlite3-sys|aws-[a-z-]+|openidconnect|oauth2|lettre|axum|hyper|countersign-local-store|countersign-aws|utoipa|jsonwebtoken|csv) '
found="$(cargo tree --locked -p countersign-app --no-default-features --features hydrate \
  --target wasm32-unknown-unknown -e normal --prefix none | sort -u | grep -E "$forbidden" || true)"
if [ -n "$found" ]; then
  echo "wasm-deps: the WASM build links server-only crates:"
  echo "$found"
  exit 1
fi
echo "wasm-deps: the WASM build links no server-only crate"
