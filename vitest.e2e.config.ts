import { defineConfig } from 'vitest/config';
import { fileScheduling } from './tests/run-order.ts';

// End-to-end tests of the browser demo (npm run test:e2e): build it, serve dist-demo/ with
// `vite preview`, drive the system Chromium with Playwright from Node. Each file launches its own
// browser; two run at a time, the slowest first (tests/run-order.ts): on 2 cores 166 s against
// 194 s one at a time. Training in the browser on SwiftShader needs long timeouts.
// WEBGPU_VAE_E2E tells the test files they run under this config (with its build + preview
// server); under any other config that happens to match them they skip instead of failing.
export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.test.ts'],
    globalSetup: ['tests/e2e/setup.ts'],
    env: { WEBGPU_VAE_E2E: '1' },
    ...fileScheduling(),
    // About 10-25 s per test on an idle 2-core machine; the tests wait for events, and these limits
    // only stop a hung run on a busy shared one.
    testTimeout: 900_000,
    hookTimeout: 120_000,
  },
});
