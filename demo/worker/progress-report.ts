// What the page's chart and status line are told as training's losses come back: the losses read
// together as one chart point, and the examples per second over the last few seconds of wall
// time. Arithmetic on what came back, apart from the training loop (session.ts) that reads it.
import type { StepLoss } from '../../src/index';
import type { LossChunk } from '../shared/protocol';

const RATE_WINDOW_MS = 4000;

/** Losses read back together as one chart point: their means, at the last one's step. */
export function lossChunk(losses: StepLoss[]): LossChunk {
  const chunk: LossChunk = { step: losses[losses.length - 1].step, steps: losses.length, loss: 0, rec: 0, kl: 0 };
  for (const l of losses) {
    chunk.loss += l.loss / losses.length;
    chunk.rec += l.rec / losses.length;
    chunk.kl += l.kl / losses.length;
  }
  return chunk;
}

/**
 * Examples per second over the last few seconds of wall time (test evaluation and view refreshes
 * included: it is the rate a user actually gets). Losses arrive in bursts, so a per-burst rate
 * would jump around; and two bursts may come back to back (the losses taken, then those read
 * back), so the span a burst's examples are counted over starts where the window does, at the last
 * arrival it let go of (or the start), never at the burst before: that credited steps trained
 * over seconds to a few milliseconds, 100x the real rate.
 */
export class Throughput {
  private arrivals: { t: number; examples: number }[] = [];
  private spanStart = 0;

  /** Counts afresh from `now`, when training starts or resumes. */
  restart(now: number): void {
    this.spanStart = now;
    this.arrivals = [];
  }

  /** Records `examples` arriving at `now` (performance.now() unless given), and returns the rate. */
  add(examples: number, now = performance.now()): number {
    this.arrivals.push({ t: now, examples });
    // The steps of the arrivals kept were trained after the last one dropped was read.
    while (this.arrivals.length > 1 && now - this.arrivals[0].t > RATE_WINDOW_MS) this.spanStart = this.arrivals.shift()!.t;
    const span = (now - this.spanStart) / 1000;
    const counted = this.arrivals.reduce((n, a) => n + a.examples, 0);
    return span > 0 ? counted / span : 0;
  }
}
