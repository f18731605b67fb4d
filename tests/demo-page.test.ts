// Logic of the demo page's pieces that needs no browser: the charts' points after a run is
// restored from an earlier step (demo/ui/chart-history.ts), the offer to continue a saved run
// (ui/saved-run-offer.ts), the scatter plot's legend (ui/scatter.ts), the class pickers' options, the controls usable in each state and the traversal grid's
// size (shared/layout.ts, worker/traversal.ts), and the views' sizes in the page before its script runs.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ChartHistory } from '../demo/ui/chart-history';
import { describeSavedRun } from '../demo/ui/saved-run-offer';
import { legendLabels } from '../demo/ui/scatter';
import { DEFAULTS } from '../demo/ui/settings';
import { canvasSize, gridSpec, MAX_CANVAS_SIDE, MAX_TRAVERSAL_ROWS } from '../demo/shared/layout';
import { traversalOrder } from '../demo/worker/traversal';
import { VIEW_NAMES, type LossChunk } from '../demo/shared/protocol';
import { isKeptSource, keptData, keptSourceName, type SavedRun } from '../demo/shared/saved-run';
import { lossName, statusText } from '../demo/ui/status-text';
import { resolveConfig } from '../src/model/config';
import { interpolationLabels } from '../demo/ui/interpolation-labels';
import { classOptions } from '../demo/ui/class-pickers';
import { controlStates } from '../demo/ui/control-states';

/** Chunks of ten steps each ending at the given step counts (the chart's x: steps done). */
const chunks = (...ends: number[]): LossChunk[] => ends.map((end) => ({ step: end - 1, steps: 10, loss: 300 - end / 10, rec: 250, kl: 20 }));
const epoch = (stepsDone: number) => ({ epoch: 1, step: stepsDone - 1, train: { loss: 1, rec: 1, kl: 1 }, test: { loss: 280, rec: 260, kl: 20, examples: 100 }, seconds: 1 });
const increasing = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]);

describe('the charts after a run goes back to an earlier step', () => {
  it('drops the points after the restored step, so the curves go on from there in order', () => {
    const history = new ChartHistory();
    for (let end = 10; end <= 290; end += 10) history.addChunks(chunks(end), 500 + end, 'elbo');
    history.addEpoch(epoch(200));
    history.addEpoch(epoch(280));
    // A lost device: the run is restored from the state saved at step 200 and trains on.
    history.truncate(200);
    for (let end = 210; end <= 250; end += 10) history.addChunks(chunks(end), 400, 'elbo');
    const { xs, train, test, rate } = history.merged();
    expect(increasing(xs), `x: ${xs.join(', ')}`).toBe(true);
    expect(xs.at(-1)).toBe(250);
    expect(test.filter((p) => p !== null).map((p) => p!.step)).toEqual([200]);
    expect(train.filter((p) => p !== null)).toHaveLength(25);
    expect(increasing(rate.xs), `throughput x: ${rate.xs.join(', ')}`).toBe(true);
    expect(rate.ys.slice(-5)).toEqual([400, 400, 400, 400, 400]);
  });

  it('plots the true -ELBO for the ELBO and the bound itself for IWAE, and clears', () => {
    const history = new ChartHistory();
    history.addChunks(chunks(10), 0, 'elbo');
    history.addChunks(chunks(20), 0, 'iwae');
    expect(history.merged().train.map((p) => p!.loss)).toEqual([270, 298]);
    expect(history.merged().rate.xs, 'no throughput point without a rate').toEqual([]);
    history.clear();
    expect(history.merged().xs).toEqual([]);
  });
});

describe('the offer to continue a run kept in the browser', () => {
  const run = (settings: SavedRun['settings'], model?: string): SavedRun => ({ state: new Uint8Array(), settings, model, step: 300, epoch: 2, loss: 151.234, savedAt: 0 });

  it('names the model by the shape the worker kept, a conv model included', () => {
    const conv = describeSavedRun(run({ ...DEFAULTS, arch: 'conv', channels: [] }, 'conv 28×28 → 32-64 → 2'));
    expect(conv).toMatch(/^A training run of a conv 28×28 → 32-64 → 2 model on MNIST was saved in this browser at step 300 \(epoch 2, loss 151\.23\)/);
    expect(conv).not.toContain('784-256-2');
  });

  it('falls back on the settings for a run saved before the shape was kept', () => {
    expect(describeSavedRun(run({ ...DEFAULTS, hidden: [64] }))).toContain('a 784-64-2 model');
    expect(describeSavedRun(run({ ...DEFAULTS, arch: 'conv', channels: [] }))).toContain('a convolutional model');
  });
});

describe('the scatter plot legend', () => {
  it('lists the labels that occur, and none when all points share one', () => {
    expect(legendLabels(Uint8Array.from([2, 0, 1, 2, 0]))).toEqual([0, 1, 2]); // dSprites' three shapes
    expect(legendLabels(Uint8Array.from([7, 3, 9, 3]))).toEqual([3, 7, 9]);
    expect(legendLabels(new Uint8Array(50)), 'the user\'s own pictures: every label 0').toEqual([]);
  });
});

