// `train`'s checkpoints: the training state, then the model, each replaced atomically, then the
// log flushed, so that the state alone is always a consistent snapshot. Each records with the
// progress the training time so far and the epoch's skip-batch counts, and is kept in memory
// (KeptCheckpoints, recovery.ts) for going back past a bad step. The step loop (train-epoch.ts)
// decides when one is due: at each epoch's end, every --save-every steps, and on a stop.
import { saveCheckpoint } from '../checkpoint';
import type { VAE } from '../model/vae';
import { saveTrainingState, type TrainingProgress } from '../training-state';
import { writeFileAtomic, type ChunkWriter, type JsonLog } from './files';
import type { KeptCheckpoints } from './recovery';
import type { RunPaths } from './run-dir';
import type { EpochLosses, RunProgress } from './train-losses';

/** What a checkpoint is written from, and where. */
export interface CheckpointedRun {
  model: VAE;
  /** The run's record (config.json's fields and the data's), stored in the training state. */
  record: Record<string, unknown>;
  /** The counters the checkpoint stores; the step loop keeps them up to date before each one. */
  progress: TrainingProgress;
  losses: EpochLosses;
  paths: RunPaths;
  dataset: string;
  seed: number;
  /** A picture folder's held-out pictures' digest (none for other data). */
  testFingerprint?: string;
  kept: KeptCheckpoints;
  log: JsonLog;
  /** Writes checkpoint bytes into the open temporary file (to inject failures). */
  writeChunk?: ChunkWriter;
}

export class RunCheckpoints {
  /** The step of the last checkpoint written, or resumed from (-1: none yet). */
  savedStep: number;
  private readonly started = performance.now();
  private readonly secondsBefore: number;

  constructor(private readonly run: CheckpointedRun, resumed: boolean) {
    this.savedStep = resumed ? run.progress.step : -1;
    this.secondsBefore = run.progress.seconds;
  }

  /**
   * Writes the training state, then the model (each atomically), then flushes the log: the state
   * alone is a consistent snapshot. `lines` (an epoch's) go into the log once the state is in
   * place, since a resume goes on from it: had they come before it and its write failed (a full
   * disk), the resume would go back to an earlier state and run and log them a second time.
   */
  async write(lines: Record<string, unknown>[] = []): Promise<void> {
    const { model, progress, losses, paths } = this.run;
    progress.seconds = this.secondsBefore + (performance.now() - this.started) / 1000;
    progress.watch = await model.watchState();
    (progress as RunProgress).skipped = progress.epochStep === 0 ? 0 : losses.skipped;
    (progress as RunProgress).badInARow = losses.watch.badInARow;
    // A failed write goes to recover(), which says how to go on: --resume where this run has a
    // checkpoint, the same command again where it has none.
    const state = await saveTrainingState(model, this.run.record, progress);
    writeFileAtomic(paths.state, state, this.run.writeChunk);
    for (const line of lines) this.run.log.write(line);
    // A folder's held-out pictures, so that eval can tell when the folder no longer holds out the same ones.
    // With the rules the folder was listed by, so that eval lists it as the run did (a run resumed
    // from before 0.15.0 keeps rules 1; its record says so).
    const listing = this.run.record.pictureListing;
    const heldOut: Record<string, string> = this.run.testFingerprint ? { heldOutPictures: this.run.testFingerprint, pictureListing: String(listing ?? 1) } : {};
    // The test count, so that eval on a generated set (dSprites) reads the pictures the run tested on.
    const tested: Record<string, string> = typeof this.run.record.testExamples === 'number' ? { testExamples: String(this.run.record.testExamples) } : {};
    const weights = await saveCheckpoint(model, { dataset: this.run.dataset, epochs: String(progress.epochsDone), step: String(progress.step), ...heldOut, ...tested });
    writeFileAtomic(paths.model, weights, this.run.writeChunk);
    this.run.kept.wrote({ step: progress.step, state, model: weights });
    this.savedStep = progress.step;
    this.run.log.write({ event: 'checkpoint', step: progress.step, epochs_done: progress.epochsDone });
    this.run.log.sync();
  }
}
