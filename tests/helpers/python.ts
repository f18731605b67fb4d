// The Python that the PyTorch checks run (tests/torch/): the first that imports torch, from
// $WEBGPU_VAE_PYTHON, Debian's /usr/bin/python3 (setup-debian.sh installs python3-torch there), then
// the PATH's. Without one those checks are skipped locally, and fail under CI (CI=true), so they
// are never silently absent there.
import { spawnSync } from 'node:child_process';

export function pythonWithTorch(): string | null {
  for (const python of [process.env.WEBGPU_VAE_PYTHON, '/usr/bin/python3', 'python3']) {
    if (python && spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return python;
  }
  return null;
}