describe('the traversal grid', () => {
  it('stays within the largest canvas side at every image size, leaving out rows that do not fit', () => {
    for (const side of [8, 28, 32, 64, 128, 200, 256]) {
      for (const latent of [1, 2, 16, 32, 64, 512]) {
        const spec = gridSpec('traversal', side, side, 0, latent);
        const { width, height } = canvasSize(spec);
        expect(Math.max(width, height), `${side}x${side} pictures, latent ${latent}`).toBeLessThanOrEqual(MAX_CANVAS_SIDE);
        expect(spec.rows).toBeGreaterThanOrEqual(1);
      }
    }
    expect(gridSpec('traversal', 64, 64, 0, 32).rows, 'small pictures keep a row per dimension').toBe(MAX_TRAVERSAL_ROWS);
    expect(gridSpec('traversal', 128, 128, 0, 32).rows).toBe(31);
    expect(gridSpec('traversal', 256, 256, 0, 16).rows).toBe(15);
    // The worker draws those rows: the dimensions with most KL.
    expect(traversalOrder([0.1, 2, 0.5, 1], 2)).toEqual([1, 3]);
  });
});

describe('the views before the page script runs', () => {
  it('have the default model\'s sizes in the HTML, so the page does not move when the script sizes them', () => {
    const html = readFileSync(new URL('../demo/index.html', import.meta.url), 'utf8');
    for (const view of VIEW_NAMES) {
      const tag = html.match(new RegExp(`<canvas[^>]*data-view="${view}"[^>]*>`))?.[0];
      expect(tag, `a canvas for the ${view} view`).toBeDefined();
      const { width, height } = canvasSize(gridSpec(view, 28, 28, 0, DEFAULTS.latent));
      const attrs = { width: Number(tag!.match(/ width="(\d+)"/)?.[1]), height: Number(tag!.match(/ height="(\d+)"/)?.[1]), maxWidth: Number(tag!.match(/max-width: (\d+)px/)?.[1]) };
      expect(attrs, tag).toEqual({ width, height, maxWidth: width });
    }
  });
});

describe('the status line and the kept run\'s data', () => {
  const facts = { state: 'training' as const, detail: '', hasModel: true, epoch: 3, step: 120, loss: 151.234, rate: 1234.6, lossName: '−ELBO' };

  it('says where the run stands in each state', () => {
    expect(statusText(facts)).toBe('Training · epoch 3 · step 120 · −ELBO 151.23 · 1,235 examples/s');
    // Between steps the worker says what it does instead of the rate of the steps before.
    expect(statusText({ ...facts, detail: 'evaluating the test set…' })).toBe('Training · epoch 3 · step 120 · −ELBO 151.23 · evaluating the test set…');
    expect(statusText({ ...facts, state: 'paused', detail: 'Loaded m.safetensors', loss: NaN })).toBe('Paused · epoch 3 · step 120 · Loaded m.safetensors');
    expect(statusText({ ...facts, state: 'idle', hasModel: false })).toBe('Ready. Choose settings and press Start.');
    // Kernels compiled while paused (the pause's pictures) are said beside the pause, which stays a pause.
    expect(statusText({ ...facts, state: 'paused', detail: 'drawing the pictures of this step…', compiling: 'Compiling the views: kernels 2/4…' })).toBe('Paused · epoch 3 · step 120 · −ELBO 151.23 · Compiling the views: kernels 2/4…');
    expect(statusText({ ...facts, state: 'loading', detail: 'Compiling the model’s shaders…', compiling: 'Compiling the training step: kernels 6/19…' })).toBe('Compiling the training step: kernels 6/19…');
    expect(statusText({ ...facts, state: 'loading', detail: 'Compiling the model’s shaders…', compiling: null })).toBe('Compiling the model’s shaders…');
    // Reset pressed while a model compiles: said at once, with the worker's progress, until Ready.
    expect(statusText({ ...facts, state: 'loading', detail: 'Compiling the training step: kernels 6/19…', resetting: true })).toBe('Resetting: stopping the model (Compiling the training step: kernels 6/19)…');
    expect(statusText({ ...facts, state: 'idle', hasModel: false, resetting: true })).toBe('Ready. Choose settings and press Start.');
    expect(statusText({ ...facts, state: 'loading', detail: '' })).toBe('Loading…');
  });

  it('names the quantity the model trains on: the -ELBO only when nothing reweights its KL', () => {
    const c = resolveConfig({});
    expect(lossName(null)).toBe('loss');
    expect(lossName(c)).toBe('−ELBO');
    expect(lossName({ ...c, objective: 'iwae', samples: 5 })).toBe('−IWAE bound');
    expect(lossName({ ...c, objective: 'tcvae', beta: 4 })).toBe('β-TCVAE loss');
    for (const reweighted of [{ beta: 4 }, { warmupSteps: 100 }, { freeBits: 0.5 }, { klCapacity: 25 }]) expect(lossName({ ...c, ...reweighted })).toBe('training loss');
  });

  it('fetches a kept run\'s files from where the page is served now; drawn data needs none', () => {
    const base = 'http://127.0.0.1:4173/demo/';
    expect(keptData(undefined, base)).toEqual({ kind: 'mnist', baseUrl: 'http://127.0.0.1:4173/demo/mnist/' });
    expect(keptData({ kind: 'served', name: 'Fashion-MNIST', baseUrl: 'http://old/fashion-mnist/' }, base)).toEqual({ kind: 'served', name: 'Fashion-MNIST', baseUrl: 'http://127.0.0.1:4173/demo/fashion-mnist/' });
    expect(keptData({ kind: 'dsprites', colour: true, seed: 3 }, base)).toEqual({ kind: 'dsprites', colour: true, seed: 3 });
    expect(keptSourceName({ kind: 'dsprites', colour: true, seed: 3 })).toEqual({ name: 'Colour dSprites', pickerValue: 'dsprites-color' });
    expect(isKeptSource({ kind: 'images', files: [], imageSize: 16, channels: 3, seed: 0 })).toBe(false);
  });
});

