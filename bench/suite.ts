// Runs the selected benchmarks on one device, in Node or in the Chromium page (same code): the
// train-step comparison (ours, then TF.js), the per-kernel profile of our step, the batch sweep and
// the matmul table. Every result goes out through `emit` as soon as it exists, so a crash late in
// the run keeps what was measured.
import { describeAdapter, summarizeAdapter, type AcquiredDevice } from '../src/gpu/device';
import type { BenchData, BenchEnv, BenchOptions, BenchRecord, StepRecord } from './common';
import { installCounters } from './counters';
import { runMatmulHook } from './matmul-hook';
import { runProfile } from './profile';
import { prepareVae, runOursStep, timeBlocks, type PreparedVae, type RunContext } from './step';
import { runSweep } from './sweep';
import { runTfjsStep, tfjsAdapterName, type Tf } from './tfjs-vae';

export interface SuiteHost {
  env: BenchEnv;
  acquired: AcquiredDevice;
  data: BenchData;
  /** Loads TF.js with the WebGPU backend active (environment-specific). */
  loadTf(): Promise<Tf>;
  emit(r: BenchRecord): void;
  log(line: string): void;
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export async function runSuite(host: SuiteHost, opts: BenchOptions): Promise<void> {
  const adapter = describeAdapter(host.acquired.adapter);
  const counter = installCounters(host.acquired.device);
  if (!counter.active) host.emit({ bench: 'note', env: host.env, message: 'could not wrap queue.submit / dispatchWorkgroups: dispatch and submit counts are n/a' });
  const ctx: RunContext = { env: host.env, acquired: host.acquired, adapter, data: host.data, counter, log: host.log };
  const note = (message: string) => host.emit({ bench: 'note', env: host.env, message });
  try {
    let ours: StepRecord | null = null;
    let prepared: PreparedVae | null = null;
    if (opts.step && opts.impls.includes('webgpu-vae')) {
      const r = await runOursStep(ctx, opts);
      ours = r.record;
      prepared = r.prepared;
      host.emit(ours);
    }
    if (opts.profile) {
      try {
        let stepMs = ours?.median_ms ?? null;
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

    if (opts.step && opts.impls.includes('tfjs-webgpu')) {
      try {
        host.log('tfjs-webgpu: loading TensorFlow.js');
        const tf = await host.loadTf();
        const tfAdapter = await tfjsAdapterName((a) => describeAdapter(summarizeAdapter(a.info, a.features)));
        const theirs = await runTfjsStep(tf, ctx, opts, tfAdapter);
        host.emit(theirs);
        if (ours) host.emit({ bench: 'train_step_ratio', env: host.env, batch: opts.batch, ratio: Number((theirs.median_ms / ours.median_ms).toFixed(2)) });
      } catch (e) {
        note(`tfjs-webgpu failed: ${errorText(e)}`);
      }
    }

    if (opts.sweep.length) await runSweep(ctx, opts, host.emit);

    if (opts.matmul) {
      host.log('matmul: timing bench/matmul.ts cases');
      try {
        const square = opts.matmulSquare ?? (host.acquired.adapter.isSoftware ? 0 : 1024);
        const ran = await runMatmulHook(host.acquired.device, host.env, adapter, opts.batch, square, host.emit);
        if (!ran) note('matmul: bench/matmul.ts has no runMatmulBench yet (integration point: bench/matmul-hook.ts)');
      } catch (e) {
        note(`matmul failed: ${errorText(e)}`);
      }
    }
  } finally {
    counter.uninstall();
  }
}
