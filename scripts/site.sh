#!/usr/bin/env bash
# Builds the browser half of the portal into target/site: the WASM that hydrates the pages,
# its JavaScript glue, the stylesheet and the public assets. This is what `cargo leptos build`
# does, with plain cargo, wasm-bindgen and (release) wasm-opt, so that nobody has to spend
# twenty minutes installing cargo-leptos first. Developers who have it can still run
# `cargo leptos watch`; both write the same site.
#
#   scripts/site.sh dev      debug WASM: quick to build, what `make run` and `make test` serve
#   scripts/site.sh release  size-optimised WASM (profile wasm-release, wasm-opt -Oz)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }
# Where scripts/tools.sh puts wasm-bindgen (cargo) and wasm-opt (npm binaryen).
export PATH="$HOME/.cargo/bin:$PWD/.tools/node_modules/.bin:$PATH"

mode="${1:-dev}"
case "$mode" in
  dev) profile=dev; built=debug ;;
  release) profile=wasm-release; built=wasm-release ;;
  *) echo "usage: scripts/site.sh dev|release" >&2; exit 2 ;;
esac

site=target/site
pkg="$site/pkg"
# The server finds these files by the site's name (`countersign`, as in Cargo.toml's
# [[workspace.metadata.leptos]]): pkg/countersign.js, pkg/countersign_bg.wasm, pkg/countersign.css.
name=countersign

if [ ! -d "target/wasm32-unknown-unknown/$built" ]; then
  say "building the browser WASM ($mode), the first time: about 2 minutes on 2 cores"
else
  say "building the browser WASM ($mode)"
fi
cargo build --locked --package countersign-app --lib --target wasm32-unknown-unknown \
  --no-default-features --features hydrate --profile "$profile"

say "generating the WASM's JavaScript glue (wasm-bindgen, a few seconds)"
staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
wasm-bindgen --target web --no-typescript --out-dir "$staging" --out-name "$name" \
  "target/wasm32-unknown-unknown/$built/countersign_app.wasm"

if [ "$mode" = release ]; then
  say "shrinking the WASM (wasm-opt -Oz, about a minute)"
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    -o "$staging/${name}_bg.opt.wasm" "$staging/${name}_bg.wasm"
  mv "$staging/${name}_bg.opt.wasm" "$staging/${name}_bg.wasm"
fi

cp style/main.css "$staging/$name.css"
# Served precompressed (the server sends the .br or .gz to browsers that accept it), so no
# request pays for compressing the WASM. Brotli, a fifth smaller, only for release: at its best
# quality the debug WASM's megabytes would take a minute on every build.
gzip -9 --keep --force "$staging/${name}_bg.wasm" "$staging/$name.js" "$staging/$name.css"
if [ "$mode" = release ]; then
  brotli --best --keep --force "$staging/${name}_bg.wasm" "$staging/$name.js" "$staging/$name.css"
fi

mkdir -p "$site"
cp -R public/. "$site/"
rm -rf "$pkg"
mv "$staging" "$pkg"
trap - EXIT
chmod 755 "$pkg"
say "site ready in $site ($(du -h "$pkg/${name}_bg.wasm" | cut -f1) of WASM, $(du -h "$pkg/${name}_bg.wasm.gz" | cut -f1) gzipped)"
