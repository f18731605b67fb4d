// The demo's default presentation path, a WebGPU context on each transferred canvas, checked by
// its pixels. Headless Chromium on SwiftShader never composites those contexts, so this runs a
// headful Chromium on a virtual X display (Xvfb, see xvfb.ts), as a person would see the page:
// the originals in the reconstructions view must be the test images pixel for pixel, and every
// grid must show images.
import type { Browser, Page } from 'playwright';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { TEST_LIMIT } from '../../demo/worker/data';
import { loadMnistNode } from '../../src/data/mnist-node';
import { launch, launchArgs, recordConsole } from './browser';
import { imageVariance, reconstructionPairs } from './grid-pixels';
import { atStep, paused, shot, startSmall, waitForStatus } from './page';
import { openDisplay, type Display } from './xvfb';

describe.skipIf(process.env.WEBGPU_VAE_E2E !== '1')('the default presentation path, headful under Xvfb', () => {
  let display: Display;
  let browser: Browser;
  let page: Page;
  let log: string[];

  beforeEach((ctx) => ctx.onTestFailed(() => console.log(`browser console:\n${log.join('\n')}`)));
  beforeAll(async () => {
    display = await openDisplay();
    browser = await launch(launchArgs(), display.name);
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    log = recordConsole(page);
  });
  afterAll(async () => {
    await browser?.close();
    await display?.stop();
  });

  it('draws the test images exactly and the trained model’s samples and reconstructions', async () => {
    await page.goto(`${inject('demoUrl')}?present=canvas`);
    await waitForStatus(page, 'Ready');
    await startSmall(page);
    await atStep(page, 128);
    await page.click('[data-testid=pause]');
    await paused(page);

    const test = await loadMnistNode('test', { limit: Math.min(32, TEST_LIMIT) });
    const { originals } = reconstructionPairs(await shot(page, 'reconstructions'));
    let worst = 0;
    for (let i = 0; i < 32; i++) {
      for (let q = 0; q < 784; q++) worst = Math.max(worst, Math.abs(originals[i][q] - test.images[i * 784 + q]));
    }
    const [samples, recon, manifold] = [
      imageVariance(await shot(page, 'samples'), 'samples'),
      imageVariance(await shot(page, 'reconstructions'), 'reconstructions'),
      imageVariance(await shot(page, 'manifold'), 'manifold'),
    ];
    console.log(`e2e (headful, canvas contexts): largest difference of the drawn originals from the test images ${worst}; image-pixel variance samples ${samples.toFixed(0)}, reconstructions ${recon.toFixed(0)}, manifold ${manifold.toFixed(0)}`);
    expect(worst, 'the originals as drawn through the canvas context').toBeLessThanOrEqual(2);
    expect(samples, 'samples canvas is blank').toBeGreaterThan(200);
    expect(recon, 'reconstructions canvas is blank').toBeGreaterThan(200);
    expect(manifold, 'manifold canvas is blank').toBeGreaterThan(100);
    expect(await page.locator('[data-testid=error]').isHidden()).toBe(true);
    expect(await page.locator('[data-testid=notice]').isHidden(), 'the page fell back from the default path').toBe(true);
    expect(log.filter((m) => /error/i.test(m))).toEqual([]);
  });
});
