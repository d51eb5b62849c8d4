#!/usr/bin/env bash
# Every test README.md, ARCHITECTURE.md and docs/ cite by name exists: a name in backticks
# with four or more underscores is taken for a Rust test and must be some `fn` in the tree.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=0
for name in $(grep -ohE '`[a-z0-9]+(_[a-z0-9]+){4,}`' README.md ARCHITECTURE.md docs/*.md | tr -d '`' | sort -u); do
  if ! grep -rqE "fn ${name}\b" --include='*.rs' app server; then
    echo "cited but not a test in the tree: ${name}"
    missing=1
  fi
done
if [ "$missing" -ne 0 ]; then
  echo "cited-tests: rename the citation or the test" >&2
  exit 1
fi
echo "cited-tests: every test the documents name exists"
