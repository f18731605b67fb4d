#!/usr/bin/env bash
# Installs the system packages webgpu-vae needs on Debian/Ubuntu when they are missing:
#   chromium    ships SwiftShader, the CPU Vulkan driver used when the machine has no GPU,
#               and is the browser the Playwright tests drive;
#   libvulkan1  the Vulkan loader that Dawn (npm `webgpu`) opens;
#   xvfb        a virtual X display for the end-to-end test that checks the demo's default
#               presentation path by its pixels in a headful browser (tests/e2e/xvfb.ts);
#   dataset-fashion-mnist  Fashion-MNIST's IDX files (gzipped) in /usr/share/datasets/fashion-mnist;
#   mesa-vulkan-drivers    Mesa's lavapipe, a CPU Vulkan driver with 16-bit floats, on which the
#               half-precision tests run under Deno (SwiftShader has no shader-f16);
#   python3-torch  PyTorch, the independent implementation one training step is checked against
#               (tests/torch-parity.test.ts) and the learning curves compared with (bench/quality).
# Safe to run repeatedly; does nothing when all are present.
set -euo pipefail

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
# grep without -q reads all of ldconfig's output: with -q it exits at the first match, ldconfig
# dies of SIGPIPE on a long cache, and pipefail would take the library as missing.
ldconfig -p 2>/dev/null | grep 'libvulkan\.so\.1' > /dev/null || need+=(libvulkan1)
command -v Xvfb >/dev/null || need+=(xvfb)
[ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need+=(dataset-fashion-mnist)
compgen -G '/usr/share/vulkan/icd.d/lvp_icd.*.json' >/dev/null || need+=(mesa-vulkan-drivers)
/usr/bin/python3 -c 'import torch' 2>/dev/null || need+=(python3-torch)
[ ${#need[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "setup: please install ${need[*]} with your package manager (this script knows apt-get only)" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: run as root, or install sudo, to install ${need[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${need[@]}" >/dev/null
