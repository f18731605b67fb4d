// The training loop's pacing (src/gpu/step-pacer.ts): while steps are slow it waits for the GPU
// after every step, so at most one step is queued when a stop arrives; once a step is seen to be
// fast it stops waiting, so fast steps keep running back to back. The first wait, which holds the
// start-up, never decides.
import { describe, expect, it } from 'vitest';
import { SLOW_STEP_MS, StepPacer } from '../src/gpu/step-pacer';

/** A clock and a GPU whose every wait takes `stepMs()` of the clock. */
function fakeGpu(stepMs: () => number) {
  let t = 0, waits = 0;
  return {
    now: () => t,
    wait: async () => { waits++; t += stepMs(); },
    get waits() { return waits; },
  };
}

describe('StepPacer', () => {
  it('waits after every slow step, so a stop finds one step queued at most', async () => {
    const gpu = fakeGpu(() => 4 * SLOW_STEP_MS);
    const pacer = new StepPacer(gpu.wait, gpu.now);
    for (let i = 0; i < 20; i++) await pacer.afterStep();
    expect(gpu.waits).toBe(20);
    expect(pacer.runsAhead).toBe(false);
  });

  it('stops waiting after the second step when steps are fast, however slow the first', async () => {
    const times = [30 * SLOW_STEP_MS, SLOW_STEP_MS / 10];
    const gpu = fakeGpu(() => times.shift() ?? SLOW_STEP_MS / 10);
    const pacer = new StepPacer(gpu.wait, gpu.now);
    await pacer.afterStep();
    expect(pacer.runsAhead, 'a fast start-up does not decide; neither does a slow one').toBe(false);
    await pacer.afterStep();
    expect(pacer.runsAhead).toBe(true);
    for (let i = 0; i < 20; i++) await pacer.afterStep();
    expect(gpu.waits).toBe(2);
  });

  it('measures from the end of one wait to the end of the next, recording time included', async () => {
    // Each wait is short, but the loop spends SLOW_STEP_MS recording between them: still slow.
    let t = 0;
    const pacer = new StepPacer(async () => { t += 1; }, () => t);
    for (let i = 0; i < 5; i++) {
      t += SLOW_STEP_MS; // recording and submitting the step
      await pacer.afterStep();
    }
    expect(pacer.runsAhead).toBe(false);
  });
});
