import { defineConfig } from 'vitest/config';
import { fileScheduling } from './tests/run-order.ts';

// The kernel and gradient tests under Deno, whose WebGPU is wgpu with the naga WGSL compiler: a
// second implementation beside Dawn/Tint, so no kernel relies on one compiler's leniency.
// Run through scripts/test-deno.sh (vitest itself runs on Deno's Node compatibility layer). Files
// run two at a time, the slowest first (tests/run-order.ts).
export default defineConfig({
  test: {
    include: [
      'tests/matmul.test.ts', 'tests/activation.test.ts', 'tests/reparam.test.ts', 'tests/reparam-backward.test.ts', 'tests/elbo.test.ts', 'tests/kl-capacity.test.ts', 'tests/likelihood.test.ts', 'tests/iwae.test.ts',
      'tests/concat.test.ts', 'tests/uniform.test.ts', 'tests/tensor-plan.test.ts', 'tests/tensor-plan-graph.test.ts',
      'tests/conv.test.ts', 'tests/conv-im2col.test.ts', 'tests/conv-layers.test.ts', 'tests/group-norm.test.ts', 'tests/dsprites-kernel.test.ts', 'tests/generated-sprites.test.ts', 'tests/likelihood-predicted.test.ts', 'tests/dequantize.test.ts',
      'tests/adam.test.ts', 'tests/grad-norm.test.ts', 'tests/batch.test.ts', 'tests/gradcheck.test.ts', 'tests/rng.test.ts', 'tests/tc.test.ts', 'tests/kernels-api.test.ts',
    ],
    ...fileScheduling(),
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
