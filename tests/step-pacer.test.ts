// The training loop's pacing (src/gpu/step-pacer.ts): while steps are slow it waits for the GPU
// after every step, so at most one step is queued when a stop arrives; once a step is seen to be
// fast it waits only every few steps, as many as fill about QUEUE_MS of GPU time, so fast steps run
// back to back and a stop still finds little queued. The first wait, which holds the start-up,
// never decides.
import { describe, expect, it } from 'vitest';
import { QUEUE_MS, SLOW_STEP_MS, StepPacer } from '../src/gpu/step-pacer';

/**
 * A clock and a GPU that runs the submitted steps one after another, each taking `stepMs()` of GPU
 * time; recording a step takes `recordMs` of the loop's time. A wait lasts until the GPU is idle.
 */
function simulatedGpu(stepMs: () => number, recordMs = 0) {
  let t = 0, gpuFreeAt = 0, waits = 0;
  return {
    now: () => t,
    submit() {
      t += recordMs;
      gpuFreeAt = Math.max(gpuFreeAt, t) + stepMs();
    },
    wait: async () => { waits++; t = Math.max(t, gpuFreeAt); },
    /** GPU time still queued at this moment. */
    queuedMs: () => Math.max(0, gpuFreeAt - t),
    get waits() { return waits; },
  };
}

/** Runs `steps` steps through a pacer, returning the most GPU time ever left queued after a step. */
async function run(gpu: ReturnType<typeof simulatedGpu>, pacer: StepPacer, steps: number): Promise<number> {
  let mostQueued = 0;
  for (let i = 0; i < steps; i++) {
    gpu.submit();
    await pacer.afterStep();
    mostQueued = Math.max(mostQueued, gpu.queuedMs());
  }
  return mostQueued;
}

describe('StepPacer', () => {
  it('waits after every slow step, so a stop finds one step queued at most', async () => {
    const gpu = simulatedGpu(() => 4 * SLOW_STEP_MS);
    const pacer = new StepPacer(gpu.wait, gpu.now);
    expect(await run(gpu, pacer, 20)).toBe(0);
    expect(gpu.waits).toBe(20);
    expect(pacer.runsAhead).toBe(false);
  });

  it('runs fast steps ahead after the second, however slow the first, keeping about QUEUE_MS queued', async () => {
    const times = [30 * SLOW_STEP_MS];
    const stepMs = 20;
    const gpu = simulatedGpu(() => times.shift() ?? stepMs);
    const pacer = new StepPacer(gpu.wait, gpu.now);
    await run(gpu, pacer, 1);
    expect(pacer.runsAhead, 'a slow start-up does not decide').toBe(false);
    await run(gpu, pacer, 1);
    expect(pacer.runsAhead).toBe(true);
    expect(pacer.stepsPerWait).toBe(Math.floor(QUEUE_MS / stepMs));
    const mostQueued = await run(gpu, pacer, 200);
    expect(mostQueued, 'GPU time queued behind a stop').toBeLessThanOrEqual(QUEUE_MS);
    expect(mostQueued).toBeGreaterThanOrEqual(QUEUE_MS - 2 * stepMs);
    // 200 steps, one wait per 25 of them: the loop rarely stops to wait.
    expect(gpu.waits).toBe(2 + 200 / 25);
  });

  it('measures from the end of one wait to the end of the next, recording time included', async () => {
    // The GPU part of each step is short, but recording takes SLOW_STEP_MS: still slow.
    const gpu = simulatedGpu(() => 1, SLOW_STEP_MS);
    const pacer = new StepPacer(gpu.wait, gpu.now);
    await run(gpu, pacer, 5);
    expect(pacer.runsAhead).toBe(false);
    expect(gpu.waits).toBe(5);
  });

  it('goes back to waiting for every step when steps turn slow', async () => {
    let stepMs = 10;
    const gpu = simulatedGpu(() => stepMs);
    const pacer = new StepPacer(gpu.wait, gpu.now);
    await run(gpu, pacer, 60);
    expect(pacer.stepsPerWait).toBe(QUEUE_MS / 10);
    stepMs = 2 * SLOW_STEP_MS;
    await run(gpu, pacer, QUEUE_MS / 10);
    expect(pacer.runsAhead, 'the lead is measured again at every wait').toBe(false);
    expect(await run(gpu, pacer, 5)).toBe(0);
  });
});
