// The browser soak's arguments (bench/soak-browser.ts), apart from tests/soak.test.ts: loading
// the browser soak brings Playwright and Vite into the test's heap, which made that file's heap
// snapshot test take 100 s instead of 3.
import { describe, expect, it } from 'vitest';

describe('browser soak arguments', () => {
  it('refuses a browser soak of fewer than two cycles before it builds anything', async () => {
    const { main } = await import('../bench/soak-browser');
    await expect(main(['--cycles', '1'])).rejects.toThrow(/^--cycles 1: the verdict compares one sample per cycle, at least 2; give --cycles 2 or more$/);
  });
});
