// Per-kernel GPU time of one training step of webgpu-vae, from timestamp queries. The step's
// graphs are re-encoded with KernelGraph.encodeProfiled, which puts each dispatch in its own compute
// pass with a begin/end timestamp; the step is repeated `profileReps` times, the median kept per
// dispatch, and the times summed per kernel family (first word of the kernel name). One pass per
// dispatch adds pass overhead, so the 'total' row is compared with the unprofiled step time, and
// with the GPU time the unprofiled step spans (its passes as they run, timestamped at both ends).
import { gentleWait } from '../src/gpu/gentle-wait';
import { median, round, timesByFamily, type BenchOptions, type ProfileRecord } from './common';
import type { PreparedVae, RunContext } from './step';

export async function runProfile(ctx: RunContext, p: PreparedVae, opts: BenchOptions, stepMs: number | null): Promise<ProfileRecord[] | string> {
  const device = ctx.acquired.device;
  if (!device.features.has('timestamp-query')) return 'profile: n/a (the device has no timestamp-query feature)';
  const plan = await p.vae.plan('train', opts.batch);
  const gather = await p.resident.gatherFor(plan, p.vae.buffers, p.vae.cache);
  const graphs = [gather, plan.graph];
  const count = graphs.reduce((n, g) => n + g.dispatchCount, 0);
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * count });
  const resolve = device.createBuffer({ size: 16 * count, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const readback = device.createBuffer({ size: 16 * count, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  ctx.log(`profile: ${count} dispatches x ${opts.profileReps} repetitions`);

  let names: string[] = [];
  const perDispatch: number[][] = Array.from({ length: count }, () => []);
  const span: number[] = [];
  try {
    for (let r = 0; r < opts.profileReps; r++) {
      // Re-running the train graph takes one more optimiser step with the last step's parameters
      // block; harmless here (the model is only being timed).
      const enc = device.createCommandEncoder({ label: 'bench:profile' });
      names = [];
      for (const g of graphs) names.push(...g.encodeProfiled(enc, querySet, 2 * names.length));
      enc.resolveQuerySet(querySet, 0, 2 * count, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, readback, 0, 16 * count);
      device.queue.submit([enc.finish()]);
      // Waits as the library does: a spinning wait would take a core from the kernels.
      await gentleWait(() => readback.mapAsync(GPUMapMode.READ));
      const t = new BigUint64Array(readback.getMappedRange().slice(0));
      readback.unmap();
      for (let i = 0; i < count; i++) perDispatch[i].push(Number(t[2 * i + 1] - t[2 * i]) / 1e6);
    }
    // The step as it runs (the gather's pass, then the graph's one pass), timestamped only at the
    // first pass's start and the last pass's end: the GPU time the step spans. Next to the wall
    // time of a step it tells a GPU kept busy (span close to the step) from one left waiting on
    // the CPU's submissions.
    for (let r = 0; r < opts.profileReps; r++) {
      const enc = device.createCommandEncoder({ label: 'bench:profile-span' });
      gather.encode(enc, { querySet, beginningOfPassWriteIndex: 0 });
      plan.graph.encode(enc, { querySet, endOfPassWriteIndex: 1 });
      enc.resolveQuerySet(querySet, 0, 2, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, readback, 0, 16);
      device.queue.submit([enc.finish()]);
      await gentleWait(() => readback.mapAsync(GPUMapMode.READ, 0, 16));
      const t = new BigUint64Array(readback.getMappedRange(0, 16).slice(0));
      readback.unmap();
      span.push(Number(t[1] - t[0]) / 1e6);
    }
  } finally {
    querySet.destroy();
    resolve.destroy();
    readback.destroy();
  }

  const families = timesByFamily(names, perDispatch);
  const total = families.reduce((s, f) => s + f.ms, 0);
  const base = { bench: 'profile' as const, impl: 'webgpu-vae' as const, env: ctx.env, adapter: ctx.adapter, batch: opts.batch };
  const records: ProfileRecord[] = families
    .map(({ family, kernels, dispatches, ms }) => ({ ...base, family, kernels, dispatches, gpu_ms: round(ms), share: round(total > 0 ? ms / total : 0, 4) }));
  records.push({
    ...base, family: 'total', kernels: [], dispatches: count, gpu_ms: round(total), share: 1,
    ...(stepMs !== null ? { step_ms: round(stepMs) } : {}),
    ...(span.length ? { span_gpu_ms: round(median(span)) } : {}),
  });
  return records;
}
