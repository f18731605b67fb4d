#!/usr/bin/env bash
# Runs the kernel tests on Deno's WebGPU (wgpu + naga). The Deno binary comes from the npm package
# @deno/linux-x64-glibc (an optional dependency: the registry serves no other platform's build),
# or from a `deno` on PATH. Without a GPU, point the Vulkan loader at Chromium's SwiftShader
# driver, as the Node runtime does.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
if [ -z "${VK_ICD_FILENAMES:-}" ] && [ ! -e /dev/nvidia0 ] && [ ! -e /dev/dri/renderD128 ]; then
  export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
fi
deno=node_modules/@deno/linux-x64-glibc/deno
[ -x "$deno" ] || deno=$(command -v deno || true)
if [ -z "$deno" ]; then
  # In CI a missing Deno means the install went wrong: fail rather than pass without testing.
  if [ -n "${CI:-}" ]; then
    echo "test:deno: no Deno binary (node_modules/@deno/linux-x64-glibc/deno or deno on PATH); CI requires it" >&2
    exit 1
  fi
  echo "test:deno: SKIPPED: no Deno binary for this platform (install Deno to run these tests)" >&2
  exit 0
fi
exec "$deno" run -A --sloppy-imports node_modules/vitest/vitest.mjs run -c vitest.deno.config.ts "$@"
