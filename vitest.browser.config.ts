import { defineConfig } from 'vitest/config';
import { KERNEL_TESTS, BROWSER_ONLY_TESTS } from './tests/suites.ts';
import { playwright } from '@vitest/browser-playwright';
import { chromiumArgs } from './tests/browser-flags.ts';

// The kernel and gradient tests again, inside headless Chromium, so every kernel is also checked
// on the browser's WebGPU (Chromium's Dawn, Tint) and not only on Dawn in Node. Tests that need
// Node (files, the CLI, the MNIST package) stay in the Node run.
export default defineConfig({
  test: {
    include: [...KERNEL_TESTS, ...BROWSER_ONLY_TESTS],
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
