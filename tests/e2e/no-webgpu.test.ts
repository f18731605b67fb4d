// Without WebGPU the page must say what is missing and how to get it, in the error element, and
// offer nothing that cannot work. Two ways to lack it: no navigator.gpu at all (old browser, flag
// off), and navigator.gpu present but no adapter granted (GPU blocked), which only the worker sees.
import type { Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launch, presentMode } from './browser';

describe.skipIf(process.env.WEBGPU_VAE_E2E !== '1')('the demo without WebGPU', () => {
  let browser: Browser;
  beforeAll(async () => { browser = await launch(); });
  afterAll(async () => browser?.close());

  it('explains that navigator.gpu is missing and how to enable WebGPU', async () => {
    const page = await browser.newPage();
    // As in a browser without WebGPU: the property does not exist at all.
    await page.addInitScript(() => { delete (Navigator.prototype as unknown as Record<string, unknown>).gpu; });
    await page.goto(`${inject('demoUrl')}?present=${presentMode()}`);
    const error = page.locator('[data-testid=error]');
    await error.waitFor({ state: 'visible', timeout: 15_000 });
    const text = (await error.textContent()) ?? '';
    expect(text).toMatch(/WebGPU is not available/);
    expect(text).toMatch(/navigator\.gpu is missing/);
    expect(text).toMatch(/enable-unsafe-webgpu/);
    expect(await page.locator('[data-testid=start]').isDisabled()).toBe(true);
    expect(await page.textContent('[data-testid=status]')).toMatch(/Stopped/);
    await page.close();
  });

  it('says when the browser has WebGPU but grants no adapter', async () => {
    const page = await browser.newPage();
    // The worker asks for the adapter, and init scripts do not reach workers: patch its script.
    await page.route(/\/assets\/worker-[\w-]+\.js$/, async (route) => {
      const response = await route.fetch();
      const patched = 'navigator.gpu.requestAdapter = async () => null;\n' + (await response.text());
      await route.fulfill({ response, body: patched });
    });
    await page.goto(`${inject('demoUrl')}?present=${presentMode()}`);
    const error = page.locator('[data-testid=error]');
    await error.waitFor({ state: 'visible', timeout: 30_000 });
    const text = (await error.textContent()) ?? '';
    expect(text).toMatch(/no adapter was granted/);
    expect(text).toMatch(/chrome:\/\/gpu/);
    expect(await page.locator('[data-testid=start]').isDisabled()).toBe(true);
    await page.close();
  });
});
