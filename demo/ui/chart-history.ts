// The points behind the training charts (ui/charts.ts), kept apart from uPlot so the bookkeeping
// is plain data: training chunks, per-epoch test results and throughput, each keyed by the number
// of steps done. A run restored after a lost device goes back to its last saved step, so the
// points after it are dropped (truncate) before the restored run's own arrive: uPlot needs its x
// values sorted, and a curve that doubles back is wrong anyway.
import type { EpochReport, LossChunk, Settings } from '../shared/protocol';

export type Point = { step: number; loss: number; rec: number; kl: number };

/** The series on one sorted x axis (steps), with nulls where a series has no point. */
export interface MergedSeries {
  xs: number[];
  train: (Point | null)[];
  test: (Point | null)[];
  rate: { xs: number[]; ys: number[] };
}

export class ChartHistory {
  private train: Point[] = [];
  private test: Point[] = [];
  private rate: [number, number][] = [];

  /**
   * For the ELBO the chart shows the true -ELBO (rec + KL) even when beta, warm-up or free bits
   * change the training objective; for IWAE, the bound the model trains on.
   */
  addChunks(chunks: LossChunk[], examplesPerSecond: number, objective: Settings['objective']): void {
    for (const c of chunks) this.train.push({ step: c.step + 1, loss: objective === 'iwae' ? c.loss : c.rec + c.kl, rec: c.rec, kl: c.kl });
    const last = chunks[chunks.length - 1];
    if (last && examplesPerSecond > 0) this.rate.push([last.step + 1, examplesPerSecond]);
  }

  addEpoch(r: EpochReport): void {
    this.test.push({ step: r.step + 1, loss: r.test.loss, rec: r.test.rec, kl: r.test.kl });
  }

  /** Drops every point after `step` steps: the run goes on from there (a restored snapshot). */
  truncate(step: number): void {
    this.train = this.train.filter((p) => p.step <= step);
    this.test = this.test.filter((p) => p.step <= step);
    this.rate = this.rate.filter(([s]) => s <= step);
  }

  clear(): void {
    this.truncate(-Infinity);
  }

  /** Merges the train and test series onto one sorted x axis (steps), with gaps as nulls. */
  merged(): MergedSeries {
    const xs: number[] = [], train: (Point | null)[] = [], test: (Point | null)[] = [];
    let i = 0, j = 0;
    while (i < this.train.length || j < this.test.length) {
      const a = this.train[i], b = this.test[j];
      const step = Math.min(a?.step ?? Infinity, b?.step ?? Infinity);
      xs.push(step);
      train.push(a?.step === step ? this.train[i++] : null);
      test.push(b?.step === step ? this.test[j++] : null);
    }
    return { xs, train, test, rate: { xs: this.rate.map((r) => r[0]), ys: this.rate.map((r) => r[1]) } };
  }
}
