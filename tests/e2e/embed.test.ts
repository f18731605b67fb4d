// The embedding example (demo/embed.html) in a real browser: its own device, pipeline and loop
// draw a walk through latent space from the decoder's GPU buffer. Check that the walk animates
// (two frames an eighth of a lap apart on the walk's own clock both show images, and differ), that a model file the user picks
// replaces the default model, and that WebGPU reported no error along the way.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { encodeSafetensors } from '../../src/io/safetensors';
import { resolveConfig } from '../../src/model/config';
import { paramLayout } from '../../src/model/build';
import { initialParams } from '../../src/model/params';
import { decodePng, grey, launch, presentMode, recordConsole, type Picture } from './browser';

const OUT = resolve(import.meta.dirname, '../../test-results');
/** The walk's canvas layout, as in demo/embed/main.ts. */
const COLS = 4, ROWS = 2, IMG = 28, SCALE = 4, GAP = 4;
const CANVAS_WIDTH = COLS * (IMG * SCALE + GAP) + GAP;

const statusOf = async (page: Page) => (await page.textContent('[data-testid=status]')) ?? '';
const framesOf = async (page: Page) => Number(await page.getAttribute('[data-testid=walk]', 'data-frames'));
const walkClockOf = async (page: Page) => Number(await page.getAttribute('[data-testid=walk]', 'data-walk-ms'));

/**
 * Waits for the page to draw a frame whose walk clock has reached `ms` (and at least frame
 * `minFrames`): frames are awaited, not timed, so a slow software GPU only makes this take longer.
 */
async function frameAt(page: Page, ms: number, minFrames = 0): Promise<void> {
  await page.waitForFunction(([t, f]) => {
    const el = document.querySelector<HTMLElement>('[data-testid=walk]');
    return Number(el?.dataset.walkMs) >= t && Number(el?.dataset.frames) >= f;
  }, [ms, minFrames] as const, { timeout: 240_000, polling: 100 });
}

async function waitForStatus(page: Page, prefix: string, timeout = 240_000): Promise<string> {
  await page.waitForFunction((p) => {
    const text = document.querySelector('[data-testid=status]')?.textContent ?? '';
    return text.startsWith(p) || text.startsWith('Error');
  }, prefix, { timeout, polling: 250 });
  return statusOf(page);
}

/** The grey level of every image pixel of the walk's canvas (sampled at its centre), all images in a row. */
async function walkPixels(page: Page): Promise<Uint8Array> {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const p: Picture = decodePng(await page.locator('[data-testid=walk]').screenshot());
  const scale = p.width / CANVAS_WIDTH;
  const out = new Uint8Array(COLS * ROWS * IMG * IMG);
  for (let k = 0, i = 0; k < COLS * ROWS; k++) {
    const x0 = GAP + (k % COLS) * (IMG * SCALE + GAP), y0 = GAP + Math.floor(k / COLS) * (IMG * SCALE + GAP);
    for (let y = 0; y < IMG; y++) {
      for (let x = 0; x < IMG; x++) out[i++] = grey(p, (x0 + (x + 0.5) * SCALE) * scale, (y0 + (y + 0.5) * SCALE) * scale);
    }
  }
  return out;
}

const variance = (v: Uint8Array) => {
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  return v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length;
};
const meanDifference = (a: Uint8Array, b: Uint8Array) => a.reduce((s, x, i) => s + Math.abs(x - b[i]), 0) / a.length;

