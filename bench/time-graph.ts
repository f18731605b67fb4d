// Times one built KernelGraph the way every kernel benchmark does: GPU time from timestamp
// queries where the adapter has `timestamp-query` (each dispatch in its own pass, the passes'
// times summed, so a graph of several dispatches is timed whole), else wall time to the queue's
// completion; `warmup` runs first and are not counted. Returns milliseconds per run.
import { gentleWait } from '../src/gpu/gentle-wait';
import type { KernelGraph } from '../src/graph';

/**
 * `perDispatch`, where timestamps are read, is called after each timed run with every dispatch's
 * milliseconds, in graph order.
 */
export async function timeGraph(device: GPUDevice, graph: KernelGraph, warmup: number, reps: number, perDispatch?: (ms: number[]) => void): Promise<number[]> {
  const stamps = device.features.has('timestamp-query');
  const queries = 2 * graph.dispatchCount;
  const bytes = 8 * queries;
  const querySet = stamps ? device.createQuerySet({ type: 'timestamp', count: queries }) : null;
  const resolve = stamps ? device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }) : null;
  const readback = stamps ? device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }) : null;
  const times: number[] = [];
  try {
    for (let r = 0; r < warmup + reps; r++) {
      const enc = device.createCommandEncoder();
      const t0 = performance.now();
      if (querySet && resolve && readback) {
        graph.encodeProfiled(enc, querySet, 0);
        enc.resolveQuerySet(querySet, 0, queries, resolve, 0);
        enc.copyBufferToBuffer(resolve, 0, readback, 0, bytes);
        device.queue.submit([enc.finish()]);
        await gentleWait(() => readback.mapAsync(GPUMapMode.READ));
        const stampsRead = new BigUint64Array(readback.getMappedRange().slice(0));
        readback.unmap();
        let ns = 0n;
        for (let i = 0; i < graph.dispatchCount; i++) ns += stampsRead[2 * i + 1] - stampsRead[2 * i];
        if (ns <= 0n) throw new Error(`timeGraph: graph ${graph.label} read back no GPU time (timestamps ${[...stampsRead].join(', ')})`);
        if (r >= warmup) {
          times.push(Number(ns) / 1e6);
          perDispatch?.(Array.from({ length: graph.dispatchCount }, (_, i) => Number(stampsRead[2 * i + 1] - stampsRead[2 * i]) / 1e6));
        }
      } else {
        graph.encode(enc);
        device.queue.submit([enc.finish()]);
        await gentleWait(() => device.queue.onSubmittedWorkDone());
        if (r >= warmup) times.push(performance.now() - t0);
      }
    }
  } finally {
    querySet?.destroy(); resolve?.destroy(); readback?.destroy();
  }
  return times;
}
