// What the page showed of a run (its training chunks and epoch reports), kept in browser storage
// beside the run the worker keeps (shared/saved-run.ts), so that a run continued after a reload
// comes back with its curves and epoch lines instead of empty charts. The page records as
// messages arrive, writes the log up to the step of each save the worker reports ('stored'),
// and, when it continues a kept run, reads that run's log first and replays it once the restored
// model reports its step ('position'). A reload right after a save can cut that save's write
// short: the log of an earlier save of the run is replayed then, its curves ending a little early.
import type { EpochReport, LossChunk } from '../shared/protocol';
import { readHistory, storeHistory, type RunHistory } from '../shared/saved-run';

type Progress = RunHistory['progress'][number];

/** The step after the last of a progress message's chunks (chunks count steps from 0). */
const stepOf = (p: Progress) => (p.chunks.at(-1)?.step ?? -1) + 1;

export class RunLog {
  private shown: Progress[] = [];
  private epochs: EpochReport[] = [];
  /** The log read for a kept run about to continue, replayed when it reaches its step. */
  private pending: RunHistory | null = null;
  /** The step the kept run goes on from, where the pending log is replayed. */
  private pendingStep = -1;

  progress(chunks: LossChunk[], examplesPerSecond: number): void {
    if (chunks.length) this.shown.push({ chunks, examplesPerSecond });
  }

  epoch(report: EpochReport): void {
    this.epochs.push(report);
  }

  /** Forgets what was shown after `step` (a run restored after a lost device goes on from there). */
  truncate(step: number): void {
    this.shown = this.shown.filter((p) => stepOf(p) <= step);
    this.epochs = this.epochs.filter((r) => r.step + 1 <= step);
  }

  /** Forgets what was shown (a new model); a log read for a run about to continue stays pending. */
  clear(): void {
    this.shown = [];
    this.epochs = [];
  }

  /** Writes the log up to `step`, the step of the save of run `runId` the worker just made. Storage failures cost only the curves. */
  keep(step: number, runId?: string): void {
    const history: RunHistory = { step, runId, progress: this.shown.filter((p) => stepOf(p) <= step), epochs: this.epochs.filter((r) => r.step + 1 <= step) };
    storeHistory(history).catch((e) => console.warn(`could not keep the run's curves in browser storage: ${(e as Error).message}`));
  }

  /** Reads the log kept for `run` (saved at `run.step`), to replay when the continued run stands there. */
  async expect(run: { step: number; runId?: string }): Promise<void> {
    this.pending = await readHistory(run);
    this.pendingStep = run.step;
  }

  /**
   * The kept log's messages in the order they came, once the continued run stands at its step
   * (nothing otherwise, and nothing twice); they are recorded again as this run's own.
   */
  replay(step: number): (Progress | EpochReport)[] {
    const h = this.pending;
    if (!h || step !== this.pendingStep) return [];
    this.pending = null;
    // Up to the run's step: a log never runs past its own run's save, but a stored one is not trusted to.
    const progress = h.progress.filter((p) => stepOf(p) <= step), epochs = h.epochs.filter((r) => r.step + 1 <= step);
    this.shown.push(...progress);
    this.epochs.push(...epochs);
    // Interleaved by step, an epoch's report after the chunk that ends it, as they arrived.
    const items: [number, Progress | EpochReport][] = [...progress.map((p): [number, Progress] => [stepOf(p), p]), ...epochs.map((r): [number, EpochReport] => [r.step + 1 + 0.5, r])];
    return items.sort((a, b) => a[0] - b[0]).map(([, item]) => item);
  }
}
