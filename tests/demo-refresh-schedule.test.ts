// When the demo redraws its pictures while training (demo/worker/refresh-schedule.ts): a slow
// model on a software GPU must not show its slow views' step-0 pictures for minutes (as it did
// when the only rule was 125 steps at batch 32), while a fast one keeps views to a small share of
// the work.
import { describe, expect, it } from 'vitest';
import { CADENCE, RefreshSchedule, stepsFor, type RefreshKind } from '../demo/worker/refresh-schedule';

/** Steps `steps` steps of `stepMs` each, `perEpoch` to an epoch; returns the refreshes made, by step. */
function simulate(opts: { steps: number; stepMs: number; batch: number; perEpoch: number }): { step: number; kind: RefreshKind }[] {
  const schedule = new RefreshSchedule(), made: { step: number; kind: RefreshKind }[] = [];
  schedule.drawn('slow', 0, 0); // the build draws every view at step 0
  for (let step = 1; step <= opts.steps; step++) {
    const at = { step, trainedMs: step * opts.stepMs, epochEnded: step % opts.perEpoch === 0 };
    const kind = schedule.due(at, opts.batch);
    if (kind) {
      made.push({ step, kind });
      schedule.drawn(kind, at.step, at.trainedMs);
    }
  }
  return made;
}
const slowSteps = (made: { step: number; kind: RefreshKind }[]) => made.filter((r) => r.kind === 'slow').map((r) => r.step);

describe('the demo views refresh schedule', () => {
  it('redraws a slow model’s slow views by time and at the epoch’s end, not only every 125 steps', () => {
    // Colour dSprites, 2000 pictures, batch 32 (63 steps an epoch), 1.1 s a step: the user's run.
    const made = slowSteps(simulate({ steps: 112, stepMs: 1100, batch: 32, perEpoch: 63 }));
    expect(stepsFor(CADENCE.slow.rows, 32), 'the step count alone would wait past step 112').toBe(125);
    expect(made[0], 'first slow refresh within 15 s of training').toBeLessThanOrEqual(14);
    expect(made, 'the epoch’s end redraws them').toContain(63);
    for (let i = 1; i < made.length; i++) expect(made[i] - made[i - 1], 'no gap over 15 s of training').toBeLessThanOrEqual(14);
  });

  it('redraws every view at least every 15 s of training', () => {
    const made = simulate({ steps: 60, stepMs: 3000, batch: 100, perEpoch: 1000 });
    for (const steps of [made.map((r) => r.step), slowSteps(made)]) {
      // 5 steps are 15 s: at least 12 redraws in 60 steps, the last within 15 s of the run's end.
      expect(steps.length).toBeGreaterThanOrEqual(12);
      expect(steps[0]).toBeLessThanOrEqual(5);
      for (let i = 1; i < steps.length; i++) expect(steps[i] - steps[i - 1]).toBeLessThanOrEqual(5);
      expect(60 - steps[steps.length - 1]).toBeLessThan(5);
    }
  });

  it('keeps to the step counts on a software GPU with fast steps, even with tiny epochs', () => {
    // 38 own pictures at batch 32: two steps an epoch, 20 ms each.
    const made = simulate({ steps: 2000, stepMs: 20, batch: 32, perEpoch: 2 });
    const slow = slowSteps(made);
    // The epoch rule may redraw the slow views once their 4 s have passed, but no sooner.
    for (let i = 1; i < slow.length; i++) expect((slow[i] - slow[i - 1]) * 20).toBeGreaterThanOrEqual(CADENCE.slow.ms);
    const fast = made.filter((r) => r.kind === 'fast').map((r) => r.step);
    for (let i = 1; i < fast.length; i++) expect(fast[i] - fast[i - 1]).toBeGreaterThanOrEqual(stepsFor(CADENCE.fast.rows, 32));
    // ...and redraws all along the run's 40 s: the slow views at least every 15 s, and the fast
    // ones (which a slow refresh draws too) once both their 1 s and their step count have passed.
    const fastGap = Math.max(CADENCE.fast.ms / 20, stepsFor(CADENCE.fast.rows, 32));
    expect(slow.length).toBeGreaterThanOrEqual(Math.floor(2000 * 20 / CADENCE.slow.maxMs));
    expect((2000 - slow[slow.length - 1]) * 20).toBeLessThanOrEqual(CADENCE.slow.maxMs);
    const any = made.map((r) => r.step);
    expect(any[0]).toBeLessThanOrEqual(fastGap);
    for (let i = 1; i < any.length; i++) expect(any[i] - any[i - 1]).toBeLessThanOrEqual(fastGap);
    expect(2000 - any[any.length - 1]).toBeLessThan(fastGap);
  });

  it('on a fast GPU the minimum times rule', () => {
    const made = simulate({ steps: 10_000, stepMs: 1, batch: 128, perEpoch: 400 });
    const slow = slowSteps(made);
    expect(slow.length).toBeGreaterThan(1);
    for (let i = 1; i < slow.length; i++) expect(slow[i] - slow[i - 1]).toBeGreaterThanOrEqual(CADENCE.slow.ms);
  });

  it('takes a refresh drawn between runs as made at the clock’s next reading', () => {
    // A run restored after 10 minutes of training: its views were drawn at restore, step 500.
    const schedule = new RefreshSchedule();
    schedule.drawn('slow', 500);
    expect(schedule.due({ step: 501, trainedMs: 600_000 }, 32), 'not due at once').toBeNull();
    expect(schedule.due({ step: 502, trainedMs: 601_000 }, 32)).toBeNull();
    expect(schedule.due({ step: 520, trainedMs: 616_000 }, 32), 'due by time 15 s later').toBe('slow');
  });

  it('has nothing to redraw without a new step', () => {
    const schedule = new RefreshSchedule();
    schedule.drawn('slow', 7, 1000);
    expect(schedule.due({ step: 7, trainedMs: 100_000, epochEnded: true }, 32)).toBeNull();
    schedule.reset();
    expect(schedule.due({ step: 7, trainedMs: 100_000 }, 32), 'after a reset, both kinds are due').toBe('slow');
  });
});
