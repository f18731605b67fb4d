// The demo in a real browser: train a small model on MNIST, check that it beats any model that
// ignores its input (loss, and reconstructions against the mean image) and that the GPU-drawn
// views show images, save the model and load it back (same pictures), open the page's file in
// Node and the Node library's file in the page (same numbers), recover from a lost device by
// itself, and train a conditional model whose samples show one row per digit class. Around
// that: the file controls are reached from the keyboard and a disabled Start says why on the
// page; a model file for other pictures, and a file that is no model, are refused without touching
// the paused run and without console errors (the page explains them); Reset leaves
// nothing of the old model on show; a file whose weights are not numbers is refused, and a model
// whose loss is not a number stops at once and cannot be resumed. While it loads and trains, the page does not move by itself (layout shifts).
// The tests of this file run in order on one page: each builds on the state the last one left.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright';
import { decode } from 'fast-png';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { TEST_LIMIT } from '../../demo/worker/data';
import { canvasSize, gridSpec } from '../../demo/shared/layout';
import { loadCheckpoint, readCheckpoint, saveCheckpoint } from '../../src/checkpoint';
import { loadMnistNode } from '../../src/data/mnist-node';
import { acquireNodeDevice } from '../../src/gpu/node-device';
import { decodeSafetensors } from '../../src/io/safetensors';
import { paramLayout } from '../../src/model/build';
import { launch, presentMode, recordConsole, type Picture } from './browser';
import { modelFile } from './model-file';
import { biasOnlyLoss, gridDifference, imagePixels, imageVariance, meanImage, reconstructionErrors, reconstructionPairs } from './grid-pixels';
import { atStep, layoutShifts, type LayoutShift, loseDevice, numberIn, paused, shot, SMALL, statusOf, waitForStatus, watchLayoutShifts } from './page';

const OUT = resolve(import.meta.dirname, '../../test-results');
const STEPS = 400;
/**
 * How far below the best decoder-bias-only model (which ignores its input: 197.6 nats on the
 * demo's 1000 test images, fitted to them) the test -ELBO must be after STEPS steps. Measured on
 * SwiftShader, seed 0: 187.4 nats after 5 epochs (315 steps), 184.2 after 6 (378, the last epoch
 * before STEPS). A model whose encoder carried nothing would sit at or above 197.6.
 */
const ENCODER_MARGIN = 8;
/**
 * Reconstructions must be nearer their originals than the mean test image is, by this factor
 * of the summed squared error: a model that ignores its input draws about the mean image (ratio
 * ~1, half the images nearer by chance). Measured after 400 steps: 0.79, 28 of 32 nearer.
 */
const RECONSTRUCTION_RATIO = 0.9;
/**
 * The most the page may move by itself from its load through a training run (the cumulative
 * layout shift score; 0.1 is the usual bound of "good"). Every view, note and chart keeps its
 * size while a run starts, trains and pauses: measured 0.0005-0.0012 (only the adapter badge's
 * text), 0.127 before the views reserved their space.
 */
const LAYOUT_SHIFT_BOUND = 0.01;
/** The last "test −ELBO N" of the page's epoch summary. */
const lastTestElbo = (summary: string) => Number([...summary.matchAll(/test −ELBO ([\d.]+)/g)].at(-1)?.[1] ?? NaN);

