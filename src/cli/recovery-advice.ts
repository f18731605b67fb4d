// The commands `train` prints for going on after it stopped on bad numbers, a failed write or a
// stop before its pictures: a lower learning rate to suggest, a new run in the same folder (which
// needs --force: it holds the stopped run's files), a resume at another rate, the reading commands
// that draw the end-of-run pictures, and a failed write's message with its fix. Each is spelled
// to work as printed. Kept apart from the decisions (recovery.ts, bad-steps.ts) that
// choose which of them to offer.
import { withoutFlags } from './args';
import { OutputError, writeFailureFix } from './files';
import { resumeCommand, runPaths, shellQuote, type RunPaths } from './run-dir';
import { selfName } from './self-name';

/** A learning rate to suggest after bad numbers: a tenth, in a round form (5e-4 rather than 0.0005000001). */
export function lowerLr(lr: number): string {
  return rateText(Number((lr / 10).toPrecision(2)));
}

/** A learning rate as the messages and commands write it: 1e+19, not 10000000000000000000. */
export function rateText(lr: number): string {
  return Math.abs(lr) >= 1e6 ? lr.toExponential() : String(lr);
}

/**
 * The command that starts a new run like the one given by `argv` (train's flags) at learning rate
 * `lr`, in the same folder: it holds the stopped run's files (config.json and metrics.jsonl at
 * least, written before the first step), which a new run replaces only with --force.
 */
export function newRunCommand(argv: string[], outDir: string, lr?: string): string {
  const flags = lr === undefined ? withoutFlags(argv, ['out', 'force']) : [...withoutFlags(argv, ['out', 'force', 'lr']), '--lr', lr];
  return `${selfName()} ${['train', ...flags, '--out', outDir, '--force'].map(shellQuote).join(' ')}`;
}

/** The commands that draw a run's end-of-run pictures from its saved model, when the run did not write them. */
export function picturesCommands(paths: RunPaths): { sample: string; reconstruct: string } {
  return {
    sample: `${selfName()} sample --checkpoint ${shellQuote(paths.model)} --out ${shellQuote(paths.samples)}`,
    reconstruct: `${selfName()} reconstruct --checkpoint ${shellQuote(paths.model)} --out ${shellQuote(paths.reconstructions)}`,
  };
}

/**
 * A run's failed write, with what to do about it and how to go on: from the last checkpoint
 * (`checkpointStep`, written or resumed by this run) with --resume when there is one; otherwise by
 * starting the run again (`argv`: its flags), since --resume would find nothing to continue.
 */
export function runWriteFailed(e: OutputError, outDir: string, checkpointStep: number | null, argv: string[] | undefined, machine: string[] = []): OutputError {
  const fix = writeFailureFix(e.code);
  const paths = runPaths(outDir);
  if (e.path === paths.samples || e.path === paths.reconstructions) {
    // The end-of-run pictures come after the last checkpoint: training is saved, and --resume would find nothing left to train.
    const draw = picturesCommands(paths);
    return new OutputError(`${e.message}; training was done and saved in ${paths.model}: ${fix}, then draw the pictures with \`${draw.sample}\` and \`${draw.reconstruct}\``);
  }
  const next = checkpointStep !== null
    ? `${fix}, then \`${resumeCommand(outDir, machine)}\` continues from the last checkpoint written (step ${checkpointStep} or later)`
    : `no checkpoint was written yet, so there is nothing to resume: ${fix}, then start the run again` +
      (argv ? ` with \`${newRunCommand(argv, outDir)}\` (--force: ${outDir} holds this attempt's config.json and metrics.jsonl)` : '');
  return new OutputError(`${e.message}; ${next}`);
}

/** The command that continues the run in `dir` at learning rate `lr` (a resume may lower the rate). */
export function resumeAtCommand(dir: string, lr: string, machine: string[] = []): string {
  return `${resumeCommand(dir, machine)} --lr ${lr}`;
}
