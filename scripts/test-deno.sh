#!/usr/bin/env bash
# Runs the kernel tests on Deno's WebGPU (wgpu + naga). Deno comes from the npm package `deno`.
# Without a GPU, point the Vulkan loader at Chromium's SwiftShader driver, as the Node runtime does.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
if [ -z "${VK_ICD_FILENAMES:-}" ] && [ ! -e /dev/nvidia0 ] && [ ! -e /dev/dri/renderD128 ]; then
  export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
fi
exec node_modules/.bin/deno run -A --sloppy-imports node_modules/vitest/vitest.mjs run -c vitest.deno.config.ts "$@"
