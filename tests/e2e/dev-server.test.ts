// `npm run demo` serves the page from Vite's dev server, which hands the browser each module as it
// is, unbundled: a static import that reaches Node-only code (node:fs, node:module) fails there
// although the production build, which drops the unused code, works. This opens the page from the
// dev server and waits for it to be ready to train, with no page error on the way.
import { resolve } from 'node:path';
import type { Browser } from 'playwright';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, recordConsole } from './browser';

describe.skipIf(process.env.WEBGPU_VAE_E2E !== '1')('the demo on the dev server (npm run demo)', () => {
  let server: ViteDevServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await createServer({ configFile: resolve(__dirname, '../../vite.config.ts'), logLevel: 'error', server: { host: '127.0.0.1', port: 0, strictPort: true, open: false } });
    await server.listen();
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('starts, loads the default data set, and offers Start', async () => {
    const url = server.resolvedUrls?.local[0];
    expect(url, 'the dev server reported no URL').toBeTruthy();
    const page = await browser.newPage();
    const console = recordConsole(page);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url!);
    const status = page.locator('[data-testid=status]');
    await expect.poll(async () => (await status.textContent()) ?? '', { timeout: 120_000, message: `page log:\n${console.join('\n')}` }).toMatch(/^Ready/);
    expect(errors).toEqual([]);
    expect(await page.locator('[data-testid=start]').isEnabled()).toBe(true);
    await page.close();
  });
});
