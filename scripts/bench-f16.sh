#!/usr/bin/env bash
# Runs bench/f16-accuracy.ts under Deno (wgpu). Without a GPU, on Mesa's lavapipe: a CPU Vulkan
# driver that has shaderFloat16, where Dawn's SwiftShader has none.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
if [ -z "${VK_ICD_FILENAMES:-}" ] && [ ! -e /dev/nvidia0 ] && [ ! -e /dev/dri/renderD128 ]; then
  lavapipe=$(ls /usr/share/vulkan/icd.d/lvp_icd.*.json 2>/dev/null | head -1 || true)
  [ -n "$lavapipe" ] || { echo "bench:f16: no GPU and no lavapipe driver; install mesa-vulkan-drivers (scripts/setup-debian.sh)" >&2; exit 1; }
  export VK_ICD_FILENAMES="$lavapipe"
fi
deno=node_modules/@deno/linux-x64-glibc/deno
[ -x "$deno" ] || deno=$(command -v deno || true)
[ -n "$deno" ] || { echo "bench:f16: needs Deno (npm install brings node_modules/@deno/linux-x64-glibc)" >&2; exit 1; }
exec "$deno" run -A --sloppy-imports bench/f16-accuracy.ts "$@"
