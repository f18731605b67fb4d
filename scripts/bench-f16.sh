#!/usr/bin/env bash
# Runs bench/f16-accuracy.ts under Deno (wgpu). Without a GPU, on Mesa's lavapipe: a CPU Vulkan
# driver that has shaderFloat16, where Dawn's SwiftShader has none.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deno-env.sh
if [ -z "${VK_ICD_FILENAMES:-}" ] && ! has_gpu; then
  lavapipe=$(lavapipe_icd)
  [ -n "$lavapipe" ] || { echo "bench:f16: no GPU and no lavapipe driver; install mesa-vulkan-drivers (scripts/setup-debian.sh)" >&2; exit 1; }
  export VK_ICD_FILENAMES="$lavapipe"
fi
deno=$(deno_binary)
[ -n "$deno" ] || { echo "bench:f16: needs Deno (npm install brings node_modules/@deno/linux-x64-glibc)" >&2; exit 1; }
exec "$deno" run -A --sloppy-imports bench/f16-accuracy.ts "$@"
