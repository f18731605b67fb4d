// The adapter's arithmetic ceiling, measured: a kernel of independent fma chains held in
// registers, with no memory traffic but one store per invocation. What it reaches is the most
// f32 arithmetic this adapter executes per second from WGSL, so a matmul's GFLOP/s can be read
// against it on any adapter, including software ones and GPUs missing from gpu-report.ts's table
// of data-sheet peaks.
//
// Each invocation runs ITERATIONS steps of `chains` independent fma chains (acc = fma(acc, m, c),
// which no compiler can fold), STEPS_PER_LOOP of them an iteration of its loop: SwiftShader stores
// a loop's variables back under the lanes' mask once an iteration, which with one fma an
// iteration read its ceiling at 12.2 GFLOP/s against 28.5 with four (2026-12-07, AMD EPYC host,
// 16 chains). The dispatch doubles until one takes at least `minMs`, so the figure is not
// dominated by launch costs on fast GPUs or made to wait minutes on slow adapters.
import { declareBindings, FLAT_INDEX_WGSL, grid1D, MAX_WORKGROUPS_PER_DIM, write, type Kernel } from '../shaders/common';
import { gentleWait } from '../src/gpu/gentle-wait';
import { pipelineCacheFor } from '../src/gpu/pipelines';
import type { BenchEnv } from './common';

const WORKGROUP = 256;
const ITERATIONS = 1024;
const STEPS_PER_LOOP = 4;

export interface PeakRecord {
  bench: 'arith_peak';
  env: BenchEnv;
  adapter: string;
  /** The best kernel's GFLOP/s (one fma = 2 flops). */
  gflops: number;
  /** Independent fma chains per invocation in the best kernel. */
  chains: number;
  invocations: number;
  /** Median ms of the timed dispatches of the best kernel. */
  ms: number;
}

/** The ceiling kernel with `chains` independent fma chains per invocation, over `groups` workgroups. */
export function peakKernel(chains: number, groups = 1): Kernel {
  const ids = Array.from({ length: chains }, (_, i) => i);
  const bindings = [write('out')];
  const code = `${declareBindings(bindings)}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let id = ${FLAT_INDEX_WGSL(WORKGROUP)};
  // Multiplier just under 1 and an offset, both from the invocation id: the chains stay finite
  // and the compiler cannot know their values.
  let m = 1.0 - f32(id & 1023u) * 1e-7;
  let c = f32(id & 7u) * 1e-3;
  ${ids.map((i) => `var a${i} = f32(id & 15u) + ${i}.0;`).join(' ')}
  for (var k = 0u; k < ${ITERATIONS / STEPS_PER_LOOP}u; k++) {
    ${ids.map((i) => `a${i} = ${'fma('.repeat(STEPS_PER_LOOP)}a${i}${', m, c)'.repeat(STEPS_PER_LOOP)};`).join(' ')}
  }
  out[id % arrayLength(&out)] = ${ids.map((i) => `a${i}`).join(' + ')};
}`;
  // Only the grid depends on `groups`, so every size shares one pipeline (cached by source).
  return { name: `arith_peak_${chains}`, code, bindings, workgroups: grid1D(groups * WORKGROUP, WORKGROUP) };
}

/**
 * Times the ceiling kernel at 8, 16 and 32 chains per invocation and returns the faster. `minMs` is
 * the shortest dispatch that counts (default 50 ms); `maxGroups` caps the dispatch (tests use a
 * small one).
 */
export async function measurePeak(device: GPUDevice, opts: { minMs?: number; maxGroups?: number; log?: (line: string) => void } = {}): Promise<Omit<PeakRecord, 'bench' | 'env' | 'adapter'>> {
  const minMs = opts.minMs ?? 50;
  const maxGroups = opts.maxGroups ?? MAX_WORKGROUPS_PER_DIM * 64;
  const cache = pipelineCacheFor(device);
  const out = device.createBuffer({ size: 4 * 65536, usage: GPUBufferUsage.STORAGE });
  let best: Omit<PeakRecord, 'bench' | 'env' | 'adapter'> | null = null;
  try {
    for (const chains of [8, 16, 32]) {
      const run = async (groups: number): Promise<number> => {
        const dispatch = (await cache.get(peakKernel(chains, groups), 'library')).bind({ out });
        const t = performance.now();
        dispatch.run();
        // Through gentleWait: a plain await keeps dawn.node polling on a core that SwiftShader's
        // shaders need, which read the ceiling about a third low on 2 cores.
        await gentleWait(() => device.queue.onSubmittedWorkDone());
        return performance.now() - t;
      };
      let groups = 1;
      await run(groups); // compiles, and pays for lazy setup
      while (groups < maxGroups && (await run(groups)) < minMs) groups = Math.min(groups * 2, maxGroups);
      const times = [await run(groups), await run(groups), await run(groups)].sort((a, b) => a - b);
      const [x, y] = peakKernel(chains, groups).workgroups;
      const invocations = x * y * WORKGROUP;
      const gflops = (2 * chains * ITERATIONS * invocations) / (times[1] * 1e6);
      opts.log?.(`peak: ${chains} chains x ${invocations} invocations: ${times[1].toFixed(1)} ms, ${gflops.toFixed(2)} GFLOP/s`);
      if (!best || gflops > best.gflops) best = { gflops: Number(gflops.toFixed(3)), chains, invocations, ms: Number(times[1].toFixed(3)) };
    }
  } finally {
    out.destroy();
  }
  return best!;
}
