#!/usr/bin/env bash
# Every requirement in docs/requirements.md names at least one test that proves it, and every
# test it names is a `fn` in the tree (issue 27: a requirement without a test fails the build).
set -euo pipefail
cd "$(dirname "$0")/.."
failed=0
rows=0
while IFS= read -r row; do
  rows=$((rows + 1))
  id="$(printf '%s' "$row" | cut -d'|' -f2 | tr -d ' ')"
  proved_by="$(printf '%s' "$row" | awk -F'|' '{ print $(NF - 1) }')"
  names="$(printf '%s' "$proved_by" | grep -oE '`[a-z0-9_]+`' | tr -d '`' || true)"
  if [ -z "$names" ]; then
    echo "requirements: $id names no test that proves it"
    failed=1
  fi
  for name in $names; do
    if ! grep -rqE "fn ${name}\b" --include='*.rs' app server; then
      echo "requirements: $id names $name, which is not a test in the tree"
      failed=1
    fi
  done
done < <(grep -E '^\| [A-Z]+-[0-9]+ \|' docs/requirements.md)
if [ "$rows" -eq 0 ]; then
  echo "requirements: no requirement rows found in docs/requirements.md" >&2
  exit 1
fi
if [ "$failed" -ne 0 ]; then
  exit 1
fi
echo "requirements: each of $rows requirements names tests that exist"
