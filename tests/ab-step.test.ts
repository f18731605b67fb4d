// bench/ab-step.ts, the in-process comparison of two kernel choices: it runs, reports both sides'
// wall and GPU times per step, and shows that skipping the data's zeros leaves the losses as they are.
import { describe, expect, it } from 'vitest';
import { runAbStep } from '../bench/ab-step';

describe('bench/ab-step.ts', () => {
  it('times two kernel choices in alternating rounds and reports their losses', async () => {
    const rounds: number[] = [];
    const r = await runAbStep({ a: { skipInputZeros: true }, b: { skipInputZeros: false }, hidden: [16], latent: 2, batch: 16, steps: 2, rounds: 2 }, (x) => rounds.push(x.ratio));
    expect(rounds.length).toBe(2);
    for (const v of [r.a_ms, r.b_ms, r.a_gpu_ms, r.b_gpu_ms, ...rounds]) expect(v).toBeGreaterThan(0);
    expect(r.a_dispatches).toBe(r.b_dispatches + 2); // the two lists
    expect(Number.isFinite(r.a_loss)).toBe(true);
    expect(r.a_loss).toBe(r.b_loss);
  }, 120_000);
});
