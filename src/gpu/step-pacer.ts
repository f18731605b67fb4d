// How far a training loop (the CLI's, the demo's) runs ahead of the GPU. Steps are submitted
// without waiting, and the loss ring (src/model/loss-ring.ts) only holds the loop back once it is
// 3 x lossEvery steps ahead. But a stop (Ctrl-C or SIGTERM in the CLI, Pause in the demo) must wait
// for every queued step before it can save or report: at several seconds a step (a 3x256x256 conv
// model, or a large MLP on a software adapter) 48 queued steps are minutes, and even at 80 ms they
// are seconds. So while steps are slow the loop waits for each one, which costs only the next
// step's recording; once a step is seen to be fast it waits only every few steps, as many as fill
// about QUEUE_MS of GPU time, so fast steps still run back to back and a stop is answered within
// that time.

/** A step at least this long (recording, submit and GPU time) is waited for before the next. */
export const SLOW_STEP_MS = 250;

/** Once steps are fast, the loop keeps about this much GPU work queued, and no more. */
export const QUEUE_MS = 500;

export class StepPacer {
  private waited = 0;
  private sinceWait = 0;
  private lead = 1;
  private last: number;

  /**
   * `waitForGpu` resolves when all submitted work is done (without spinning a core in Node: see
   * src/gpu/gentle-wait.ts); `now` is the clock, milliseconds.
   */
  constructor(private readonly waitForGpu: () => Promise<unknown>, private readonly now: () => number = () => performance.now(), private readonly slowMs = SLOW_STEP_MS, private readonly queueMs = QUEUE_MS) {
    this.last = now();
  }

  /** True once steps are known to be fast, so the loop no longer waits for each one. */
  get runsAhead(): boolean {
    return this.lead > 1;
  }

  /** Steps submitted between two waits for the GPU (1 while steps are slow or not yet measured). */
  get stepsPerWait(): number {
    return this.lead;
  }

  /**
   * Call after each submitted step. It waits for the GPU after every `stepsPerWait` steps; the
   * time from one wait's end to the next, over the steps between, is the step's time (recording
   * included), which sets the next lead. The first wait includes the start-up, so it never decides.
   */
  async afterStep(): Promise<void> {
    if (++this.sinceWait < this.lead) return;
    const begin = this.last, steps = this.sinceWait;
    await this.waitForGpu();
    this.last = this.now();
    this.sinceWait = 0;
    if (++this.waited < 2) return;
    const stepMs = (this.last - begin) / steps;
    this.lead = stepMs < this.slowMs ? Math.max(2, Math.floor(this.queueMs / Math.max(stepMs, 1e-3))) : 1;
  }
}
