import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { chromiumArgs } from './tests/browser-flags.ts';

// The kernel and gradient tests again, inside headless Chromium, so every kernel is also checked
// on the browser's WebGPU (Chromium's Dawn, Tint) and not only on Dawn in Node. Tests that need
// Node (files, the CLI, the MNIST package) stay in the Node run.
export default defineConfig({
  test: {
    include: [
      'tests/matmul.test.ts', 'tests/activation.test.ts', 'tests/reparam.test.ts', 'tests/reparam-backward.test.ts', 'tests/elbo.test.ts', 'tests/kl-capacity.test.ts', 'tests/likelihood.test.ts', 'tests/iwae.test.ts',
      'tests/concat.test.ts', 'tests/uniform.test.ts', 'tests/tensor-plan.test.ts', 'tests/tensor-plan-graph.test.ts',
      'tests/conv.test.ts', 'tests/conv-im2col.test.ts', 'tests/conv-layers.test.ts', 'tests/group-norm.test.ts', 'tests/dsprites-kernel.test.ts', 'tests/generated-sprites.test.ts', 'tests/likelihood-predicted.test.ts', 'tests/dequantize.test.ts',
      'tests/adam.test.ts', 'tests/grad-norm.test.ts', 'tests/batch.test.ts', 'tests/gradcheck.test.ts', 'tests/rng.test.ts', 'tests/tc.test.ts',
      'tests/kernels-api.test.ts', 'tests/package.browser.test.ts', 'tests/image-files.browser.test.ts', 'tests/run-log.browser.test.ts', 'tests/device-lost.browser.test.ts',
    ],
    // The files of a run share the browser's GPU process, which compiles on one thread: running
    // them side by side gains nothing (217 s against 222 s). scripts/test-browser.sh starts two
    // runs with a browser each instead.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
    browser: {
      enabled: true,
      headless: true,
      provider: playwright({ launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: chromiumArgs() } }),
      instances: [{ browser: 'chromium' }],
    },
  },
});
