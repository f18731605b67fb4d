// The arithmetic-ceiling benchmark (bench/peak.ts): its kernel must do the arithmetic it claims
// (a kernel whose chains a compiler dropped would report an impossible ceiling), the measurement
// must come out positive and finite, and the reports must print it.
import { describe, expect, it } from 'vitest';
import { measurePeak, peakKernel, type PeakRecord } from '../bench/peak';
import { parseArgs } from '../bench/args';
import { formatReport } from '../bench/report';
import { markdownReport, measuredPeak } from '../bench/gpu-report';
import type { BenchRecord } from '../bench/common';
import { expectClose } from './helpers/compare';
import { runCompute, testDevice } from './helpers/test-device';

/** What invocation `id` stores: the sum of its chains after 1024 steps of a = a m + c, in float64. */
function reference(id: number, chains: number): number {
  const m = Math.fround(1 - Math.fround(Math.fround(id & 1023) * Math.fround(1e-7)));
  const c = Math.fround(Math.fround(id & 7) * Math.fround(1e-3));
  let sum = 0;
  for (let i = 0; i < chains; i++) {
    let a = (id & 15) + i;
    for (let k = 0; k < 1024; k++) a = a * m + c;
    sum += a;
  }
  return sum;
}

describe('bench/peak.ts', () => {
  for (const chains of [8, 32]) {
    it(`the ${chains}-chain kernel computes every chain (one workgroup against float64)`, async () => {
      const device = await testDevice();
      const out = new Float32Array(await runCompute(device, peakKernel(chains).code, [], 0, 256 * 4, [1, 1, 1]));
      const ref = Float64Array.from({ length: 256 }, (_, id) => reference(id, chains));
      expectClose(out, ref, { atol: 1e-3, rtol: 1e-4 }, `${chains} chains`);
    });
  }

  it('measures a positive, finite ceiling and says which kernel reached it', async () => {
    const device = await testDevice();
    const peak = await measurePeak(device, { minMs: 1, maxGroups: 2 });
    expect(Number.isFinite(peak.gflops) && peak.gflops > 0, JSON.stringify(peak)).toBe(true);
    expect([8, 16, 32]).toContain(peak.chains);
    expect(peak.invocations % 256).toBe(0);
    expect(peak.ms).toBeGreaterThan(0);
  });

  it('is selected by --peak alone, and the reports print it and read matmuls against it', async () => {
    const opts = parseArgs(['--peak']);
    expect(opts).toMatchObject({ peak: true, step: false, profile: false, matmul: false, sweep: [] });
    expect(parseArgs([]).peak).toBe(false);
    const peak: PeakRecord = { bench: 'arith_peak', env: 'node', adapter: 'test adapter', gflops: 8, chains: 16, invocations: 8192, ms: 34 };
    const matmul = { bench: 'matmul', env: 'node', adapter: 'test adapter', variant: 'register', M: 128, N: 400, K: 784, transA: false, transB: true, median_ms: 10, gflops: 4, label: 'fwd B=128' };
    const text = await formatReport([peak, matmul] as BenchRecord[]);
    expect(text).toMatch(/Arithmetic ceiling \(bench\/peak\.ts\): 8\.00 GFLOP\/s \(16 fma chains/);
    expect(text).toMatch(/fastest: register 128x400x784 at 4\.00 GFLOP\/s, 50% of the measured ceiling/);
    // gpu-report: the data-sheet peak comes first; the measured ceiling is the fallback.
    expect(measuredPeak([peak])?.gflops).toBe(8);
    expect(measuredPeak([])).toBeNull();
    expect(markdownReport([peak], { gflops: 100, source: 'table' }, null)).toMatch(/Measured arithmetic ceiling \(bench --peak\): 8\.0 GFLOP\/s, 8% of the fp32 peak/);
  });
});
