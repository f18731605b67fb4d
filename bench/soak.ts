// `npm run bench -- --soak`: a long training run that watches for leaks and drift. The default
// model (784-400-20, batch 128, Adam) trains on MNIST as `webgpu-vae train` does, a fresh shuffle
// per epoch, with a test-set -ELBO before the first step and every --eval-every steps; every --sample-every steps it records
// the GPU bytes and live buffers of the device (every buffer, counted by bench/buffer-tracker.ts),
// the JS heap after a forced garbage collection, the RSS and the mean step time of the window.
// The verdict (bench/soak-verdict.ts) says whether anything grew.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { AcquiredDevice } from '../src/gpu/device';
import type { PixelData } from '../src/model/resident-data';
import { VAE } from '../src/model/vae';
import { Philox } from '../src/rng';
import { trackBuffers } from './buffer-tracker';
import { soakVerdict, type SoakSample, type SoakVerdict } from './soak-verdict';

export interface SoakOptions {
  steps: number;
  evalEvery: number;
  sampleEvery: number;
  batch: number;
  hidden: number[];
  latent: number;
  lr: number;
  seed: number;
}

export interface SoakEval {
  step: number;
  testLoss: number;
  ms: number;
}

export interface SoakResult {
  samples: SoakSample[];
  evals: SoakEval[];
  verdict: SoakVerdict;
  /** Model bytes as the library's own arena counts them, first and last sample (a cross-check on the tracker). */
  arenaBytes: [number, number];
  lastLoss: number;
  /** Steps taken: fewer than asked when the run was stopped early (the verdict covers the samples taken). */
  stepsRun: number;
}

/** A garbage collector to call before reading the heap, so the figure is live data, not garbage. */
function collector(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

export async function runSoak(acquired: AcquiredDevice, train: PixelData, test: PixelData, opts: SoakOptions,
  hooks: { onSample?: (s: SoakSample) => void; onEval?: (e: SoakEval) => void; log?: (line: string) => void; stopRequested?: () => boolean } = {}): Promise<SoakResult> {
  const gc = collector();
  const tracker = trackBuffers(acquired.device);
  const vae = await VAE.create({ hidden: opts.hidden, latent: opts.latent }, {
    device: { ...acquired, owned: false }, batch: Math.min(opts.batch, train.count), lr: opts.lr, seed: opts.seed,
  });
  try {
    const trainData = vae.upload(train), testData = vae.upload(test);
    const batches = Math.ceil(train.count / vae.training.batch);
    const order = new Philox(opts.seed, 1);
    const samples: SoakSample[] = [], evals: SoakEval[] = [];
    const arena: number[] = [];
    let lastLoss = NaN, trainMs = 0, windowSteps = 0;
    const evaluate = async (step: number) => {
      const t = performance.now();
      const r = await vae.elbo(testData, { seed: opts.seed });
      const e = { step, testLoss: r.loss, ms: performance.now() - t };
      evals.push(e);
      hooks.onEval?.(e);
    };
    // An evaluation before the first step builds the evaluation plan, so the samples compare like with like.
    await evaluate(0);
    let resumedAt = performance.now();
    /** Waits for the steps queued so far and stops the training clock. */
    const pause = async () => {
      for (const l of await vae.readLosses()) lastLoss = l.loss;
      trainMs += performance.now() - resumedAt;
    };
    let stepsRun = 0;
    for (let step = 1; step <= opts.steps && !hooks.stopRequested?.(); step++) {
      stepsRun = step;
      const index = (step - 1) % batches;
      if (index === 0) trainData.setOrder(order.permutation(train.count));
      await vae.trainStep({ data: trainData, index });
      for (const l of vae.losses.take()) lastLoss = l.loss;
      windowSteps++;
      const evalNow = step % opts.evalEvery === 0, sampleNow = step % opts.sampleEvery === 0;
      if (!evalNow && !sampleNow) continue;
      await pause();
      if (!Number.isFinite(lastLoss)) throw new Error(`soak: the training loss is ${lastLoss} at step ${step}; the run diverged`);
      if (evalNow) await evaluate(step);
      if (sampleNow) {
        gc();
        const s: SoakSample = {
          step, gpuBytes: tracker.bytes, buffers: tracker.live, heapBytes: process.memoryUsage().heapUsed,
          rssBytes: process.memoryUsage.rss(), stepMs: trainMs / windowSteps,
        };
        samples.push(s);
        arena.push(vae.allocatedBytes);
        hooks.onSample?.(s);
        trainMs = 0;
        windowSteps = 0;
      }
      resumedAt = performance.now();
    }
    return { samples, evals, verdict: soakVerdict(samples), arenaBytes: [arena[0] ?? 0, arena[arena.length - 1] ?? 0], lastLoss, stepsRun };
  } finally {
    vae.destroy();
    tracker.uninstall();
  }
}
