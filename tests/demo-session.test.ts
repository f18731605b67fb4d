// The demo's training session (demo/worker/session.ts) on a real WebGPU device (Dawn in Node):
// a run whose loss stops being a number is stopped at the first loss read back, with a
// DivergedError the worker answers by dropping the run (a resumed or saved NaN model is
// useless), not left to train on unseen until the epoch's end; and a model whose data cannot be
// uploaded is destroyed before the error goes on, since no Session exists yet to free it. When
// steps are slow the page hears of completed steps by time, not only every lossEvery (16) steps,
// and the views are told each step's place (steps, training time, an epoch's end) so that they
// refresh on time (demo/worker/refresh-schedule.ts).
// Compile progress is said while any graph compiles, one graph's end not clearing another's.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DivergedError, PROGRESS_MS, Session } from '../demo/worker/session';
import { compileProgressPoster, configFor, pageMemoryBudget } from '../demo/worker/session-model';
import { DEFAULTS } from '../demo/ui/settings';
import type { LoadedData, Split } from '../demo/worker/data';
import type { Views } from '../demo/worker/views';
import type { TrainingClock } from '../demo/worker/refresh-schedule';
import type { FromWorker } from '../demo/shared/protocol';
import { DeviceLimitError, VAE, type AcquiredDevice } from '../src/index';
import { paramLayout } from '../src/model/build';
import { resolveConfig } from '../src/model/config';
import { acquireNodeDevice } from '../src/gpu/node-device';
import { readTrainingState } from '../src/training-state';
import { SAVE_EVERY_SECONDS } from '../demo/shared/saved-run';

const split = (count: number, name: string): Split => ({
  name, count, rows: 8, cols: 8,
  images: Uint8Array.from({ length: count * 64 }, (_, i) => (i * 37) % 256),
  labels: new Uint8Array(count),
});
/** Steps per epoch at batch 16: enough that losses are read back (between yields to the event loop) well before the epoch's end. */
const STEPS_PER_EPOCH = 400;
const data: LoadedData = { name: 'tiny', train: split(16 * STEPS_PER_EPOCH, 'tiny-train'), test: split(16, 'tiny-test') };
const settings = { ...DEFAULTS, hidden: [8], latent: 2, batch: 16, subset: data.train.count };
/** The loop asks the views for a refresh between steps; there are none here. */
const views = { maybeRefresh: async () => undefined } as unknown as Views;