describe.skipIf(process.env.WEBGPU_VAE_E2E !== '1')('the embedding example page', () => {
  let browser: Browser;
  let page: Page;
  let log: string[];
  let walked: Uint8Array;

  beforeEach((ctx) => ctx.onTestFailed(() => console.log(`browser console:\n${log.join('\n')}`)));
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    log = recordConsole(page);
  });
  afterAll(async () => browser?.close());

  it('trains its default model, then animates the walk from the decoder’s buffer', async () => {
    const t0 = performance.now();
    await page.goto(`${inject('demoUrl')}embed.html?present=${presentMode()}`);
    const status = await waitForStatus(page, 'Walking');
    console.log(`e2e: embed page trained and walking after ${((performance.now() - t0) / 1000).toFixed(1)} s: "${status}"`);
    expect(status).toMatch(/^Walking through the quick model \(300 steps, loss [\d.]+\)/);

    const f0 = await framesOf(page);
    const a = await walkPixels(page);
    // An eighth of a lap of the walk's clock later, each image has moved well along the circle.
    await frameAt(page, (await walkClockOf(page)) + 1500, f0 + 2);
    const b = await walkPixels(page);
    const f1 = await framesOf(page);
    console.log(`e2e: ${f1 - f0} frames over 1.5 s of the walk; pixel variance ${variance(a).toFixed(0)} / ${variance(b).toFixed(0)}, mean difference ${meanDifference(a, b).toFixed(1)}`);
    expect(f1, 'the page drew no new frames').toBeGreaterThan(f0);
    expect(variance(a), 'first frame is blank').toBeGreaterThan(500);
    expect(variance(b), 'second frame is blank').toBeGreaterThan(500);
    expect(meanDifference(a, b), 'the walk did not move').toBeGreaterThan(5);
    walked = b;
    await page.screenshot({ path: resolve(OUT, 'embed.png'), fullPage: true });
    expect(log.filter((l) => /^\[(error|pageerror)\]|WebGPU|GPU/i.test(l)), 'WebGPU errors or page errors were logged').toEqual([]);
  });

  it('walks through a model file the user picks instead (here: untrained, latent 3)', async () => {
    const config = resolveConfig({ latent: 3, hidden: [32] });
    const layout = paramLayout(config), flat = initialParams(layout, 7);
    const tensors = Object.fromEntries(layout.tensors.map((t) => [t.name, { shape: t.shape, data: flat.slice(t.offset, t.offset + t.count) }]));
    const bytes = encodeSafetensors(tensors, { format: 'webgpu-vae', version: '1', config: JSON.stringify(config) });
    await page.setInputFiles('[data-testid=file]', { name: 'untrained.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
    expect(await waitForStatus(page, 'Walking through untrained.safetensors', 60_000)).toMatch(/latent 3, hidden \[32\]/);
    const f0 = await framesOf(page);
    const c = await walkPixels(page);
    await frameAt(page, 0, f0 + 1); // the new model keeps drawing frames
    // An untrained decoder draws near-uniform grey, nothing like the trained model's digits.
    expect(meanDifference(c, walked)).toBeGreaterThan(30);
    expect(log.filter((l) => /^\[(error|pageerror)\]|WebGPU|GPU/i.test(l)), 'WebGPU errors or page errors were logged').toEqual([]);
  });

  it('refuses a model of other pictures, and says which model the walk still shows', async () => {
    const config = resolveConfig({ inputDim: 3 * 16 * 16, imageShape: [16, 16], imageChannels: 3, latent: 2, hidden: [8] });
    const layout = paramLayout(config), flat = initialParams(layout, 3);
    const tensors = Object.fromEntries(layout.tensors.map((t) => [t.name, { shape: t.shape, data: flat.slice(t.offset, t.offset + t.count) }]));
    const bytes = encodeSafetensors(tensors, { format: 'webgpu-vae', version: '1', config: JSON.stringify(config) });
    await page.setInputFiles('[data-testid=file]', { name: 'colour.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
    await expect.poll(() => page.textContent('#status'), { timeout: 60_000 })
      .toBe('Error: colour.safetensors models 3 x 16 x 16 images; this example draws 28 x 28 grey ones (MNIST, Fashion-MNIST). The walk still shows untrained.safetensors.');
    const f0 = await framesOf(page);
    await frameAt(page, 0, f0 + 1); // and keeps drawing it
  });
});
