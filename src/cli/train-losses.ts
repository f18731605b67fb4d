// The training losses of `train`'s epoch in progress, as they come back from the GPU (every few
// steps, through the model's loss ring): folded into the epoch's mean, only the steps --on-nan
// lets count (StepWatch, bad-steps.ts); the steps skip-batch let pass; the last step read back,
// which the progress bar shows; and every lossEvery-th step as a 'step' line of the log and the
// JSON output. The step loop (train-epoch.ts) reads these figures for its bar, its epoch line and
// its checkpoints, and resets them at an epoch's edges.
import type { StepLoss } from '../model/loss-ring';
import type { VAE } from '../model/vae';
import type { TrainingProgress } from '../training-state';
import { figure, StepWatch, type OnNan } from './bad-steps';
import type { JsonLog } from './files';

/** The progress a run saves: the skipped steps of the epoch and the bad steps in a row that end in skip-batch's limit go on after a resume. */
export type RunProgress = TrainingProgress & { skipped?: number; badInARow?: number };

/** Where the losses are told: the JSON output's events and the human lines. */
interface LossReport {
  json: boolean;
  event(obj: Record<string, unknown>): void;
  info(line: string): void;
}

export class EpochLosses {
  /** Loss x examples summed over the counted steps of the epoch, and those examples. */
  sum: number;
  examples: number;
  /** Steps of the current epoch that skip-batch let pass unapplied (all are read back by the epoch's end). */
  skipped: number;
  /** Steps whose losses came back, which the progress bar shows. */
  stepsDone: number;
  /** A flagged step was not applied (the GPU skipped it): --on-nan says whether the run goes on. */
  readonly watch: StepWatch;

  /** Counts from a resumed run's saved `progress` (zeros for a new run). */
  constructor(progress: TrainingProgress, onNan: OnNan, private readonly model: VAE, private readonly stepsPerEpoch: number, private readonly log: JsonLog, private readonly report: LossReport) {
    this.sum = progress.epochLossSum;
    this.examples = progress.epochExamples;
    this.skipped = progress.epochStep > 0 ? ((progress as RunProgress).skipped ?? 0) : 0;
    this.watch = new StepWatch(onNan, (progress as RunProgress).badInARow ?? 0, (l, quantities) => {
      this.skipped++;
      const line = { event: 'skipped', step: l.step + 1, quantities, loss: l.loss, grad_norm: l.gradNorm };
      log.write(line);
      report.event(line);
      if (!report.json) report.info(`step ${l.step + 1} skipped: ${quantities.join('; ')} (loss ${figure(l.loss)}, gradient norm ${figure(l.gradNorm)})`);
    });
    this.stepsDone = model.step;
  }

  /** Takes the losses just read back; throws a BadStepError at a step --on-nan does not let pass. */
  take(losses: StepLoss[]): void {
    for (const l of losses) this.stepsDone = Math.max(this.stepsDone, l.step + 1);
    for (const l of this.watch.check(losses)) {
      this.sum += l.loss * l.examples;
      this.examples += l.examples;
      if ((l.step + 1) % this.model.training.lossEvery === 0) {
        const line = { event: 'step', step: l.step + 1, epoch: Math.floor(l.step / this.stepsPerEpoch) + 1, loss: l.loss, rec: l.rec, kl: l.kl };
        this.log.write(line);
        this.report.event(line);
      }
    }
  }

  /** The epoch's mean training loss over the steps counted so far (NaN before the first). */
  get mean(): number {
    return this.sum / this.examples;
  }
}