describe('the demo session', () => {
  let acquired: AcquiredDevice;
  beforeAll(async () => {
    acquired = await acquireNodeDevice();
  });
  afterAll(() => {
    acquired?.device.destroy();
  });
  afterEach(() => vi.restoreAllMocks());

  it('stops at the first loss that is not a number, with a DivergedError', async () => {
    const config = resolveConfig(configFor(settings, data));
    // Weights this large overflow the activations, so the very first losses are not numbers (a
    // model file with NaN weights is refused when it is read, so it cannot start a run).
    const nan = new Float32Array(paramLayout(config).totalFloats).fill(1e30);
    const posted: FromWorker[] = [];
    const s = await Session.create(acquired, settings, data, views, (m) => posted.push(m), { config, flat: nan });
    try {
      const guard = setTimeout(() => void s.stop(), 120_000); // a loop that never stops ends the test
      const { error, training } = await new Promise<{ error: unknown; training: boolean }>((resolve) => s.start((error) => resolve({ error, training: s.training })));
      clearTimeout(guard);
      expect(error).toBeInstanceOf(DivergedError);
      expect(training, 'the worker is told of the failure by a session that no longer trains').toBe(false);
      expect((error as Error).message).toMatch(/^training diverged by step \d+ \(loss NaN\), .*smaller Learning rate/);
      expect(s.steps, 'stopped within the first epoch').toBeLessThan(STEPS_PER_EPOCH);
      expect(posted.filter((m) => m.type === 'epoch')).toEqual([]);
      const losses = posted.flatMap((m) => (m.type === 'progress' ? m.chunks.map((c) => c.loss) : []));
      expect(losses.every(Number.isFinite), 'no loss that is not a number reaches the page').toBe(true);
    } finally {
      await s.vae.readLosses(); // as the worker does: the last read-backs land before their buffers go
      s.destroy();
    }
  });

  it('reports completed steps by time when steps are slow, before lossEvery steps are done', async () => {
    // Each step held up 150 ms (as a slow model's would be): 16 steps take 2.4 s, PROGRESS_MS is 1 s.
    const slowViews = { maybeRefresh: () => new Promise((r) => setTimeout(r, 150)) } as unknown as Views;
    const posted: FromWorker[] = [];
    let firstProgress: () => void = () => undefined;
    const arrived = new Promise<void>((r) => (firstProgress = r));
    const s = await Session.create(acquired, settings, data, slowViews, (m) => {
      posted.push(m);
      if (m.type === 'progress') firstProgress();
    });
    try {
      const t0 = performance.now();
      s.start(() => undefined);
      await arrived;
      const waited = performance.now() - t0;
      await s.stop();
      const first = posted.find((m) => m.type === 'progress');
      const reported = first?.type === 'progress' ? first.chunks[0].step + 1 : NaN;
      expect(s.vae.training.lossEvery).toBe(16);
      expect(reported, `the first report came after ${waited.toFixed(0)} ms`).toBeLessThan(16);
      expect(reported).toBeGreaterThanOrEqual(1);
      expect(PROGRESS_MS).toBeLessThanOrEqual(2000);
    } finally {
      s.destroy();
    }
  });

  it('tells the views the step, the training time and each epoch’s end', async () => {
    const short: LoadedData = { name: 'short', train: split(16 * 5, 'short-train'), test: split(16, 'short-test') };
    const seen: TrainingClock[] = [];
    let reached: () => void = () => undefined;
    const enough = new Promise<void>((r) => (reached = r));
    const recording = {
      maybeRefresh: async (_vae: unknown, at: TrainingClock) => {
        seen.push({ ...at });
        if (at.step >= 11) reached();
      },
    } as unknown as Views;
    const s = await Session.create(acquired, { ...settings, subset: short.train.count }, short, recording, () => undefined);
    try {
      let failure: unknown;
      s.start((error) => {
        failure = error;
        reached(); // a loop that fails ends the wait too, and the test says why
      });
      await enough;
      await s.stop();
      expect(failure).toBeUndefined();
      expect(seen.slice(0, 11).map((c) => c.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(seen.filter((c) => c.epochEnded).map((c) => c.step), 'five steps an epoch').toEqual([5, 10]);
      for (let i = 1; i < seen.length; i++) expect(seen[i].trainedMs).toBeGreaterThan(seen[i - 1].trainedMs);
    } finally {
      s.destroy();
    }
  });

  it('saves the run by training time too, where 100 steps would take minutes (a conv model on a software GPU)', async () => {
    // Each step is made to look 10 s long to the session's clock: SAVE_EVERY_SECONDS (30) passes
    // every 3 steps, long before SAVE_EVERY_STEPS (100).
    const real = performance.now.bind(performance);
    let offset = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => real() + offset);
    let reached: () => void = () => undefined;
    const enough = new Promise<void>((r) => (reached = r));
    const slow = { maybeRefresh: async (_vae: unknown, at: TrainingClock) => { offset += 10_000; if (at.step >= 10) reached(); } } as unknown as Views;
    const s = await Session.create(acquired, settings, data, slow, () => undefined);
    const savedAt: number[] = [];
    s.onSaveDue = async () => { savedAt.push(s.steps); await s.state(settings); };
    try {
      s.start(() => reached());
      await enough;
      await s.stop();
      expect(SAVE_EVERY_SECONDS).toBe(30);
      // The check follows the step, the clock moves as the views are told of it: a save at step 4, then every 3.
      expect(savedAt.slice(0, 3), 'saved every 3 steps of 10 s').toEqual([4, 7, 10]);
    } finally {
      s.destroy();
    }
  });

  it('a run restored mid-epoch keeps its step watch and counts only training time in the epoch', async () => {
    const short: LoadedData = { name: 'short', train: split(16 * 10, 'short-train'), test: split(16, 'short-test') };
    const shortSettings = { ...settings, subset: short.train.count };
    let reached: () => void = () => undefined;
    const twoSteps = new Promise<void>((r) => (reached = r));
    const counting = { maybeRefresh: async (_vae: unknown, at: TrainingClock) => { if (at.step >= 2) reached(); } } as unknown as Views;
    const first = await Session.create(acquired, shortSettings, short, counting, () => undefined);
    let bytes: Uint8Array, watch: number[];
    try {
      first.start(() => reached());
      await twoSteps;
      await first.stop();
      bytes = await first.state(shortSettings);
      watch = await first.vae.watchState();
    } finally {
      first.destroy();
    }
    const saved = readTrainingState(bytes);
    expect(saved.progress.epochStep, 'stopped mid-epoch').toBeGreaterThan(0);
    expect(saved.progress.epochStep).toBeLessThan(10);
    expect(saved.progress.watch, 'the step watch is saved with the run').toEqual(watch);
    expect(watch[2], 'the watch has seen the steps').toBeGreaterThan(0);
    const idleMs = 1500;
    await new Promise((r) => setTimeout(r, idleMs)); // a reload, or a recovery from a lost device
    const posted: FromWorker[] = [];
    const restored = await Session.restore(acquired, shortSettings, short, views, (m) => posted.push(m), saved);
    const restoredAt = performance.now();
    try {
      expect(await restored.vae.watchState(), 'restored, not reset').toEqual(watch);
      const epochEnd = new Promise<void>((r) => (reached = r));
      restored.start(() => reached());
      const poll = setInterval(() => { if (posted.some((m) => m.type === 'epoch')) reached(); }, 20);
      await epochEnd;
      clearInterval(poll);
      await restored.stop();
      const report = posted.find((m) => m.type === 'epoch');
      if (report?.type !== 'epoch') throw new Error('no epoch report');
      const sinceRestore = (performance.now() - restoredAt) / 1000;
      const before = (saved.run as { epochMs: number }).epochMs / 1000;
      expect(report.report.seconds, 'the epoch\'s steps before and after the reload, not the time in between').toBeLessThanOrEqual(before + sinceRestore);
      expect(report.report.seconds).toBeGreaterThan(before);
    } finally {
      restored.destroy();
    }
  });

  it('destroys the model it built when the data cannot be uploaded', async () => {
    const destroy = vi.spyOn(VAE.prototype, 'destroy');
    vi.spyOn(VAE.prototype, 'upload').mockImplementation(() => {
      throw new DeviceLimitError('dataset tiny-train needs more bytes than one binding holds');
    });
    await expect(Session.create(acquired, settings, data, views, () => undefined)).rejects.toThrow('needs more bytes than one binding holds');
    expect(destroy).toHaveBeenCalledTimes(1);
  });

  it('refuses a model past the page\'s memory budget before allocating it, naming what fits', async () => {
    // 784-4096-4096-4096-512: 80 M parameters, 1.3 GB with gradients and Adam's moments; it
    // crashed Chromium's GPU process on a software adapter.
    expect(acquired.adapter.isSoftware).toBe(true);
    expect(pageMemoryBudget(acquired)).toBe(2 ** 30);
    const huge = { ...settings, hidden: [4096, 4096, 4096], latent: 512 };
    const before = acquired.device.limits; // the device is still usable after the refusal
    await expect(Session.create(acquired, huge, data, views, () => undefined)).rejects.toThrow(
      expect.objectContaining({ name: 'DeviceLimitError', message: expect.stringMatching(/more than the 1.00 GiB budget; use a smaller model/) }));
    const small = await Session.create(acquired, settings, data, views, () => undefined);
    small.destroy();
    expect(acquired.device.limits).toBe(before);
  });
});

describe('compile progress', () => {
  it('is said while any graph compiles: one graph finishing does not clear another\'s', () => {
    const said: (string | null)[] = [];
    const progress = compileProgressPoster((m) => { if (m.type === 'compiling') said.push(m.detail); });
    progress(0, 4, 'sample');
    progress(1, 3, 'eval');
    progress(4, 4, 'sample');
    progress(3, 3, 'eval');
    expect(said).toEqual([
      'Compiling the views: kernels 0/4…',
      'Compiling the test evaluation: kernels 1/3…',
      'Compiling the test evaluation: kernels 1/3…',
      null,
    ]);
  });
});
