// Batch-size sweep of webgpu-vae alone: for each batch size a fresh model (its train graph compiled
// for that size), one warm-up step after the first, then one timed block of
// max(2, ceil(sweepExamples / batch)) steps ending in a loss read-back. Reports ms per step and
// examples per second, which shows where the adapter stops gaining from larger batches.
import { now, round, type BenchOptions, type NoteRecord, type SweepRecord } from './common';
import { prepareVae, timeBlocks, type RunContext } from './step';

export async function runSweep(ctx: RunContext, opts: BenchOptions, emit: (r: SweepRecord | NoteRecord) => void): Promise<void> {
  for (const batch of opts.sweep) {
    const steps = Math.max(2, Math.ceil(opts.sweepExamples / batch));
    ctx.log(`sweep: batch ${batch}, ${steps} timed steps`);
    let prepared = null;
    try {
      const t0 = now();
      // Twice the batch of data so consecutive steps read different examples.
      prepared = await prepareVae(ctx, { ...opts, batch }, Math.max(opts.examples, 2 * batch));
      const firstStepMs = now() - t0;
      await prepared.vae.trainStep(prepared.next());
      await prepared.vae.readLosses();
      const { samples } = await timeBlocks(prepared, steps, 1);
      const ms = samples[0];
      emit({
        bench: 'sweep', impl: 'webgpu-vae', env: ctx.env, adapter: ctx.adapter, batch,
        median_ms: round(ms), samples_per_s: round((batch * 1000) / ms, 1), first_step_ms: round(firstStepMs, 1),
        gpu_bytes: prepared.vae.allocatedBytes, steps,
      });
    } catch (e) {
      emit({ bench: 'note', env: ctx.env, message: `sweep: batch ${batch} failed: ${(e as Error).message}` });
    } finally {
      prepared?.vae.destroy();
    }
  }
}
