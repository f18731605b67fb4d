// The demo in a real browser: train a small model on MNIST, check that the loss falls and the
// GPU-drawn views fill in, save the model and load it back (same pictures), open the page's file
// in Node and the Node library's file in the page (same numbers), recover from a lost device, and
// train a conditional model whose samples show one row per digit class.
// The tests of this file run in order on one page: each builds on the state the last one left.
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { canvasSize, gridSpec, pixelCentre } from '../../demo/shared/layout';
import type { ViewName } from '../../demo/shared/protocol';
import { loadCheckpoint, readCheckpoint, saveCheckpoint } from '../../src/checkpoint';
import { loadMnistNode } from '../../src/data/mnist';
import { acquireNodeDevice, releaseNodeGpu } from '../../src/gpu/node-device';
import { decodeSafetensors } from '../../src/io/safetensors';
import { paramLayout } from '../../src/model/build';
import { decodePng, grey, launch, maxDifference, presentMode, recordConsole, variance, type Picture } from './browser';

const OUT = resolve(import.meta.dirname, '../../test-results');
/** Small enough to train ~20 steps/s on SwiftShader; still learns clearly within 300 steps. */
const SMALL = { latent: '2', hidden: '64', batch: '32', subset: '2000', lr: '0.002', seed: '0' };
const STEPS = 320;

const statusOf = async (page: Page) => (await page.textContent('[data-testid=status]')) ?? '';
const numberIn = (text: string, label: string) => Number(new RegExp(`${label} ([\\d.]+)`).exec(text)?.[1] ?? NaN);

/** Waits until the status line reaches `n` steps with a loss shown; returns its text. */
async function atStep(page: Page, n: number): Promise<string> {
  await page.waitForFunction((min) => {
    const m = /step (\d+) · loss/.exec(document.querySelector('[data-testid=status]')?.textContent ?? '');
    return !!m && Number(m[1]) >= min;
  }, n, { timeout: 240_000, polling: 200 });
  return statusOf(page);
}

/** Waits until the status line starts with `prefix` and contains `detail`. */
async function waitForStatus(page: Page, prefix: string, detail = '', timeout = 180_000): Promise<string> {
  await page.waitForFunction(([p, d]) => {
    const text = document.querySelector('[data-testid=status]')?.textContent ?? '';
    return text.startsWith(p) && text.includes(d);
  }, [prefix, detail] as const, { timeout, polling: 200 });
  return statusOf(page);
}
const paused = (page: Page, detail = '') => waitForStatus(page, 'Paused', detail);

/**
 * A screenshot of one canvas once the compositor shows the latest frame: frames come from the
 * worker asynchronously, so take pictures until two in a row agree.
 */
async function shot(page: Page, testid: string): Promise<Picture> {
  const take = async () => {
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    return decodePng(await page.locator(`[data-testid=${testid}]`).screenshot());
  };
  let last = await take();
  for (let i = 0; i < 20; i++) {
    const next = await take();
    if (maxDifference(next, last) === 0) return next;
    last = next;
  }
  return last;
}

/**
 * The grey level of every image pixel of every tile of a grid view, sampled at the pixel's
 * centre: immune to the sub-pixel offsets a screenshot of a scrolled page can have.
 */
function imagePixels(p: Picture, view: ViewName, classes = 0): Uint8Array {
  const spec = gridSpec(view, 28, 28, classes);
  const scale = p.width / canvasSize(spec).width;
  const out = new Uint8Array(spec.cols * spec.rows * 784);
  for (let row = 0, k = 0; row < spec.rows; row++) {
    for (let col = 0; col < spec.cols; col++) {
      for (let q = 0; q < 784; q++, k++) {
        const c = pixelCentre(spec, col, row, q % 28, Math.floor(q / 28));
        out[k] = grey(p, c.x * scale, c.y * scale);
      }
    }
  }
  return out;
}

/** Largest grey-level difference between two pictures of a grid view, image pixel by image pixel. */
function gridDifference(a: Picture, b: Picture, view: ViewName, classes = 0): number {
  const x = imagePixels(a, view, classes), y = imagePixels(b, view, classes);
  let max = 0;
  for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i] - y[i]));
  return max;
}

