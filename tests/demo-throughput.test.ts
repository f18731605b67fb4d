// The demo's examples-per-second figure (demo/worker/progress-report.ts): losses come back in
// bursts, sometimes two back to back (the losses taken, then those read back), and the figure must
// stay near the rate training runs at, not credit a burst to the milliseconds since the one before.
import { describe, expect, it } from 'vitest';
import { Throughput } from '../demo/worker/progress-report';

describe('Throughput', () => {
  it('a steady stream reads its rate, over the first seconds and once the window slides', () => {
    const rate = new Throughput();
    rate.restart(0);
    const seen: number[] = [];
    // 500 examples every 500 ms: 1000 a second, for 12 s.
    for (let t = 500; t <= 12_000; t += 500) seen.push(rate.add(500, t));
    for (const r of seen) expect(r).toBeCloseTo(1000, 6);
  });

  it('two bursts 20 ms apart after a resume stay near the rate training ran at', () => {
    const rate = new Throughput();
    rate.restart(10_000);
    // 31 steps of 32 examples in the first second, then the 13 steps read back right after them.
    expect(rate.add(31 * 32, 11_000)).toBeCloseTo(992, 6);
    const second = rate.add(13 * 32, 11_020);
    // The 44 steps span the 1.02 s since the resume (it was 20,800 a second: 416 examples over 20 ms).
    expect(second).toBeCloseTo((44 * 32) / 1.02, 6);
  });

  it('after the window slides, a back-to-back burst is counted from the last arrival let go of', () => {
    const rate = new Throughput();
    rate.restart(0);
    for (let t = 1000; t <= 8000; t += 1000) rate.add(1000, t);
    // At 8 s the window keeps 4-8 s, counted from 3 s (the last arrival let go of): 5 arrivals over 5 s.
    expect(rate.add(0, 8000)).toBeCloseTo(1000, 6);
    const burst = rate.add(1000, 8010);
    expect(burst).toBeLessThan(1300);
    expect(burst).toBeGreaterThan(1000);
  });
});
