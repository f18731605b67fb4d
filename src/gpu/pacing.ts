// Waiting for the GPU without spinning the CPU.
//
// In Node, the `webgpu` package (dawn.node) resolves a pending mapAsync or onSubmittedWorkDone by
// polling Dawn on every turn of the event loop (setImmediate), so the main thread runs at 100% for
// as long as such a promise is pending. On a software adapter (SwiftShader runs the shaders on the
// CPU's cores) that takes a core away from the shaders: on 2 cores, the default model's training
// step ran about 1.4x slower with its loss read mapped right after the submit than with the map
// started near the time the GPU finishes.
//
// A GpuPacer learns the GPU's time per unit of work (a training step) from the completions it is
// told about, and `beforeWait(unit)` sleeps through most (`fraction`) of the expected wait before
// the caller starts the map, so the poll covers only the tail. A too-high estimate corrects itself:
// the map then resolves as soon as it starts, and the time per unit measured from that completion,
// which includes the sleep, is at most `fraction` of the estimate.

export interface PacerOptions {
  /** Sleep at most this part of the expected wait (default 0.85). */
  fraction?: number;
  /** Never sleep longer than this in one wait, in ms (default 2000). */
  maxSleepMs?: number;
  /** Clock and timer, replaceable for tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** True where a pending GPU promise spins the CPU: Node with dawn.node (not browsers, not Deno). */
export function gpuWaitSpins(): boolean {
  const g = globalThis as { process?: { versions?: { node?: string } }; Deno?: unknown; document?: unknown; importScripts?: unknown };
  return !!g.process?.versions?.node && g.Deno === undefined && g.document === undefined && g.importScripts === undefined;
}

export class GpuPacer {
  /** Estimated GPU ms per unit; 0 until two completions have been seen. */
  private msPerUnit = 0;
  private lastDone: { unit: number; at: number } | null = null;
  /** Submit time of each unit not yet known to be complete. */
  private readonly submits = new Map<number, number>();
  private readonly fraction: number;
  private readonly maxSleepMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(readonly enabled: boolean, opts: PacerOptions = {}) {
    this.fraction = opts.fraction ?? 0.85;
    this.maxSleepMs = opts.maxSleepMs ?? 2000;
    this.now = opts.now ?? (() => performance.now());
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    if (!(this.fraction > 0 && this.fraction < 1)) throw new RangeError(`GpuPacer: fraction must be in (0, 1), got ${this.fraction}`);
  }

  /** The current estimate of GPU ms per unit (0: not known yet). */
  get estimateMs(): number {
    return this.msPerUnit;
  }

  /** Records that `unit` was submitted now (the first call for a unit counts). */
  submitted(unit: number): void {
    if (this.enabled && !this.submits.has(unit) && !(this.lastDone && unit <= this.lastDone.unit)) this.submits.set(unit, this.now());
  }

  /** Expected ms from now until `unit` completes; 0 when there is no estimate yet. */
  expectedWait(unit: number): number {
    if (!this.enabled || this.msPerUnit <= 0 || !this.lastDone) return 0;
    return Math.max(0, this.finishTime(this.lastDone, unit, this.msPerUnit) - this.now());
  }

  /**
   * When `unit` ends if units after `from` take `ms` each: they run one after another, each starting
   * when the previous one ends or when it was submitted, whichever is later.
   */
  private finishTime(from: { unit: number; at: number }, unit: number, ms: number): number {
    let t = from.at;
    for (let u = from.unit + 1; u <= unit; u++) t = Math.max(t, this.submits.get(u) ?? t) + ms;
    return t;
  }

  /** Sleeps through most of the expected wait for `unit`; call just before mapping. */
  async beforeWait(unit: number): Promise<void> {
    const ms = Math.min(this.maxSleepMs, this.fraction * this.expectedWait(unit));
    if (ms >= 1) await this.sleep(ms);
  }

  /** Records that every unit up to `unit` was found complete just now. */
  completed(unit: number): void {
    if (!this.enabled) return;
    const at = this.now();
    const prev = this.lastDone;
    if (prev && unit > prev.unit && at > this.finishTime(prev, unit, 0)) {
      // The time per unit that makes the units since the previous completion end now. Time the GPU
      // spent waiting for submissions is not work, so this is a search over finishTime rather than
      // (elapsed / units).
      let lo = 0, hi = (at - prev.at) / (unit - prev.unit);
      for (let i = 0; i < 30; i++) {
        const mid = (lo + hi) / 2;
        if (this.finishTime(prev, unit, mid) < at) lo = mid; else hi = mid;
      }
      const sample = (lo + hi) / 2;
      // Follow a faster GPU at once (a sample below the estimate is what an over-long sleep
      // produces), a slower one more cautiously.
      this.msPerUnit = this.msPerUnit === 0 || sample < this.msPerUnit ? sample : 0.75 * this.msPerUnit + 0.25 * sample;
    }
    if (!prev || unit > prev.unit) this.lastDone = { unit, at };
    for (const u of this.submits.keys()) if (u <= unit) this.submits.delete(u);
  }

  /** Forgets what it learned about recent units (after a pause in the work, a reset of the step counter). */
  reset(): void {
    this.lastDone = null;
    this.submits.clear();
  }
}