/** Fails when the page's own layout shifts (the cumulative layout shift score) reach LAYOUT_SHIFT_BOUND, listing them. */
function expectStill(shifts: LayoutShift[], while_: string): void {
  const score = shifts.reduce((sum, s) => sum + s.score, 0);
  const listed = shifts.map((s) => `at ${s.atMs} ms, ${s.score.toFixed(4)}: ${s.moved.join('; ')}`).join('\n');
  expect(score, `the page moved by itself while it ${while_}:\n${listed}`).toBeLessThan(LAYOUT_SHIFT_BOUND);
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
    await watchLayoutShifts(page);
    await waitForStatus(page, 'Ready', '', 60_000);
  });
  afterAll(async () => browser?.close());

  it('the page does not move by itself while it loads', async () => {
    expectStill(await layoutShifts(page, 0), 'loaded');
  });

  it('keyboard users reach the file controls and see why Start is disabled; screen readers hear changes of state only', async () => {
    const focused = () => page.evaluate(() => document.activeElement?.id);
    await page.focus('[data-testid=load]');
    expect(await focused(), 'the Load model input takes the focus').toBe('load');
    await page.selectOption('#dataset', 'files');
    await page.focus('#dataset');
    await page.keyboard.press('Tab');
    expect(await focused(), 'Tab from the dataset goes to the IDX file input').toBe('idx-files');
    expect(await page.isDisabled('[data-testid=start]')).toBe(true);
    expect(await page.textContent('[data-testid=start-hint]')).toBe('To start: add a training image file (e.g. train-images-idx3-ubyte.gz).');
    await page.selectOption('#dataset', 'mnist');
    expect(await page.isEnabled('[data-testid=start]')).toBe(true);
    expect(await page.textContent('[data-testid=start-hint]')).toBe('');
    expect(await page.getAttribute('[data-testid=status]', 'aria-live'), 'the status line, rewritten at every step, is not live').toBeNull();
    expect(await page.getAttribute('[data-testid=status-live]', 'aria-live')).toBe('polite');
    expect(await page.textContent('[data-testid=status-live]')).toBe('Ready. Choose settings and press Start.');
    // Emptied once said, so that reading the page meets the status once (in the status line).
    await page.waitForFunction(() => document.querySelector('[data-testid=status-live]')?.textContent === '', null, { timeout: 30_000 });
    expect(await page.textContent('[data-testid=status]')).toBe('Ready. Choose settings and press Start.');
  });

  it('trains: the loss falls below what a decoder bias alone can reach, and the views show it', async () => {
    const test = await loadMnistNode('test', { limit: TEST_LIMIT });
    const biasOnly = biasOnlyLoss(test.images, test.count);
    const since = await page.evaluate(() => performance.now());
    for (const [name, value] of Object.entries(SMALL)) await page.fill(`[name=${name}]`, value);
    // Measured with the charts in view: their legends keep room for their longest values, so
    // they do not rewrap (and shrink the plots) as the values lengthen.
    await page.$eval('.charts', (el) => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 16));
    // Start is disabled as it is clicked, so a double click sends one Start, not two.
    const disabledAtOnce = await page.evaluate(() => {
      const start = document.querySelector<HTMLButtonElement>('[data-testid=start]')!;
      start.click();
      const disabled = start.disabled;
      start.click();
      return disabled;
    });
    expect(disabledAtOnce, 'Start disabled by its own click').toBe(true);
    const first = numberIn(await atStep(page, 1), '−ELBO');
    const t0 = performance.now();
    const later = await atStep(page, STEPS);
    const seconds = (performance.now() - t0) / 1000;
    const testElbo = lastTestElbo((await page.textContent('#summary')) ?? '');
    console.log(`e2e: first reported loss ${first.toFixed(1)}, at "${later}" after ${seconds.toFixed(1)} s; test -ELBO ${testElbo.toFixed(1)}, bias-only model ${biasOnly.toFixed(1)}`);
    // Losses reach the page every few steps, so the first one shown may already be well below
    // the untrained model's ~784 ln 2 = 543 nats; compare with both.
    expect(numberIn(later, '−ELBO')).toBeLessThan(first);
    expect(numberIn(later, '−ELBO')).toBeLessThan(0.7 * 784 * Math.LN2);
    expect(testElbo, 'test -ELBO no better than a model that ignores its input').toBeLessThan(biasOnly - ENCODER_MARGIN);
    expect(await page.locator('[data-testid=error]').isHidden()).toBe(true);

    await page.click('[data-testid=pause]');
    await paused(page);
    expectStill(await layoutShifts(page, since), 'started, trained and paused');
    // Away from the pointer, the chart legends give the newest figures rather than "--".
    const legend = await page.locator('#chart-elbo .u-legend .u-value').allTextContents();
    expect(legend.some((v) => /\d/.test(v)), `the ELBO chart's legend values: ${JSON.stringify(legend)}`).toBe(true);
    samples = await shot(page, 'samples');
    reconstructions = await shot(page, 'reconstructions');
    const [sv, rv, mv] = [imageVariance(samples, 'samples'), imageVariance(reconstructions, 'reconstructions'), imageVariance(await shot(page, 'manifold'), 'manifold')];
    // The test series has a point at epoch ends only: its legend gives the latest one, not "–".
    // (An epoch may end between the figure read above and the pause, and the chart redraws a
    // moment after the summary: both are read again until they agree.)
    const testLegend = async () => {
      const values = await page.locator('#chart-elbo .u-legend .u-value').allTextContents();
      return { legend: values[2], summary: lastTestElbo((await page.textContent('#summary')) ?? '').toFixed(2) };
    };
    await expect.poll(async () => { const t = await testLegend(); return t.legend?.replace(/ \(step \d+\)$/, '') === t.summary; }, { timeout: 10_000, message: 'the test series\' legend gives the summary\'s latest test -ELBO' }).toBe(true);
    // An interpolation endpoint past the test set shows the picture it draws: the last one.
    await page.fill('#interp-a', '5000000');
    await page.press('#interp-a', 'Tab');
    const last = Number(await page.getAttribute('#interp-a', 'max'));
    expect(last).toBeGreaterThan(0);
    expect(await page.inputValue('#interp-a')).toBe(String(last));
    // The reconstructions view: its originals are the first test images, pixel for pixel, and
    // each reconstruction is nearer its own original than the mean test image is.
    const pairs = reconstructionPairs(reconstructions);
    const errors = reconstructionErrors(pairs.originals, pairs.reconstructions, meanImage(test.images, test.count));
    const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
    const better = errors.own.filter((e, i) => e < errors.mean[i]).length;
    console.log(`e2e: image-pixel variance samples ${sv.toFixed(0)}, reconstructions ${rv.toFixed(0)}, manifold ${mv.toFixed(0)}; reconstruction MSE ${(sum(errors.own) / 32).toFixed(0)} vs mean image ${(sum(errors.mean) / 32).toFixed(0)}, ${better} of 32 better`);
    expect(sv, 'samples are blank').toBeGreaterThan(200);
    expect(rv, 'reconstructions are blank').toBeGreaterThan(200);
    expect(mv, 'manifold is blank').toBeGreaterThan(100);
    for (let i = 0; i < 32; i++) {
      const worst = pairs.originals[i].reduce((m, v, q) => Math.max(m, Math.abs(v - test.images[i * 784 + q])), 0);
      expect(worst, `original ${i} as drawn differs from test image ${i}`).toBeLessThanOrEqual(2);
    }
    expect(sum(errors.own), 'reconstructions no nearer their originals than the mean image').toBeLessThan(RECONSTRUCTION_RATIO * sum(errors.mean));
    expect(better).toBeGreaterThanOrEqual(24);
    expect(await page.locator('#scatter-legend .swatch').allTextContents(), 'the scatter legend lists the digits').toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    // The scatter plot saves with its legend below it: the plot's pixels, then a band holding a dot
    // of each of the ten digits' colours.
    const [file] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=save-scatter]')]);
    expect(file.suggestedFilename()).toMatch(/^latent-scatter-step-\d+\.png$/);
    const saved = resolve(OUT, 'demo-latent-scatter.png');
    await file.saveAs(saved);
    // Saved at 560 pixels a side whatever the window's width, as the other views save at their grid's size.
    const png = decode(readFileSync(saved)), plotHeight = 560;
    expect(png.width).toBe(560);
    expect(png.height).toBeGreaterThan(plotHeight);
    const palette = (await page.$$eval('#scatter-legend .swatch', (els) => els.map((el) => getComputedStyle(el).getPropertyValue('--swatch').trim())))
      .map((hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)));
    const found = palette.map((rgb) => {
      for (let y = plotHeight; y < png.height; y++) {
        for (let x = 0; x < png.width; x++) {
          const at = (y * png.width + x) * png.channels;
          if (rgb.every((v, k) => Math.abs(png.data[at + k] - v) <= 8)) return true;
        }
      }
      return false;
    });
    expect(found, 'each legend colour drawn below the plot').toEqual(palette.map(() => true));
    // The interpolation strip saves with the line naming its ends below it.
    expect(await page.textContent('#interp-labels')).toMatch(/label \d → label \d/);
    const [strip] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=save-interpolation]')]);
    await strip.saveAs(resolve(OUT, 'demo-interpolation-saved.png'));
    const stripPng = decode(readFileSync(resolve(OUT, 'demo-interpolation-saved.png'))), stripHeight = await page.$eval('canvas[data-view=interpolation]', (c) => (c as HTMLCanvasElement).height);
    expect(stripPng.height).toBeGreaterThan(stripHeight);
    let inked = 0, brightest = 0;
    for (let i = stripHeight * stripPng.width * stripPng.channels; i < stripPng.data.length; i += stripPng.channels) {
      if (stripPng.data[i] > 100) inked++;
      brightest = Math.max(brightest, stripPng.data[i]);
    }
    expect(inked, 'text pixels below the saved strip').toBeGreaterThan(20);
    // In the page's muted grey (#8b949e), as the line under the strip is shown, not in white.
    expect(brightest, 'the caption\'s brightest red value').toBeLessThanOrEqual(160);
    await page.evaluate(() => window.scrollTo(0, 0)); // element shots scrolled; the sidebar is sticky
    await page.screenshot({ path: resolve(OUT, 'demo-trained.png'), fullPage: true });
  });

  it('a model file made for other pictures is refused, and the paused run is kept as it was', async () => {
    const before = await paused(page);
    const summary = await page.textContent('#summary');
    await expect.poll(() => page.textContent('[data-testid=stored]'), { timeout: 60_000 }).toMatch(/^Kept in this browser at step \d+/);
    const kept = await page.textContent('[data-testid=stored]');
    const colour = modelFile('colour-16.safetensors', { inputDim: 3 * 16 * 16, imageShape: [16, 16], imageChannels: 3, hidden: [8], latent: 2 }, 0);
    const fromLine = log.length;
    await page.setInputFiles('[data-testid=load]', colour);
    await page.waitForSelector('[data-testid=error]:not([hidden])', { timeout: 120_000 });
    // The file is what was refused, not the data; the steps begin with Reset, as the data's fields
    // are locked while a model exists.
    expect(await page.textContent('#error-title')).toBe('The model file was not loaded');
    expect(await page.textContent('#error-text')).toBe('colour-16.safetensors was trained on 3x16x16 images but MNIST has 28x28 images, so it was not loaded; the current model goes on as it was. ' +
      'To use it: press Reset (Save model first to keep the current model), choose the dataset it was trained on (or Your own images at Image size 16, RGB), then Load model again.');
    await page.waitForFunction(() => !document.querySelector('[data-testid=status]')?.textContent?.startsWith('Loading'), undefined, { timeout: 120_000, polling: 200 });
    expect(await statusOf(page), 'the same run, at the same step').toBe(before);
    // A file that is no model at all: refused as the page explains, the run as it was.
    const bad = resolve(OUT, 'bad.safetensors');
    writeFileSync(bad, 'this is not a model');
    await page.setInputFiles('[data-testid=load]', bad);
    await expect.poll(() => page.textContent('#error-text'), { timeout: 120_000 }).toMatch(/^bad\.safetensors is not a safetensors model file\./);
    await page.waitForFunction(() => !document.querySelector('[data-testid=status]')?.textContent?.startsWith('Loading'), undefined, { timeout: 120_000, polling: 200 });
    expect(await statusOf(page)).toBe(before);
    // Failures the page explains are not also logged as errors, with their stacks, in the console.
    expect(log.slice(fromLine).filter((line) => line.startsWith('[error]')), 'console errors for the refused files').toEqual([]);
    expect(await page.textContent('#summary')).toBe(summary);
    expect(await page.textContent('[data-testid=stored]'), 'what the browser keeps is said as before').toBe(kept);
    expect(await page.isEnabled('[data-testid=resume]')).toBe(true);
    // The next test saves this run's model: the one trained above, not an empty one.
  });

  it('saves the model (vae-mnist-step-N.safetensors) with every parameter tensor and the model configuration', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=save]')]);
    expect(download.suggestedFilename()).toMatch(/^vae-mnist-step-\d+\.safetensors$/);
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
    // The empty view says so in a note laid over it; the canvas under the note is blank.
    const note = page.locator('figure:has([data-testid=reconstructions]) .empty-note');
    expect(await note.isVisible(), 'the emptied view says there is no model').toBe(true);
    await note.evaluate((el) => { el.style.visibility = 'hidden'; });
    expect(imageVariance(await shot(page, 'reconstructions'), 'reconstructions'), 'reset should clear the views').toBeLessThan(1);
    await note.evaluate((el) => { el.style.visibility = ''; });
    // Nothing of the model that Reset dropped is left in the views' words either.
    expect(await page.textContent('#interp-labels')).toBe('');
    expect(await page.locator('[data-testid=traversal-rows] li').count()).toBe(0);
    // The legend lists the picked data's classes, as before Start: the next model's, not the dropped one's.
    expect(await page.locator('#scatter-legend .swatch').allTextContents()).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    await page.setInputFiles('[data-testid=load]', resolve(OUT, 'demo-model.safetensors'));
    // The file's own step count is told, and that training from it counts anew.
    const loaded = await paused(page, 'Loaded demo-model.safetensors');
    expect(loaded).toMatch(/Loaded demo-model\.safetensors \(trained [\d,]+ steps; training from it counts steps anew, with a new optimizer\)/);
    expect(gridDifference(await shot(page, 'reconstructions'), reconstructions, 'reconstructions')).toBeLessThanOrEqual(1);
    expect(gridDifference(await shot(page, 'samples'), samples, 'samples')).toBeLessThanOrEqual(1);
    // Its step 0 is not an untrained model's: saved pictures name the file it came from.
    const [picture] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=save-samples]')]);
    expect(picture.suggestedFilename()).toBe('samples-step-0-after-demo-model.png');
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
    }
  });

  it('a lost GPU device is replaced by itself: the page says so and restores the model it had', async () => {
    await loseDevice(page);
    const notice = page.locator('[data-testid=notice]');
    await notice.waitFor({ state: 'visible' });
    expect(await notice.textContent()).toMatch(/GPU device was lost \(it was destroyed[^)]*\)\. Restarting on a new device from the state saved at step 0/);
    await paused(page, 'Restored the state saved at step 0');
    expect(await page.locator('[data-testid=error]').isHidden()).toBe(true);
    expect(gridDifference(await shot(page, 'reconstructions'), reconstructions, 'reconstructions')).toBeLessThanOrEqual(1);
  });

  it('a conditional model draws one row of samples per digit class, and its file loads back', async () => {
    const from = log.length;
    if (await page.isEnabled('[data-testid=reset]')) await page.click('[data-testid=reset]'); // a model from the tests above
    await waitForStatus(page, 'Ready');
    for (const [name, value] of Object.entries(SMALL)) await page.fill(`[name=${name}]`, value);
    await page.check('[name=conditional]');
    // Ticked, the grid already names its rows and takes the width it will keep: the names that
    // come with the model take no room from the picture then.
    const digits = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
    await expect.poll(() => page.locator('[data-testid=samples-rows] li').allTextContents()).toEqual(digits);
    expect(await page.textContent('#samples-note')).toMatch(/^One row per class, named beside it;/);
    const gridBox = () => page.$eval('[data-testid=samples]', (c) => { const r = c.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)]; });
    const ticked = await gridBox();
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

    // Each row is named beside it, level with its row (its middle within a quarter row of the row's)...
    expect(await page.locator('[data-testid=samples-rows] li').allTextContents()).toEqual(digits);
    expect(await gridBox(), 'the samples grid\'s size once the model came, against when Conditional was ticked').toEqual(ticked);
    const [box, middles] = await page.evaluate(() => [
      document.querySelector('[data-testid=samples]')!.getBoundingClientRect().toJSON() as DOMRect,
      Array.from(document.querySelectorAll('[data-testid=samples-rows] li'), (li) => { const r = li.getBoundingClientRect(); return r.top + r.height / 2; }),
    ] as const);
    middles.forEach((y, row) => expect(Math.abs(y - (box.top + (row + 0.5) * box.height / 10)), `label ${row} at ${y.toFixed(0)} px`).toBeLessThan(box.height / 40));
    // ...and the saved picture carries the names: the grid as drawn, then a column of text in which
    // every row's band holds pixels unlike the background.
    const [file] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=save-samples]')]);
    expect(file.suggestedFilename()).toMatch(/^samples-step-\d+\.png$/);
    const saved = resolve(OUT, 'demo-conditional-samples-saved.png');
    await file.saveAs(saved);
    const png = decode(readFileSync(saved)), grid = canvasSize(gridSpec('samples', 28, 28, 10));
    expect(png.height).toBe(grid.height);
    expect(png.width).toBeGreaterThan(grid.width + 8);
    const at = (x: number, y: number) => Array.from(png.data.subarray((y * png.width + x) * png.channels, (y * png.width + x) * png.channels + 3));
    const background = at(png.width - 1, 0);
    for (let row = 0; row < 10; row++) {
      let inked = 0;
      for (let y = Math.floor(row * grid.height / 10); y < (row + 1) * grid.height / 10; y++) {
        for (let x = grid.width; x < png.width; x++) if (Math.max(...at(x, y).map((v, k) => Math.abs(v - background[k]))) > 60) inked++;
      }
      expect(inked, `text pixels beside row ${row} of the saved samples`).toBeGreaterThan(5);
    }
    // The manifold of a conditional model saves with the class it is decoded as, below it: two
    // classes' manifolds are otherwise files alike but for their pixels.
    await page.selectOption('[data-testid=manifold-class]', '4');
    const [manifold] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=save-manifold]')]);
    await manifold.saveAs(resolve(OUT, 'demo-conditional-manifold-saved.png'));
    const manifoldPng = decode(readFileSync(resolve(OUT, 'demo-conditional-manifold-saved.png')));
    const manifoldHeight = await page.$eval('canvas[data-view=manifold]', (c) => (c as HTMLCanvasElement).height);
    expect(manifoldPng.height, 'a caption band below the saved manifold').toBeGreaterThan(manifoldHeight);
    let captionInk = 0;
    for (let i = manifoldHeight * manifoldPng.width * manifoldPng.channels; i < manifoldPng.data.length; i += manifoldPng.channels) if (manifoldPng.data[i] > 100) captionInk++;
    expect(captionInk, 'text pixels below the saved manifold').toBeGreaterThan(20);

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

  it('capacity control: an incomplete setting is refused with what to change, a complete one trains and is named', async () => {
    if (await page.isEnabled('[data-testid=reset]')) await page.click('[data-testid=reset]');
    await waitForStatus(page, 'Ready');
    for (const [name, value] of Object.entries(SMALL)) await page.fill(`[name=${name}]`, value);
    await page.uncheck('[name=conditional]');
    // After the conditional model's Reset, the samples view is described as the settings now build it.
    await expect.poll(() => page.textContent('#samples-note')).toMatch(/^64 fixed draws z ~ N\(0, I\)/);
    expect(await page.locator('[data-testid=samples-rows] li').count()).toBe(0);
    await page.fill('[name=capacitySteps]', '100');
    await page.click('[data-testid=start]');
    await page.waitForSelector('[data-testid=error]:not([hidden])');
    expect(await page.locator('[data-testid=error]').textContent()).toMatch(/Capacity steps 100 ramp the KL capacity: set the KL capacity in nats/);
    await page.fill('[name=klCapacity]', '5');
    await page.fill('[name=beta]', '1000');
    await page.click('[data-testid=start]');
    await atStep(page, 20);
    expect(await page.locator('[data-testid=samples-rows] li').count(), 'an unconditional model\'s samples name no rows').toBe(0);
    await page.click('[data-testid=pause]');
    await paused(page);
    expect(await page.locator('[data-testid=error]').isHidden()).toBe(true);
    expect(await page.locator('#summary').textContent()).toContain('ELBO L=1 β=1000 capacity 5 nats over 100 steps');
    // Back to the plain ELBO for the tests after this one.
    await page.click('[data-testid=reset]');
    await waitForStatus(page, 'Ready');
    for (const [name, value] of [['klCapacity', '0'], ['capacitySteps', '0'], ['beta', '1']]) await page.fill(`[name=${name}]`, value);
  });

  it('a model whose loss is not a number stops at the first loss read back and cannot be resumed', async () => {
    if (await page.isEnabled('[data-testid=reset]')) await page.click('[data-testid=reset]');
    await waitForStatus(page, 'Ready');
    for (const [name, value] of Object.entries(SMALL)) await page.fill(`[name=${name}]`, value);
    // A file whose weights are not numbers is refused as it is read, by tensor.
    await page.setInputFiles('[data-testid=load]', modelFile('nan-weights.safetensors', { hidden: [64], latent: 2 }, NaN));
    await page.waitForSelector('[data-testid=error]:not([hidden])', { timeout: 120_000 });
    expect(await page.textContent('[data-testid=error]')).toMatch(/encoder\.layers\.0\.weight .*not finite numbers/s);
    await waitForStatus(page, 'Ready');
    // Weights of 1e30 are numbers, but overflow the first step's activations: its loss is not one.
    await page.setInputFiles('[data-testid=load]', modelFile('not-a-number.safetensors', { hidden: [64], latent: 2 }, 1e30));
    await paused(page, 'Loaded not-a-number.safetensors');
    await page.click('[data-testid=resume]');
    // SMALL's epoch is 63 steps: the run stops within it, at the first loss read back, not at its end.
    await page.waitForSelector('[data-testid=error]:not([hidden])', { timeout: 120_000 });
    expect(await page.textContent('[data-testid=error]')).toMatch(/Check the settings.*training diverged by step (\d+) \(loss NaN\), and the weights with it, so the run is dropped\. Start again with a smaller Learning rate/s);
    const step = Number(/diverged by step (\d+)/.exec((await page.textContent('[data-testid=error]')) ?? '')?.[1]);
    expect(step).toBeLessThan(63);
    await waitForStatus(page, 'Ready');
    expect(await page.isDisabled('[data-testid=resume]'), 'nothing to resume').toBe(true);
    expect(await page.isDisabled('[data-testid=save]'), 'nothing to save').toBe(true);
    expect(await page.isEnabled('[data-testid=start]'), 'a new run can start').toBe(true);
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
