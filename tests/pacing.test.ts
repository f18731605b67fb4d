// GpuPacer against a simulated GPU: a fake clock, units that each take a fixed GPU time and run in
// submission order, and a "map" that resolves when the GPU is done with the unit it waits for.
import { describe, expect, it } from 'vitest';
import { GpuPacer, gpuWaitSpins } from '../src/gpu/pacing';

function simulate(opts: { gpuMs: number; blocks: number; unitsPerBlock: number; fraction?: number; jsMsPerUnit?: number }) {
  let clock = 0;
  let gpuFree = 0;
  const doneAt: number[] = [];
  const sleeps: number[] = [];
  const pacer = new GpuPacer(true, {
    fraction: opts.fraction,
    now: () => clock,
    sleep: async (ms) => { sleeps.push(ms); clock += ms; },
  });
  let unit = 0;
  const waits: { idleAfterDone: number; polled: number; estimate: number }[] = [];
  return (async () => {
    for (let b = 0; b < opts.blocks; b++) {
      for (let i = 0; i < opts.unitsPerBlock; i++, unit++) {
        clock += opts.jsMsPerUnit ?? 0;
        pacer.submitted(unit);
        gpuFree = Math.max(gpuFree, clock) + opts.gpuMs;
        doneAt[unit] = gpuFree;
      }
      const last = unit - 1;
      await pacer.beforeWait(last);
      const mapStart = clock;
      clock = Math.max(clock, doneAt[last]); // the map resolves once the GPU is done
      pacer.completed(last);
      waits.push({ idleAfterDone: Math.max(0, mapStart - doneAt[last]), polled: clock - mapStart, estimate: pacer.estimateMs });
    }
    return { waits, sleeps };
  })();
}

describe('GpuPacer', () => {
  it('learns the GPU time per unit and sleeps through most of each wait', async () => {
    const { waits, sleeps } = await simulate({ gpuMs: 10, blocks: 12, unitsPerBlock: 16 });
    expect(sleeps.length).toBeGreaterThan(0);
    const late = waits.slice(4);
    for (const w of late) {
      expect(Math.abs(w.estimate - 10)).toBeLessThanOrEqual(1.5);
      // Never sleeps long past the GPU finishing, and polls only for the tail of a 160 ms block.
      expect(w.idleAfterDone).toBeLessThanOrEqual(0.1 * 160);
      expect(w.polled).toBeLessThanOrEqual(0.3 * 160);
    }
  });

  it('corrects an estimate that was too high (the first units include compilation)', async () => {
    let clock = 0;
    const pacer = new GpuPacer(true, { now: () => clock, sleep: async (ms) => { clock += ms; } });
    // First block: 16 units, 4000 ms (pipeline compilation); then 10 ms per unit.
    for (let u = 0; u < 16; u++) pacer.submitted(u);
    clock = 4000; pacer.completed(15);
    for (let u = 16; u < 32; u++) pacer.submitted(u);
    clock = 8000; pacer.completed(31); // a slow sample: estimate 250 ms per unit
    expect(pacer.estimateMs).toBeCloseTo(250, 5);
    let gpuFree = clock;
    for (let b = 0; b < 30; b++) {
      const first = 32 + 16 * b;
      for (let u = first; u < first + 16; u++) { pacer.submitted(u); gpuFree = Math.max(gpuFree, clock) + 10; }
      await pacer.beforeWait(first + 15);
      clock = Math.max(clock, gpuFree);
      pacer.completed(first + 15);
    }
    expect(pacer.estimateMs).toBeGreaterThan(8);
    expect(pacer.estimateMs).toBeLessThan(12);
  });

  it('counts the time the GPU waited for submissions as idle, not as work', async () => {
    // JS takes 30 ms to submit each unit the GPU runs in 10: the GPU is idle two thirds of the time.
    const { waits } = await simulate({ gpuMs: 10, blocks: 10, unitsPerBlock: 8, jsMsPerUnit: 30 });
    for (const w of waits.slice(3)) expect(w.estimate).toBeLessThanOrEqual(12);
  });

  it('never sleeps when disabled, and rejects a fraction outside (0, 1)', async () => {
    const slept: number[] = [];
    const off = new GpuPacer(false, { now: () => 0, sleep: async (ms) => { slept.push(ms); } });
    off.submitted(0); off.completed(0); off.submitted(1); off.completed(1);
    await off.beforeWait(2);
    expect(slept).toEqual([]);
    expect(off.expectedWait(2)).toBe(0);
    expect(() => new GpuPacer(true, { fraction: 1 })).toThrow(/fraction/);
  });

  it('is on in Node only', () => {
    expect(gpuWaitSpins()).toBe(typeof process !== 'undefined' && !!process.versions?.node);
  });
});
