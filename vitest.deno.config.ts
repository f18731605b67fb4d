import { defineConfig } from 'vitest/config';
import { KERNEL_TESTS } from './tests/suites.ts';
import { fileScheduling } from './tests/run-order.ts';

// The kernel and gradient tests under Deno, whose WebGPU is wgpu with the naga WGSL compiler: a
// second implementation beside Dawn/Tint, so no kernel relies on one compiler's leniency.
// Run through scripts/test-deno.sh (vitest itself runs on Deno's Node compatibility layer). Files
// run two at a time, the slowest first (tests/run-order.ts).
export default defineConfig({
  test: {
    include: [...KERNEL_TESTS],
    ...fileScheduling(),
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