describe('the reconstructions grid', () => {
  it('fits the test pictures there are, up to 32, each above its reconstruction', () => {
    const of = (tests: number) => { const g = gridSpec('reconstructions', 16, 16, 0, 1, tests); return [g.cols, g.rows]; };
    expect(of(4)).toEqual([4, 2]);
    expect(of(12)).toEqual([8, 4]);
    expect(of(32)).toEqual([8, 8]);
    expect(of(500)).toEqual([8, 8]);
    expect(of(0)).toEqual([1, 2]);
    expect(gridSpec('reconstructions', 28, 28)).toMatchObject({ cols: 8, rows: 8 }); // the page's default
  });
});

describe('the interpolation strip\'s labels', () => {
  const ends = { a: 4, b: 9, labels: [1, 8] as [number, number], decodedAs: null };
  it('names classes where the data set has names, digits as labels, and own pictures by number', () => {
    expect(interpolationLabels('mnist', ends)).toBe('label 1 → label 8');
    expect(interpolationLabels('mnist', { ...ends, decodedAs: 3 })).toBe('label 1 → label 8, decoded as class 3');
    expect(interpolationLabels('fashion-mnist', { ...ends, decodedAs: 0 })).toBe('Trouser → Bag, decoded as T-shirt/top');
    expect(interpolationLabels('dsprites', { ...ends, labels: [0, 2] })).toBe('square → heart');
    expect(interpolationLabels('images', { ...ends, labels: [0, 0] })).toBe('test pictures 4 → 9');
  });
});

describe('the class pickers of a conditional model', () => {
  it('name the classes as the legend does, keeping the label as the value', () => {
    expect(classOptions(10, 'fashion-mnist').slice(0, 3)).toEqual([['0', 'T-shirt/top'], ['1', 'Trouser'], ['2', 'Pullover']]);
    expect(classOptions(3, 'dsprites')).toEqual([['0', 'square'], ['1', 'ellipse'], ['2', 'heart']]);
    expect(classOptions(10, 'mnist')[7]).toEqual(['7', '7']);
  });
});

describe('the controls usable in each state', () => {
  const facts = { state: 'idle' as const, hasModel: false, filesMissing: null, commandSent: false };
  it('Start needs an idle page with no model, its files, and no command in flight; it says what is missing', () => {
    expect(controlStates(facts)).toMatchObject({ start: true, pause: false, resume: false, reset: false, save: false, load: true, settingsLocked: false, offer: true });
    expect(controlStates({ ...facts, filesMissing: 'choose the training images' })).toMatchObject({ start: false, startHint: 'To start: choose the training images.' });
    expect(controlStates({ ...facts, commandSent: true })).toMatchObject({ start: false, offer: false });
    expect(controlStates({ ...facts, hasModel: true })).toMatchObject({ start: false, startTitle: 'Reset first to build a new model', reset: true, settingsLocked: true });
  });
  it('while training only Pause, Reset, Save and Load; paused, Resume until a command is sent', () => {
    expect(controlStates({ ...facts, state: 'training', hasModel: true })).toMatchObject({ start: false, pause: true, resume: false, reset: true, save: true, load: true });
    expect(controlStates({ ...facts, state: 'paused', hasModel: true })).toMatchObject({ pause: false, resume: true, save: true });
    expect(controlStates({ ...facts, state: 'paused', hasModel: true, commandSent: true }).resume).toBe(false);
  });
  it('a lost device leaves Reset; loading locks the settings and leaves Reset alone, to cancel', () => {
    expect(controlStates({ ...facts, state: 'lost', hasModel: true })).toMatchObject({ reset: true, save: false, load: false, pause: false });
    const loading = controlStates({ ...facts, state: 'loading' });
    expect(loading).toMatchObject({ start: false, pause: false, resume: false, reset: true, save: false, load: false, settingsLocked: true });
  });
});
