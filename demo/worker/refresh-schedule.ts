// When the live pictures are redrawn while training. The fast views (samples, reconstructions)
// cost about 110 image-rows of forward passes, the slow ones (manifold, scatter, interpolation,
// traversal) about 1200, while a training step costs about 3 x batch rows (forward + backward).
// (Each view's call runs in whole batches, so at a large batch the fast views cost up to two
// batches; those are models fast enough that the minimum times below rule, not the step counts.)
// Normally each kind waits for its minimum time AND for enough steps that it takes at most ~10%
// of the GPU: on a real GPU the times rule (1 s, 4 s), on a software one the step counts do.
// But a slow model on a software GPU (over a second a step) would then show the slow views'
// step-0 pictures for minutes (125 steps at batch 32), so two more rules bound the wait: an
// epoch's end redraws the slow views (once their minimum time has passed, so that tiny epochs
// do not redraw them at every step), and no view waits longer than 15 s of training time: then
// all are redrawn. On such a model (colour dSprites, batch 32, about 1.3 s a step) a full redraw
// took 2-3.5 s and a fast one 1.4-2.4 s, so the fast views get no bound of their own: one full
// redraw every 15 s is about 15% of the time, where a fast one every 6 s besides was 25-40%.
// Training time is the session's clock of time spent in steps: view and evaluation work are not
// in it (so a costly redraw is not followed at once by another), nor is time paused.

export type RefreshKind = 'fast' | 'slow';

interface Cadence {
  /** Minimum training time between two refreshes, ms. */
  ms: number;
  /** Forward image-rows one refresh costs (sets the step count that keeps it to VIEW_SHARE). */
  rows: number;
  /** Longest training time a refresh waits for, whatever the step count, ms (a slow one redraws the fast views too). */
  maxMs: number;
}

export const CADENCE: Record<RefreshKind, Cadence> = {
  fast: { ms: 1000, rows: 110, maxMs: Infinity },
  slow: { ms: 4000, rows: 1200, maxMs: 15000 },
};
/** The share of the GPU's work the views may take when the step counts rule. */
export const VIEW_SHARE = 0.1;

/** Steps that make a refresh of `rows` forward rows about VIEW_SHARE of the work at batch `batch`. */
export const stepsFor = (rows: number, batch: number) => Math.ceil(rows / (3 * batch) / VIEW_SHARE);

/** Where training stands when a refresh is considered. */
export interface TrainingClock {
  /** Steps taken so far. */
  step: number;
  /** Training time so far, ms (see the comment at the top). */
  trainedMs: number;
  /** True when the step just taken ended an epoch. */
  epochEnded?: boolean;
}

export class RefreshSchedule {
  private last: Record<RefreshKind, { step: number; trainedMs: number }> = { fast: never(), slow: never() };

  /** The refresh due now (slow ones redraw the fast views too), or null. */
  due(at: TrainingClock, batch: number): RefreshKind | null {
    if (this.kindDue('slow', at, batch)) return 'slow';
    return this.kindDue('fast', at, batch) ? 'fast' : null;
  }

  private kindDue(kind: RefreshKind, at: TrainingClock, batch: number): boolean {
    const c = CADENCE[kind], last = this.last[kind];
    // A refresh drawn between runs (after a build, a restore or a pause) knew the step but not the
    // session's clock: the clock's first reading stands in for it.
    if (Number.isNaN(last.trainedMs)) last.trainedMs = at.trainedMs;
    const steps = at.step - last.step, ms = at.trainedMs - last.trainedMs;
    if (steps <= 0) return false; // nothing new to show
    if (ms >= c.maxMs) return true;
    if (ms < c.ms) return false;
    return steps >= stepsFor(c.rows, batch) || (kind === 'slow' && !!at.epochEnded);
  }

  /**
   * Records a refresh of `kind` drawn at step `step` and training time `trainedMs` (NaN: unknown,
   * taken from the next check); a slow one draws the fast views too.
   */
  drawn(kind: RefreshKind, step: number, trainedMs = NaN): void {
    const mark = { step, trainedMs };
    this.last.fast = { ...mark };
    if (kind === 'slow') this.last.slow = { ...mark };
  }

  /** Forgets every refresh: the next check finds both kinds due once a step is taken. */
  reset(): void {
    this.last = { fast: never(), slow: never() };
  }
}

function never(): { step: number; trainedMs: number } {
  return { step: -Infinity, trainedMs: -Infinity };
}
