#!/usr/bin/env bash
# Builds the server binary, saying first what it builds and roughly how long the first build
# takes on a two-core machine (later builds recompile only what changed).
#
#   scripts/server.sh dev [cargo args]      target/debug/countersign
#   scripts/server.sh release [cargo args]  target/release/countersign, optimised
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-dev}"
shift || true
case "$mode" in
  dev) profile=(); built=target/debug ;;
  release) profile=(--release); built=target/release ;;
  *) echo "usage: scripts/server.sh dev|release [cargo args]" >&2; exit 2 ;;
esac

what="the server ($mode"
first="about 4 minutes"
if [[ " $* " == *" --no-default-features "* ]]; then
  what+=", embedded store only"
else
  what+=", with the AWS backend"
  first="about 7 minutes"
fi
[ "$mode" = release ] && first="about 25 minutes"
what+=")"
if [ -x "$built/countersign" ]; then
  printf '==> building %s\n' "$what"
else
  printf '==> building %s, the first time: %s on 2 cores\n' "$what" "$first"
fi
exec cargo build --locked --package countersign-server "${profile[@]}" "$@"
