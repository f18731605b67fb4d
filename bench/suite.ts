// Runs the selected benchmarks on one device, in Node or in the Chromium page (same code): the
// train-step comparison (ours, then TF.js), the per-kernel profile of our step, the batch sweep and
// the matmul table. Every result goes out through `emit` as soon as it exists, so a crash late in
// the run keeps what was measured.
import { describeAdapter, summarizeAdapter, type AcquiredDevice } from '../src/gpu/device';
import { median, type BenchData, type BenchEnv, type BenchOptions, type BenchRecord, type MatmulRecord } from './common';
import { installCounters } from './counters';
import type { AutotuneCache } from '../src/model/autotune';
import { runMatmulHook } from './matmul-hook';
import { measurePeak } from './peak';
import { runProfile } from './profile';
import { prepareOursStep, prepareVae, timeBlocks, type OursStepRun, type PreparedVae, type RunContext } from './step';
import { runSweep } from './sweep';
import { prepareTfjsStep, tfjsAdapterName, type Tf, type TfjsStepRun } from './tfjs-vae';

export interface SuiteHost {
  env: BenchEnv;
  acquired: AcquiredDevice;
  data: BenchData;
  /** Loads TF.js with the WebGPU backend active (environment-specific). */
  loadTf(): Promise<Tf>;
  emit(r: BenchRecord): void;
  log(line: string): void;
  /** Where autotune results are kept (default: the model's, IndexedDB in a browser). */
  autotuneCache?: AutotuneCache;
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export async function runSuite(host: SuiteHost, opts: BenchOptions): Promise<void> {
  const adapter = describeAdapter(host.acquired.adapter);
  const counter = installCounters(host.acquired.device);
  if (!counter.active) host.emit({ bench: 'note', env: host.env, message: 'could not wrap queue.submit / dispatchWorkgroups: dispatch and submit counts are n/a' });
  const ctx: RunContext = { env: host.env, acquired: host.acquired, adapter, data: host.data, counter, log: host.log, emit: host.emit, autotuneCache: host.autotuneCache };
  const note = (message: string) => host.emit({ bench: 'note', env: host.env, message });
  try {
    let prepared: PreparedVae | null = null;
    let oursMs: number | null = null;
    if (opts.step) {
      const r = await runStepComparison(host, ctx, opts);
      prepared = r.prepared;
      oursMs = r.oursMs;
    }
    if (opts.profile) {
      try {
        let stepMs = oursMs;
        if (!prepared) {
          prepared = await prepareVae(ctx, opts, opts.examples);
          for (let i = 0; i < opts.warmup; i++) await prepared.vae.trainStep(prepared.next());
          await prepared.vae.readLosses();
          stepMs = (await timeBlocks(prepared, opts.steps, 1)).samples[0];
        }
        const result = await runProfile(ctx, prepared, opts, stepMs);
        if (typeof result === 'string') note(result);
        else result.forEach((r) => host.emit(r));
      } catch (e) {
        note(`profile failed: ${errorText(e)}`);
      }
    }
    prepared?.vae.destroy();

    if (opts.sweep.length) await runSweep(ctx, opts, host.emit);

    if (opts.peak) {
      host.log('peak: timing register-only fma chains');
      try {
        host.emit({ bench: 'arith_peak', env: host.env, adapter, ...(await measurePeak(host.acquired.device, { log: host.log })) });
      } catch (e) {
        note(`peak failed: ${errorText(e)}`);
      }
    }

    if (opts.matmul) {
      host.log('matmul: timing bench/matmul.ts cases');
      try {
        const square = opts.matmulSquare ?? (host.acquired.adapter.isSoftware ? 0 : 1024);
        const batches = opts.matmulBatches ?? (host.acquired.adapter.isSoftware ? [opts.batch] : [...new Set([opts.batch, 1024])]);
        // Without bounds checks (--bounds-checks off) a case is labelled so, so that the report
        // keeps its row apart from the same product timed with them.
        const unchecked = host.acquired.boundsChecks === false;
        const emit = unchecked ? (r: MatmulRecord) => host.emit({ ...r, label: `${String(r.label)}, unchecked`, bounds_checks: false }) : host.emit;
        const ran = await runMatmulHook(host.acquired.device, host.env, adapter, batches, square, emit, opts.matmulVariants ?? undefined);
        if (!ran) note('matmul: bench/matmul.ts has no runMatmulBench yet (integration point: bench/matmul-hook.ts)');
      } catch (e) {
        note(`matmul failed: ${errorText(e)}`);
      }
    }
  } finally {
    counter.uninstall();
  }
}

/**
 * The train-step comparison: both implementations are built and warmed up, then timed in
 * alternating rounds (ours, TF.js, ours, ...) so that drift in the machine's speed during the run
 * lands on both. Returns our prepared model (for the profile to reuse) and our median step.
 */
async function runStepComparison(host: SuiteHost, ctx: RunContext, opts: BenchOptions): Promise<{ prepared: PreparedVae | null; oursMs: number | null }> {
  const note = (message: string) => host.emit({ bench: 'note', env: host.env, message });
  let ours: OursStepRun | null = null;
  let theirs: TfjsStepRun | null = null;
  if (opts.impls.includes('webgpu-vae')) {
    if (opts.precision === 'f16' && !host.acquired.device.features.has('shader-f16')) note('webgpu-vae: f16 step skipped: this adapter has no shader-f16');
    else ours = await prepareOursStep(ctx, opts);
  }
  if (opts.impls.includes('tfjs-webgpu')) {
    try {
      host.log('tfjs-webgpu: loading TensorFlow.js');
      const tf = await host.loadTf();
      const tfAdapter = await tfjsAdapterName((a) => describeAdapter(summarizeAdapter(a.info, a.features)));
      theirs = await prepareTfjsStep(tf, ctx, opts, tfAdapter);
    } catch (e) {
      note(`tfjs-webgpu failed: ${errorText(e)}`);
    }
  }
  const roundRatios: number[] = [];
  try {
    for (let r = 0; r < opts.rounds; r++) {
      host.log(`step comparison: round ${r + 1} of ${opts.rounds}`);
      const a = ours ? await ours.time() : null;
      const b = theirs ? await theirs.time() : null;
      if (a && b) roundRatios.push(Number((median(b) / median(a)).toFixed(2)));
    }
    const oursRecord = ours ? await ours.record() : null;
    if (oursRecord) host.emit(oursRecord);
    const theirsRecord = theirs?.record() ?? null;
    if (theirsRecord) host.emit(theirsRecord);
    if (oursRecord && theirsRecord) {
      host.emit({
        bench: 'train_step_ratio', env: host.env, batch: opts.batch,
        ratio: Number((theirsRecord.median_ms / oursRecord.median_ms).toFixed(2)), round_ratios: roundRatios,
      });
    }
    return { prepared: ours?.prepared ?? null, oursMs: oursRecord?.median_ms ?? null };
  } finally {
    theirs?.dispose();
  }
}