describe.skipIf(process.env.WEBGPU_VAE_E2E !== '1')('the demo page', () => {
  let browser: Browser;
  let page: Page;
  let log: string[];
  let reconstructions: Picture;
  let samples: Picture;
  let checkpoint: Uint8Array;

  beforeEach((ctx) => ctx.onTestFailed(() => console.log(`browser console:\n${log.join('\n')}`)));
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, acceptDownloads: true });
    log = recordConsole(page);
    await page.goto(`${inject('demoUrl')}?present=${presentMode()}&debug`);
    await waitForStatus(page, 'Ready', '', 60_000);
  });
  afterAll(async () => browser?.close());

  it('trains: the loss falls and samples and reconstructions are drawn', async () => {
    for (const [name, value] of Object.entries(SMALL)) await page.fill(`[name=${name}]`, value);
    await page.click('[data-testid=start]');
    const first = numberIn(await atStep(page, 1), 'loss');
    const t0 = performance.now();
    const later = await atStep(page, STEPS);
    const seconds = (performance.now() - t0) / 1000;
    console.log(`e2e: first reported loss ${first.toFixed(1)}, at "${later}" after ${seconds.toFixed(1)} s`);
    // Losses reach the page every few steps, so the first one shown may already be well below
    // the untrained model's ~784 ln 2 = 543 nats; compare with both.
    expect(numberIn(later, 'loss')).toBeLessThan(first);
    expect(numberIn(later, 'loss')).toBeLessThan(0.7 * 784 * Math.LN2);
    expect(await page.locator('[data-testid=error]').isHidden()).toBe(true);

    await page.click('[data-testid=pause]');
    await paused(page);
    samples = await shot(page, 'samples');
    reconstructions = await shot(page, 'reconstructions');
    expect(variance(samples), 'samples canvas is blank').toBeGreaterThan(200);
    expect(variance(reconstructions), 'reconstructions canvas is blank').toBeGreaterThan(200);
    expect(variance(await shot(page, 'manifold')), 'manifold canvas is blank').toBeGreaterThan(100);
    await page.evaluate(() => window.scrollTo(0, 0)); // element shots scrolled; the sidebar is sticky
    await page.screenshot({ path: resolve(OUT, 'demo-trained.png'), fullPage: true });
  });

  it('saves model.safetensors with every parameter tensor and the model configuration', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=save]')]);
    expect(download.suggestedFilename()).toBe('model.safetensors');
    const path = resolve(OUT, 'demo-model.safetensors');
    await download.saveAs(path);
    checkpoint = new Uint8Array(await (await import('node:fs/promises')).readFile(path));
    const { tensors, metadata } = decodeSafetensors(checkpoint);
    expect(metadata.format).toBe('webgpu-vae');
    const { config } = readCheckpoint(checkpoint);
    expect(config.hidden).toEqual([64]);
    expect(config.latent).toBe(2);
    expect(Object.keys(tensors).sort()).toEqual(paramLayout(config).tensors.map((t) => t.name).sort());
    expect(Object.values(tensors).every((t) => t.data.every(Number.isFinite))).toBe(true);
  });

  it('loading the file after a reset reproduces the same samples and reconstructions', async () => {
    await page.click('[data-testid=reset]');
    await waitForStatus(page, 'Ready');
    expect(variance(await shot(page, 'reconstructions')), 'reset should clear the views').toBeLessThan(1);
    await page.setInputFiles('[data-testid=load]', resolve(OUT, 'demo-model.safetensors'));
    await paused(page, 'Loaded demo-model.safetensors');
    expect(gridDifference(await shot(page, 'reconstructions'), reconstructions, 'reconstructions')).toBeLessThanOrEqual(1);
    expect(gridDifference(await shot(page, 'samples'), samples, 'samples')).toBeLessThanOrEqual(1);
  });

  it('Node reads the page’s file and reconstructs the same pixels; the page opens a file Node wrote', async () => {
    const acquired = await acquireNodeDevice();
    try {
      const vae = await loadCheckpoint(checkpoint, { device: acquired.device });
      const test = await loadMnistNode('test', { limit: 32 });
      const recon = await vae.reconstruct(Float32Array.from(test.images, (v) => v / 255));
      // Compare with the page's reconstructions canvas: tile (col, 2r + 1) holds test image 8r + col.
      const onPage = imagePixels(reconstructions, 'reconstructions');
      let worst = 0;
      for (let i = 0; i < 32; i++) {
        const tileIndex = (2 * Math.floor(i / 8) + 1) * 8 + (i % 8);
        for (let q = 0; q < 784; q++) {
          const expected = Math.round(255 * Math.min(1, Math.max(0, recon[i * 784 + q])));
          worst = Math.max(worst, Math.abs(onPage[tileIndex * 784 + q] - expected));
        }
      }
      console.log(`e2e: largest grey-level difference between Node's reconstructions and the page's canvas: ${worst}`);
      expect(worst).toBeLessThanOrEqual(2);

      const fromNode = resolve(OUT, 'node-model.safetensors');
      writeFileSync(fromNode, await saveCheckpoint(vae, { source: 'e2e test (Node)' }));
      vae.destroy();
      await page.setInputFiles('[data-testid=load]', fromNode);
      await paused(page, 'Loaded node-model.safetensors');
      expect(gridDifference(await shot(page, 'reconstructions'), reconstructions, 'reconstructions')).toBeLessThanOrEqual(1);
    } finally {
      acquired.device.destroy();
      releaseNodeGpu();
    }
  });

  it('a lost GPU device is reported and the page restarts from the last saved weights', async () => {
    await page.evaluate(() => (window as unknown as { vaeDemo: { loseDevice(): void } }).vaeDemo.loseDevice());
    const error = page.locator('[data-testid=error]');
    await error.waitFor({ state: 'visible' });
    expect(await error.textContent()).toMatch(/GPU device was lost/);
    await page.click('#recover');
    await paused(page, 'Restored the weights saved at step 0');
    expect(await error.isHidden()).toBe(true);
    expect(gridDifference(await shot(page, 'reconstructions'), reconstructions, 'reconstructions')).toBeLessThanOrEqual(1);
  });

  it('a conditional model draws one row of samples per digit class, and its file loads back', async () => {
    const from = log.length;
    if (await page.isEnabled('[data-testid=reset]')) await page.click('[data-testid=reset]'); // a model from the tests above
    await waitForStatus(page, 'Ready');
    for (const [name, value] of Object.entries(SMALL)) await page.fill(`[name=${name}]`, value);
    await page.check('[name=conditional]');
    await page.click('[data-testid=start]');
    await atStep(page, STEPS);
    await page.click('[data-testid=pause]');
    await paused(page);
    const samples = await shot(page, 'samples');
    await page.locator('[data-testid=samples]').screenshot({ path: resolve(OUT, 'demo-conditional-samples.png') });

    // Each row holds one class and each column one z, so the rows' mean images must be drawn,
    // differ from one another, and most samples must lie nearer their own row's mean than any
    // other's (a model that ignored its label would draw ten equal rows: chance is 1 in 10).
    const px = imagePixels(samples, 'samples', 10), cols = 8, D = 784;
    const means = Array.from({ length: 10 }, (_, r) => {
      const m = new Float64Array(D);
      for (let c = 0; c < cols; c++) for (let q = 0; q < D; q++) m[q] += px[(r * cols + c) * D + q] / cols;
      return m;
    });
    const rms = (a: ArrayLike<number>, b: ArrayLike<number>, at = 0) => {
      let sum = 0;
      for (let q = 0; q < D; q++) sum += (a[at + q] - b[q]) ** 2;
      return Math.sqrt(sum / D);
    };
    let closest = Infinity, ownRow = 0;
    for (let r = 0; r < 10; r++) {
      expect(rms(means[r], new Float64Array(D)), `row ${r} is blank`).toBeGreaterThan(20);
      for (let s = 0; s < r; s++) closest = Math.min(closest, rms(means[r], means[s]));
      for (let c = 0; c < cols; c++) {
        const d = means.map((m) => rms(px, m, (r * cols + c) * D));
        if (d.indexOf(Math.min(...d)) === r) ownRow++;
      }
    }
    console.log(`e2e: conditional samples: closest row means ${closest.toFixed(1)} grey levels apart (RMS); ${ownRow} of 80 samples nearest their own row's mean`);
    expect(closest).toBeGreaterThan(8);
    expect(ownRow).toBeGreaterThanOrEqual(40);
    expect(await page.locator('[data-testid=error]').isHidden()).toBe(true);

    // Save, reset and load: the file brings back the conditional model and the same grid.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=save]')]);
    const path = resolve(OUT, 'demo-conditional.safetensors');
    await download.saveAs(path);
    await page.click('[data-testid=reset]');
    await waitForStatus(page, 'Ready');
    await page.uncheck('[name=conditional]');
    await page.setInputFiles('[data-testid=load]', path);
    await paused(page, 'Loaded demo-conditional.safetensors');
    expect(await page.isChecked('[name=conditional]')).toBe(true);
    expect(gridDifference(await shot(page, 'samples'), samples, 'samples', 10)).toBeLessThanOrEqual(1);
    expect(log.slice(from).filter((m) => /error/i.test(m))).toEqual([]);
  });

  it('the default presentation (a WebGPU context on each transferred canvas) runs without WebGPU errors', async () => {
    // Its pixels cannot be screenshot on SwiftShader (see browser.ts); check that every view is
    // drawn through it without validation errors while a model loads, trains and pauses.
    const direct = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    const messages = recordConsole(direct);
    try {
      await direct.goto(`${inject('demoUrl')}?present=canvas`);
      await waitForStatus(direct, 'Ready', '', 60_000);
      for (const [name, value] of Object.entries(SMALL)) await direct.fill(`[name=${name}]`, value);
      await direct.setInputFiles('[data-testid=load]', resolve(OUT, 'demo-model.safetensors'));
      await paused(direct, 'Loaded');
      await direct.click('[data-testid=resume]');
      await atStep(direct, 16);
      await direct.click('[data-testid=pause]');
      await paused(direct);
      expect(await direct.locator('[data-testid=error]').isHidden()).toBe(true);
      expect(messages.filter((m) => /error/i.test(m))).toEqual([]);
    } finally {
      await direct.close();
    }
  });
});
