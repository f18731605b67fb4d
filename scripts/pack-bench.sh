#!/usr/bin/env bash
# Packs what `bench/gpu.sh` and the Node test suite need on a GPU machine that has neither Node nor
# a package registry: this machine's `node` binary (stripped) and node_modules, less what only
# other platforms, browsers, Deno or type checking use (Dawn for Windows and macOS, Playwright, the
# Deno binary, TypeScript, source maps, TF.js's ES modules, caches). About 45 MiB as .tar.xz.
#
#   bash scripts/pack-bench.sh [OUT.tar.xz]        # default: bench-runtime.tar.xz
#
# On the GPU machine, beside a checkout of the same commit (x86-64 Linux, glibc 2.28 or later,
# the Vulkan loader libvulkan.so.1 and the GPU's Vulkan driver):
#   mkdir -p /tmp/rt && tar -C /tmp/rt -xJf bench-runtime.tar.xz
#   ln -s /tmp/rt/node_modules node_modules && export PATH=/tmp/rt/bin:$PATH
#   bash bench/gpu.sh                                  # and node_modules/.bin/vitest run
# Tests that build the package (npm), type-check the docs (TypeScript) or drive a browser fail
# there for want of those tools; every kernel and model test runs.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench-runtime.tar.xz}
[ -d node_modules/webgpu ] || { echo "pack-bench.sh: run npm ci first" >&2; exit 1; }
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin"
cp "$(command -v node)" "$stage/bin/node"
strip "$stage/bin/node" 2>/dev/null || true
tar -cf - \
  --exclude='*.map' --exclude='*.d.ts' --exclude='*.min.js' --exclude='*.es2017.js' --exclude='*.fesm.js' \
  --exclude='node_modules/webgpu/dist/win32-*' --exclude='node_modules/webgpu/dist/darwin-*' \
  --exclude='node_modules/webgpu/dist/linux-arm64' --exclude='*/miniprogram' \
  --exclude='node_modules/@deno' --exclude='node_modules/typescript' --exclude='node_modules/playwright*' \
  --exclude='node_modules/core-js' --exclude='node_modules/lightningcss-linux-*' --exclude='node_modules/.cache' \
  node_modules | tar -C "$stage" -xf -
# Node loads TF.js through each package's CommonJS bundle (dist/*.node.js); the per-module ES
# files beside it serve bundlers (the Chromium page), which such a machine does not run.
find "$stage/node_modules/@tensorflow" -path '*/dist/*' -type f ! -name '*.node.js' -delete
find "$stage/node_modules/@tensorflow" -depth -type d -empty -delete
tar -C "$stage" -cf - bin node_modules | xz -T0 -9 > "$out"
echo "pack-bench.sh: wrote $out ($(du -h "$out" | cut -f1)), node $(node --version)" >&2
