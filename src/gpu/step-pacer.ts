// How far a training loop (the CLI's, the demo's) runs ahead of the GPU. Steps are submitted
// without waiting, and the loss ring (src/model/loss-ring.ts) only holds the loop back once it is
// 3 x lossEvery steps ahead: right for fast steps, which then run back to back. But a stop
// (Ctrl-C or SIGTERM in the CLI, Pause in the demo) must wait for every queued step before it can
// save or report, and at several seconds a step (a 3x256x256 conv model, or a large MLP on a
// software adapter) 48 queued steps are minutes. So the loop waits for each step while steps are
// slow, which costs only the next step's recording, and stops waiting once a step is seen to be fast.

/** A step at least this long (recording, submit and GPU time) is waited for before the next. */
export const SLOW_STEP_MS = 250;

export class StepPacer {
  private waited = 0;
  private fast = false;
  private last: number;

  /**
   * `waitForGpu` resolves when all submitted work is done (without spinning a core in Node: see
   * src/gpu/gentle-wait.ts); `now` is the clock, milliseconds.
   */
  constructor(private readonly waitForGpu: () => Promise<unknown>, private readonly now: () => number = () => performance.now(), private readonly slowMs = SLOW_STEP_MS) {
    this.last = now();
  }

  /** True once steps are known to be fast, so the loop no longer waits for them. */
  get runsAhead(): boolean {
    return this.fast;
  }

  /**
   * Call after each submitted step. While steps are slow (or not yet measured) it waits for the
   * GPU; the first wait includes the start-up, so the decision is taken on the second.
   */
  async afterStep(): Promise<void> {
    if (this.fast) return;
    const begin = this.last;
    await this.waitForGpu();
    this.last = this.now();
    if (++this.waited >= 2 && this.last - begin < this.slowMs) this.fast = true;
  }
}
