#!/usr/bin/env bash
# The newest release in CHANGELOG.md is the version Cargo.toml builds: a change that ships is
# written down under the version that ships it (Annex 11 §10, change control).
set -euo pipefail
cd "$(dirname "$0")/.."
built="$(awk -F'"' '/^\[workspace.package\]/ { inside = 1 } inside && /^version = / { print $2; exit }' Cargo.toml)"
newest="$(grep -m1 -oE '^## \[[0-9]+\.[0-9]+\.[0-9]+\]' CHANGELOG.md | tr -d '#[] ')"
if [ -z "$built" ] || [ "$built" != "$newest" ]; then
  echo "changelog: Cargo.toml builds version ${built:-?}, but the newest entry in CHANGELOG.md is ${newest:-missing}" >&2
  exit 1
fi
echo "changelog: version $built is the newest entry"
