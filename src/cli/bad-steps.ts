// The steps the GPU's health check (shaders/grad-norm.ts) flagged, as `train` meets them in the
// losses it reads back: --on-nan's choices, the error that ends an attempt at a bad step, the watch
// that lets skip-batch pass isolated ones, and the rule that stops a run whose epoch mostly
// skipped. What happens after an attempt ends (a rollback, the last good checkpoint put back) is
// recovery.ts's; this is what the step loop consults while it trains.
import { flaggedQuantities, type StepLoss } from '../model/loss-ring';
import { lowerLr, newRunCommand, rateText } from './recovery-advice';

export const ON_NAN = ['stop', 'skip-batch', 'rollback'] as const;
export type OnNan = (typeof ON_NAN)[number];

/** Exit status of a run stopped by bad numbers (NaN/Inf or divergence). */
export const BAD_NUMBERS_EXIT_CODE = 3;
/** Flagged steps in a row after which skip-batch gives up. */
export const SKIP_LIMIT = 16;

/** 3.3e+13 rather than 32778468982784; small figures as they are. */
export const figure = (x: number) => (Math.abs(x) >= 1e6 ? x.toExponential(2) : String(Number(x.toPrecision(6))));

/** A flagged step the run cannot simply skip. */
export class BadStepError extends Error {
  override name = 'BadStepError';
  /**
   * `since`: the first step of the unbroken run of bad steps that ends at `step` (skip-batch skips
   * them, so the parameters that produced them are those from before `since`); `step` by default.
   */
  constructor(readonly step: number, readonly quantities: string[], readonly loss: number, readonly gradNorm: number, readonly why = '', readonly since = step) {
    super(`bad numbers at step ${step}: ${quantities.join('; ')} (loss ${figure(loss)}, gradient norm ${figure(gradNorm)})${why ? `; ${why}` : ''}`);
  }
}

/**
 * Watches the losses as they are read back and applies --on-nan. `onSkip` hears of each step
 * skip-batch let pass; a step that must end the attempt is thrown as a BadStepError.
 */
export class StepWatch {
  /**
   * `badInARow`: the bad steps in a row the run had when it was saved (0 for a new run), so that a
   * resumed run stops at the step the unbroken one would.
   */
  constructor(readonly mode: OnNan, public badInARow: number, private readonly onSkip: (l: StepLoss, quantities: string[]) => void) {}

  /** The last bad step seen (its loss and gradient norm tell an epoch of skipped steps). */
  lastBad: StepLoss | null = null;

  /** The first step (1-based) of the bad steps in a row that end at `step`: the parameters are those from before it. */
  badRunSince(step: number): number {
    return step - this.badInARow + 1;
  }

  /** Returns the steps whose figures count (the good ones); throws on a step that ends the attempt. */
  check(losses: StepLoss[]): StepLoss[] {
    const good: StepLoss[] = [];
    for (const l of losses) {
      if (!l.flags) {
        this.badInARow = 0;
        good.push(l);
        continue;
      }
      const quantities = flaggedQuantities(l.flags);
      this.lastBad = l;
      if (this.mode !== 'skip-batch') throw new BadStepError(l.step + 1, quantities, l.loss, l.gradNorm);
      if (++this.badInARow >= SKIP_LIMIT) {
        // The skipped steps left the parameters as they were before the first of them.
        throw new BadStepError(l.step + 1, quantities, l.loss, l.gradNorm, `${SKIP_LIMIT} steps in a row were bad, so skipping batches cannot get past it`, this.badRunSince(l.step + 1));
      }
      this.onSkip(l, quantities);
    }
    return good;
  }
}

/**
 * The rule that ends a skip-batch run whose steps mostly fail: an epoch with more than half of its
 * steps skipped stops the run (exit BAD_NUMBERS_EXIT_CODE, after its checkpoint), except the first
 * epoch when more follow (a run may start rough; SKIP_LIMIT bad steps in a row still stop it), so
 * that a run never ends with status 0 after such an epoch.
 */
export function tooManySkipped(skipped: number, epochSteps: number, epoch: number, epochs: number): boolean {
  return 2 * skipped > epochSteps && (epoch > 1 || epoch === epochs);
}

/**
 * What a run stopped by tooManySkipped logs and says: the checkpoint it keeps, and a new run at a
 * tenth of the rate (its parameters are the ones whose steps went bad, so not a resume). `again`:
 * the run's own flags, to spell that new run in the same folder (null for a resumed run).
 */
export function skippedStop(s: { skipped: number; stepsPerEpoch: number; epoch: number; step: number; lr: number; clipGrad?: number; outDir: string; again: string[] | null }): { event: Record<string, unknown>; text: string } {
  const lower = lowerLr(s.lr);
  const again = s.again ? newRunCommand(s.again, s.outDir, lower) : null;
  const event = { event: 'bad-numbers', action: 'stop', reason: 'skipped', epoch: s.epoch, step: s.step, skipped_steps: s.skipped, epoch_steps: s.stepsPerEpoch, lr: s.lr, suggested_lr: Number(lower), ...(again ? { restart: again } : {}) };
  const text = `${s.skipped} of the ${s.stepsPerEpoch} steps of epoch ${s.epoch} were skipped (--on-nan skip-batch), more than half: the run is not training at learning rate ${rateText(s.lr)}, ` +
    `so it stops here, exit status ${BAD_NUMBERS_EXIT_CODE} (the checkpoint of step ${s.step} is in ${s.outDir}). Start a new run with a lower rate, e.g. --lr ${lower}${s.clipGrad ? '' : ', or clip the gradients with --clip-grad 1'}` +
    (again ? `; in this folder, which holds this run's files, that is\n  ${again}` : ` (another --out, or --force to replace this run in ${s.outDir})`);
  return { event, text };
}
