// The training step of this library (webgpu-vae), timed. One step is one command encoder and one
// submit; steps are queued back to back as a real training loop queues them, and each timed block
// of N steps ends by awaiting `readLosses()`, which waits for every submitted step to finish. The
// per-step time of a block is its wall time / N; the reported figure is the median over blocks.
import { VAE } from '../src/model/vae';
import type { ResidentData } from '../src/model/resident-data';
import type { AcquiredDevice } from '../src/gpu/device';
import type { GpuCounter } from './counters';
import { describeTuning, type AutotuneCache, type AutotuneMode } from '../src/model/autotune';
import type { Precision } from '../src/model/precision';
import type { KernelChoice } from '../src/model/kernel-choice';
import { median, now, round, subset, type BenchRecord, type BenchData, type BenchEnv, type BenchOptions, type MatmulShapes, type SkipZeros, type StepRecord } from './common';

export interface RunContext {
  env: BenchEnv;
  acquired: AcquiredDevice;
  /** describeAdapter() of the device the benchmarks run on. */
  adapter: string;
  data: BenchData;
  counter: GpuCounter;
  log(line: string): void;
  /** Receives records produced while preparing (the autotune choices). */
  emit?: (r: BenchRecord) => void;
  /** Where autotune results are kept (Node: the JSON file cache; the page: IndexedDB by default). */
  autotuneCache?: AutotuneCache;
}

/** A model ready to step: built, data resident, first step done. */
export interface PreparedVae {
  vae: VAE;
  resident: ResidentData;
  /** Next batch index, cycling over the whole batches of the resident data. */
  next(): { data: ResidentData; index: number };
  /** Creation (pipeline compilation) + upload + first step, to its completion. */
  firstStepMs: number;
  /** Distinct larger-block kernels swapped in after the first step (vae.upgradeKernels()), and the time their compile took. */
  hotKernels: number;
  hotKernelsMs: number;
  dataBytes: number;
}

/** What prepareVae builds: the bench's options, and optionally kernel overrides of VAE.create. */
export interface PrepareShape {
  batch: number; hidden: number[]; latent: number; lr: number;
  autotune?: AutotuneMode; precision?: Precision; matmulShapes?: MatmulShapes; skipZeros?: SkipZeros;
  /** Overrides of the adapter's kernel choices; matmulShapes and skipZeros, when set, win over them. */
  kernels?: Partial<KernelChoice>;
  /** Read the loss every this many steps (VAE.create's lossEvery; its default when unset). */
  lossEvery?: number;
}

export async function prepareVae(ctx: Pick<RunContext, 'acquired' | 'data' | 'autotuneCache'>, shape: PrepareShape, examples: number): Promise<PreparedVae> {
  const shapes = shape.matmulShapes ?? 'default', skipZeros = shape.skipZeros ?? 'default';
  const kernels = { ...shape.kernels, ...(shapes !== 'default' ? { matmulGeneric: shapes === 'generic' } : {}), ...(skipZeros !== 'default' ? { skipInputZeros: skipZeros === 'on' } : {}) };
  const data = subset(ctx.data, Math.max(examples, shape.batch));
  if (data.count < shape.batch) throw new Error(`batch ${shape.batch} needs at least that many examples; only ${data.count} loaded`);
  const t0 = now();
  // A device we lend (owned: false) survives vae.destroy(), so later benchmarks can reuse it.
  const vae = await VAE.create({ hidden: shape.hidden, latent: shape.latent }, {
    device: { ...ctx.acquired, owned: false }, batch: shape.batch, lr: shape.lr,
    autotune: shape.autotune ?? 'off', precision: shape.precision ?? 'f32', ...(ctx.autotuneCache ? { autotuneCache: ctx.autotuneCache } : {}),
    ...(shape.lossEvery ? { lossEvery: shape.lossEvery } : {}),
    ...(Object.keys(kernels).length ? { kernels } : {}),
  });
  const before = vae.allocatedBytes;
  const resident = vae.upload({ images: data.images, count: data.count, name: 'bench' });
  const dataBytes = vae.allocatedBytes - before;
  const batches = Math.floor(data.count / shape.batch);
  let index = 0;
  const next = () => ({ data: resident, index: index++ % batches });
  await vae.trainStep(next());
  await vae.readLosses();
  const firstStepMs = now() - t0;
  // The step a run settles into: its larger-block kernels (src/model/hot-kernels.ts), which a run
  // swaps in by itself after its first steps, swapped in before any timing.
  const t1 = now();
  const hotKernels = new Set(await vae.upgradeKernels()).size;
  return { vae, resident, next, firstStepMs, hotKernels, hotKernelsMs: now() - t1, dataBytes };
}

