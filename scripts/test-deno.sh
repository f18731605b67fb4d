#!/usr/bin/env bash
# Runs the kernel tests on Deno's WebGPU (wgpu + naga). Without a GPU, the Vulkan loader is pointed
# at Chromium's SwiftShader driver, as the Node runtime does. Then, unless file arguments pick
# other tests, the half-precision tests on Mesa's lavapipe, which has shaderFloat16 (SwiftShader
# has none), with WEBGPU_VAE_REQUIRE_F16=1 so that pass cannot pass on the refusal branch.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deno-env.sh

# In CI a missing tool means the install went wrong: fail rather than pass without testing.
missing() {
  if [ -n "${CI:-}" ]; then echo "test:deno: $1; CI requires it" >&2; exit 1; fi
  echo "test:deno: $2 SKIPPED: $1 ($3)" >&2
  exit 0
}

deno=$(deno_binary)
[ -n "$deno" ] || missing "no Deno binary (node_modules/@deno/linux-x64-glibc/deno or deno on PATH)" "all tests" "install Deno to run them"
if [ -z "${VK_ICD_FILENAMES:-}" ] && ! has_gpu; then
  VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json "$deno" run -A --sloppy-imports node_modules/vitest/vitest.mjs run -c vitest.deno.config.ts "$@"
else
  "$deno" run -A --sloppy-imports node_modules/vitest/vitest.mjs run -c vitest.deno.config.ts "$@"
fi

[ $# -eq 0 ] || exit 0
lavapipe=$(lavapipe_icd)
[ -n "$lavapipe" ] || missing "no lavapipe Vulkan driver (/usr/share/vulkan/icd.d/lvp_icd.*.json) for the f16 tests" "f16 tests" "install mesa-vulkan-drivers"
VK_ICD_FILENAMES="$lavapipe" WEBGPU_VAE_REQUIRE_F16=1 exec "$deno" run -A --sloppy-imports node_modules/vitest/vitest.mjs run -c vitest.deno-f16.config.ts
