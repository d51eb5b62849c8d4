#!/usr/bin/env bash
# Installs what building and testing Countersign needs, skipping whatever is already there
# at the right version. Everything comes from crates.io, npm, or Debian's packages: nothing
# is downloaded from anywhere else, at build or test time.
#
#   scripts/tools.sh build   the Rust toolchain pieces: the WASM target and wasm-bindgen
#   scripts/tools.sh release the above, and wasm-opt, brotli and cargo-cyclonedx (the SBOM)
#                            for release builds
#   scripts/tools.sh test    the build tools, Chromium, the test servers' npm packages, and
#                            moto (PyPI, in the virtualenv .tools/venv)
#   scripts/tools.sh bench   the test tools, and wrk (Debian) for load from a second process
#   scripts/tools.sh oq      the test tools, and cargo-nextest for the qualification's JUnit
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }

want="${1:-build}"
qualify=no
if [ "$want" = oq ]; then
  qualify=yes
  want=test
fi
if [ "$want" = bench ]; then
  if ! command -v wrk > /dev/null; then
    say "installing wrk (Debian) to load the server from a second process (under a minute)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
  fi
  want=test
fi
BINARYEN_VERSION=132         # Debian's binaryen is too old for rustc 1.95's WASM
MOTO_VERSION=5.2.5           # the AWS emulator the AWS backend's tests run against
CARGO_DENY_VERSION=0.20.2    # dependency licences, bans and sources in make test
NEXTEST_VERSION=0.9.143      # runs make oq's suites and writes their JUnit XML
CYCLONEDX_VERSION=0.5.9      # the release build's software bill of materials
TOOLS_DIR="$PWD/.tools"


export PATH="$HOME/.cargo/bin:$TOOLS_DIR/node_modules/.bin:$PATH"

# The tools this script compiles run for seconds per build: a light release profile (no LTO,
# parallel codegen, opt-level 1) builds them in half the time and they still run fast.
cheap_install() {
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=false \
    CARGO_PROFILE_RELEASE_STRIP=true cargo install "$@"
}

if [ "$qualify" = yes ] && ! cargo nextest --version > /dev/null 2>&1; then
  say "installing cargo-nextest $NEXTEST_VERSION from crates.io, which runs the qualification's suites (about 5 minutes, once)"
  cheap_install cargo-nextest --version "$NEXTEST_VERSION" --locked
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the Rust target wasm32-unknown-unknown (the browser build)"
  rustup target add wasm32-unknown-unknown
fi

# The site is built without cargo-leptos (scripts/site.sh), whose install alone takes twenty
# minutes here; wasm-bindgen must be exactly the version Cargo.lock names.
bindgen_version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $bindgen_version" ]; then
  say "installing wasm-bindgen-cli $bindgen_version, the version Cargo.lock names (about 3 minutes, once)"
  # Not --locked: its lock file names a crate version the registry no longer serves.
  cheap_install wasm-bindgen-cli --version "$bindgen_version"
fi

if [ "$want" = release ]; then
  if [ "$(cargo cyclonedx --version 2>/dev/null || true)" != "cargo-cyclonedx-cyclonedx $CYCLONEDX_VERSION" ]; then
    say "installing cargo-cyclonedx $CYCLONEDX_VERSION from crates.io, for the release build's bill of materials (about 3 minutes, once)"
    cheap_install cargo-cyclonedx --version "$CYCLONEDX_VERSION" --locked
  fi
  if ! command -v brotli > /dev/null; then
    say "installing brotli (Debian) to precompress the release site's assets (seconds)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq brotli
  fi
  if [ ! -x "$TOOLS_DIR/node_modules/.bin/wasm-opt" ]; then
    say "installing wasm-opt (npm binaryen@$BINARYEN_VERSION) for release builds (a few seconds)"
    mkdir -p "$TOOLS_DIR"
    npm install --prefix "$TOOLS_DIR" --no-fund --no-audit --loglevel=error "binaryen@$BINARYEN_VERSION"
  fi
fi

if [ "$want" = test ]; then
  if [ "$(cargo deny --version 2>/dev/null || true)" != "cargo-deny $CARGO_DENY_VERSION" ]; then
    say "installing cargo-deny $CARGO_DENY_VERSION from crates.io, to check dependencies' licences and sources (about 3 minutes, once)"
    cheap_install cargo-deny --version "$CARGO_DENY_VERSION" --locked
  fi
  if [ "$("$TOOLS_DIR/venv/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null || true)" != "$MOTO_VERSION" ]; then
    say "installing moto $MOTO_VERSION (PyPI), the AWS emulator, into .tools/venv (about a minute, once)"
    python3 -m venv "$TOOLS_DIR/venv"
    "$TOOLS_DIR/venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  fi
  if [ ! -x /usr/bin/chromium ]; then
    say "installing Debian's chromium for the end-to-end tests (a minute or two, once)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  fi
  if [ ! -d end2end/node_modules/@playwright/test ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    say "installing the Playwright test runner (npm; it uses Debian's chromium, no browser download; seconds)"
    (cd end2end && npm ci --no-fund --no-audit --loglevel=error)
  fi
fi