/** Mean ms per step over `blocks` blocks of `steps` steps each; also the last loss read. */
export async function timeBlocks(p: PreparedVae, steps: number, blocks: number): Promise<{ samples: number[]; loss: number | null }> {
  const samples: number[] = [];
  let loss: number | null = null;
  for (let b = 0; b < blocks; b++) {
    const t = now();
    for (let s = 0; s < steps; s++) await p.vae.trainStep(p.next());
    const losses = await p.vae.readLosses();
    samples.push((now() - t) / steps);
    if (losses.length) loss = losses[losses.length - 1].loss;
  }
  return { samples, loss };
}

/** Our step, compiled and warmed up: `time()` adds timed blocks, `record()` summarizes them all. */
export interface OursStepRun {
  prepared: PreparedVae;
  time(): Promise<number[]>;
  record(): Promise<StepRecord>;
}

export async function prepareOursStep(ctx: RunContext, opts: BenchOptions): Promise<OursStepRun> {
  ctx.log(`webgpu-vae: compiling and running the first step (batch ${opts.batch})`);
  const p = await prepareVae(ctx, opts, opts.examples);
  if (opts.autotune !== 'off') {
    for (const [product, t] of Object.entries(p.vae.kernels.matmulTuned ?? {})) {
      ctx.emit?.({ bench: 'autotune', env: ctx.env, adapter: ctx.adapter, mode: opts.autotune, product, choice: describeTuning(t), ms: round(t.ms, 4), candidates: t.candidates });
    }
  }
  for (let i = 0; i < opts.warmup; i++) await p.vae.trainStep(p.next());
  await p.vae.readLosses();

  // Count one step on its own: trainStep has submitted its work when its promise resolves.
  ctx.counter.reset();
  await p.vae.trainStep(p.next());
  const counted = ctx.counter.read();
  await p.vae.readLosses();

  const samples: number[] = [];
  let loss: number | null = null;
  return {
    prepared: p,
    async time() {
      ctx.log(`webgpu-vae: timing ${opts.blocks} blocks of ${opts.steps} steps`);
      const r = await timeBlocks(p, opts.steps, opts.blocks);
      samples.push(...r.samples);
      loss = r.loss ?? loss;
      return r.samples;
    },
    async record() {
      const ms = median(samples);
      return {
        bench: 'train_step', impl: 'webgpu-vae', env: ctx.env, adapter: ctx.adapter,
        batch: opts.batch, hidden: opts.hidden, latent: opts.latent,
        median_ms: round(ms), samples_per_s: round((opts.batch * 1000) / ms, 1),
        first_step_ms: round(p.firstStepMs, 1), hot_kernels: p.hotKernels, hot_kernels_ms: round(p.hotKernelsMs, 1), autotune: opts.autotune, precision: opts.precision, matmul_generic: p.vae.kernels.matmulGeneric ?? false,
        // What ran, not what was asked: a tiled or too-wide first layer does not skip (skippingZeros).
        skip_input_zeros: (await p.vae.plan('train', opts.batch)).graph.kernels.some((k) => k.name.startsWith('nonzero_steps')),
        ...(ctx.acquired.boundsChecks === false ? { bounds_checks: false } : {}),
        dispatches: await p.vae.dispatchesPerStep(),
        submits: ctx.counter.active ? counted.submits : 1,
        dispatches_counted: ctx.counter.active ? counted.dispatches : null,
        gpu_bytes: p.vae.allocatedBytes, data_bytes: p.dataBytes,
        ...(await p.vae.trainMemory().then((m) => ({ planned_bytes: m.plannedBytes, saved_bytes: m.savedBytes }))),
        samples_ms: samples.map((x) => round(x)), steps_per_sample: opts.steps, warmup: opts.warmup,
        loss: loss === null ? null : round(loss, 3),
      };
    },
  };
}
