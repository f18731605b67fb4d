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
"$deno" run -A --sloppy-imports node_modules/vitest/vitest.mjs run -c vitest.deno.config.ts "$@"

# Half precision needs a driver with shaderFloat16: Mesa's lavapipe (Debian's mesa-vulkan-drivers,
# installed by scripts/setup-debian.sh). Skipped when file arguments pick other tests.
[ $# -eq 0 ] || exit 0
lavapipe=$(ls /usr/share/vulkan/icd.d/lvp_icd.*.json 2>/dev/null | head -1 || true)
if [ -z "$lavapipe" ]; then
  if [ -n "${CI:-}" ]; then
    echo "test:deno: no lavapipe Vulkan driver (/usr/share/vulkan/icd.d/lvp_icd.*.json) for the f16 tests; CI requires it" >&2
    exit 1
  fi
  echo "test:deno: f16 tests SKIPPED: no lavapipe driver (install mesa-vulkan-drivers)" >&2
  exit 0
fi
VK_ICD_FILENAMES="$lavapipe" WEBGPU_VAE_REQUIRE_F16=1 exec "$deno" run -A --sloppy-imports node_modules/vitest/vitest.mjs run -c vitest.deno-f16.config.ts
