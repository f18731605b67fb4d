# Sourced by the Deno scripts (test-deno.sh, bench-f16.sh): where Deno and the CPU Vulkan drivers are.
#   deno_binary      prints the Deno binary: node_modules/@deno/linux-x64-glibc/deno (the build
#                    the `deno` development dependency installs on linux-x64) or a `deno` on PATH;
#                    prints nothing when there is none.
#   lavapipe_icd     prints the ICD file of Mesa's lavapipe (Debian's mesa-vulkan-drivers), a CPU
#                    Vulkan driver with shaderFloat16; nothing when it is not installed.
#   has_gpu          true when the machine has a GPU device node.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

deno_binary() {
  local bin=node_modules/@deno/linux-x64-glibc/deno
  [ -x "$bin" ] || bin=$(command -v deno || true)
  echo "$bin"
}

lavapipe_icd() {
  ls /usr/share/vulkan/icd.d/lvp_icd.*.json 2>/dev/null | head -1 || true
}

has_gpu() {
  [ -e /dev/nvidia0 ] || [ -e /dev/dri/renderD128 ]
}
