import { defineConfig } from 'vitest/config';

// Kernel tests share one software GPU (SwiftShader) on a small machine: run test files one at a
// time so their timings and memory stay predictable, and give slow software-GPU tests room.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Browser-only and end-to-end suites have their own configs.
    exclude: ['tests/**/*.browser.test.ts', 'tests/e2e/**', 'node_modules/**'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
