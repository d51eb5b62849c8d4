#!/usr/bin/env bash
# Rooms that stay small: no Rust source file over 600 lines (ARCHITECTURE.md, "Size").
# Tests are counted apart: a `tests.rs` beside its module, anything under a `tests/`
# directory. A file over the budget is split by what it is about, not trimmed.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=600
over="$(git ls-files --cached --others --exclude-standard -- '*.rs' \
  | grep -Ev '(^|/)tests(/|\.rs$)' \
  | while read -r file; do
      lines="$(wc -l < "$file")"
      if [ "$lines" -gt "$budget" ]; then echo "  $file: $lines lines"; fi
    done)"
if [ -n "$over" ]; then
  echo "file-sizes: source files over $budget lines (split them by topic):"
  echo "$over"
  exit 1
fi
echo "file-sizes: every source file is within $budget lines"
