import { defineConfig } from 'vitest/config';
import { fileScheduling } from './tests/run-order.ts';

// Kernel tests share one software GPU (SwiftShader) on a small machine. Each test process compiles
// on one thread, so files run two at a time, the slowest first (tests/run-order.ts); slow
// software-GPU tests get room.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Browser-only and end-to-end suites have their own configs.
    exclude: ['tests/**/*.browser.test.ts', 'tests/e2e/**', 'node_modules/**'],
    ...fileScheduling(),
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
