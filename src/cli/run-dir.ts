// A run folder (runs/NAME): what `train` writes there, the rule that a new run never overwrites
// an old one without --force, reading the training state back for --resume (and refusing a
// folder whose config.json or model.safetensors is another run's), and config.json, the record of
// how the run was started and resumed.
import { existsSync, readFileSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { basename, join } from 'node:path';
import { CHECKPOINT_FORMAT, TRAINING_STATE_FORMAT } from '../checkpoint';
import { CheckpointError } from '../io/safetensors';
import { readTrainingState, type TrainingState } from '../training-state';
import { FLAG_RANGES, UsageError } from './args';
import { writeFileAtomic } from './files';
import { isOtherKindOfFile, notSafetensors, readFileHeader } from './checkpoint-file';
import { configFromFile, resolveConfig } from '../model/config';
import { selfName, shellQuote } from './self-name';
import { DATA_SOURCE_NAMES } from '../data/sources';
import { PICTURE_LISTINGS } from '../data/image-listing';
import { LR_DECAYS } from '../model/vae-options';
import { PRECISIONS } from '../model/precision';
import { ON_NAN } from './bad-steps';

export const RUN_FILES = {
  model: 'model.safetensors',
  state: 'training-state.safetensors',
  config: 'config.json',
  metrics: 'metrics.jsonl',
  samples: 'samples.png',
  reconstructions: 'reconstructions.png',
} as const;

export type RunPaths = { [K in keyof typeof RUN_FILES]: string };

export function runPaths(dir: string): RunPaths {
  return Object.fromEntries(Object.entries(RUN_FILES).map(([k, name]) => [k, join(dir, name)])) as RunPaths;
}

// Kept here too for the modules that import it from the run folder's code.
export { shellQuote };

/**
 * The command that continues the run in `dir`. `machine`: the run's flags that describe the
 * machine and not the run (--autotune, --max-gpu-memory: the run's record does not keep them), so
 * that the resumed run picks its kernels as this one did and continues it bit for bit.
 */
export const resumeCommand = (dir: string, machine: string[] = []) => `${selfName()} train --resume ${shellQuote(dir)}${machine.length ? ` ${machine.map(shellQuote).join(' ')}` : ''}`;

/** The flags of `f` that describe the machine (see resumeCommand), as arguments. */
export const machineFlagsOf = (f: { autotune?: unknown; 'max-gpu-memory'?: unknown }): string[] =>
  (['autotune', 'max-gpu-memory'] as const).flatMap((k) => (f[k] === undefined ? [] : [`--${k}`, String(f[k])]));

/**
 * Checks that a new run may use `dir`: refused when it holds a run (a model or a training state),
 * unless `force`, which lets it be: that run's files (and only those) are removed later, once the
 * new model is built (`discardOldRun`, from openRunLog), so nothing stale is mixed in.
 */
export function claimNewRunDir(dir: string, force: boolean, machine: string[] = []): void {
  const p = runPaths(dir);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`--out ${dir} is a file, not a folder; choose another --out`);
  checkRunFilesAreFiles(dir, '--out');
  const held = Object.values(p).filter((f) => existsSync(f));
  if (!held.length || force) return;
  const nameOf = (f: string) => f.slice(dir.length + 1);
  const checkpoint = held.filter((f) => f === p.model || f === p.state);
  if (existsSync(p.state)) {
    // Advise --resume only for a file that can be one: a text file under that name is no run.
    const not = notATrainingState(p.state);
    if (not) {
      throw new UsageError(`${dir} holds ${RUN_FILES.state}, but it is not a training state (${not}), so there is no run there to continue; ` +
        `choose another --out, or add --force to delete it${held.length > 1 ? ` and ${held.filter((f) => f !== p.state).map(nameOf).join(', ')}` : ''} and start the run there`);
    }
    throw new UsageError(`${dir} already holds a run (${checkpoint.map(nameOf).join(', ')}); continue it with \`${resumeCommand(dir, machine)}\`, or add --force to discard it and start over`);
  }
  if (checkpoint.length) {
    // A model without its training state cannot be resumed exactly; its parameters can start a new run.
    throw new UsageError(`${dir} already holds a model (${nameOf(p.model)}) without a training state, so it cannot be resumed; start from its parameters with \`${selfName()} train --init-from ${shellQuote(dir)} --out NEW\`, choose another --out, or add --force to discard it`);
  }
  // Files a run writes but no checkpoint: a run stopped before its first one, or someone else's files.
  throw new UsageError(`${dir} already holds ${held.map(nameOf).join(', ')}, which a new run would overwrite; choose another --out, or add --force to replace them`);
}

/**
 * Refuses a run folder where a run file's name is taken by a folder (or a FIFO, a device): the run
 * could neither read nor replace it, and would fail with EISDIR after the device started.
 */
export function checkRunFilesAreFiles(dir: string, flag: '--out' | '--resume'): void {
  for (const path of Object.values(runPaths(dir))) {
    let s: Stats;
    try {
      s = statSync(path);
    } catch {
      continue; // absent (or a dangling link, which a write replaces)
    }
    if (s.isFile()) continue;
    const kind = s.isDirectory() ? 'a folder' : s.isFIFO() ? 'a FIFO (named pipe)' : 'not a regular file';
    throw new UsageError(`${flag} ${dir}: ${path} is ${kind}, where the run's ${basename(path)} file belongs, so the run can neither read nor replace it; ` +
      `remove or rename that ${s.isDirectory() ? 'folder' : 'entry'} (what it holds is not the run's), then run the command again`);
  }
}

/** What a safetensors file of neither of webgpu-vae's formats is: "it is a safetensors file ...". */
const otherFormat = (format: unknown) => (format === undefined ? 'it is a safetensors file with no format metadata' : `it is a safetensors file of format ${JSON.stringify(format)}`);

/**
 * Why the file at `path` is not a training state, judged from its header alone (its
 * safetensors header and format metadata; the rest is checked when it is read): null when it looks
 * like one.
 */
export function notATrainingState(path: string): string | null {
  const head = readFileHeader(path);
  if ('not' in head) return head.not;
  const format = head.metadata.format;
  if (format === TRAINING_STATE_FORMAT) return null;
  if (format === CHECKPOINT_FORMAT) return `it is a model checkpoint, which belongs in ${RUN_FILES.model}`;
  return otherFormat(format);
}

/** With --force: removes the old run's files just before the new run writes its own. */
export function discardOldRun(dir: string): void {
  for (const f of Object.values(runPaths(dir))) {
    try {
      unlinkSync(f);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`--force: cannot remove ${f} (${(e as NodeJS.ErrnoException).code}); remove it yourself or choose another --out`);
    }
  }
}

/** The training state of the run in `dir`, with messages for folders that hold none. */
export function readRunState(dir: string): TrainingState {
  const p = runPaths(dir);
  if (!existsSync(dir)) throw new UsageError(`--resume ${dir}: no such folder; give the folder of a run (e.g. runs/NAME)`);
  checkRunFilesAreFiles(dir, '--resume');
  if (!existsSync(p.state)) {
    if (existsSync(p.model)) {
      throw new UsageError(`--resume ${dir}: it holds ${RUN_FILES.model} but no ${RUN_FILES.state}, so the run cannot continue exactly (it was written by an older webgpu-vae ` +
        'or copied without it); start a new run with --out');
    }
    // A run stopped before its first checkpoint leaves config.json and metrics.jsonl, which a new
    // run there replaces only with --force.
    const held = Object.entries(RUN_FILES).filter(([, name]) => existsSync(join(dir, name))).map(([, name]) => name);
    throw new UsageError(held.length
      ? `--resume ${dir}: no ${RUN_FILES.state} there, so no run to continue (it holds ${held.length > 1 ? `${held.slice(0, -1).join(', ')} and ${held.at(-1)}` : held[0]} of a run that stopped before its first checkpoint); ` +
        `start a new run in it with --force: \`${selfName()} train --out ${shellQuote(dir)} --force\` and the run's flags`
      : `--resume ${dir}: no ${RUN_FILES.state} there, so no run to continue; start one with \`${selfName()} train --out ${shellQuote(dir)}\``);
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(p.state));
  } catch (e) {
    throw new CheckpointError(`cannot read ${p.state}: ${(e as Error).message}`);
  }
  let state: TrainingState;
  try {
    state = readTrainingState(bytes, p.state);
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    throw new CheckpointError(damagedState(dir, bytes, e.message.startsWith(p.state) ? e.message : `${p.state}: ${e.message}`));
  }
  // The run's options are read as the flags' defaults, which no flag check sees: checked here, with the file named.
  const problem = runOptionsProblem(state.training as unknown as Record<string, unknown>, state.run);
  if (problem) throw new CheckpointError(damagedState(dir, bytes, `${p.state}: ${problem}; the training state is damaged`));
  return state;
}

const isCount = (min: number, max = Number.MAX_SAFE_INTEGER) => (v: unknown) => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;
const isNumber = (min: number, above = false) => (v: unknown) => typeof v === 'number' && Number.isFinite(v) && (above ? v > min : v >= min);
const oneOf = (list: readonly unknown[]) => (v: unknown) => list.includes(v);
/** A run option bounded as its flag is (FLAG_RANGES). */
const range = (flag: keyof typeof FLAG_RANGES): [(v: unknown) => boolean, string] => {
  const [min, max] = FLAG_RANGES[flag];
  return [isCount(min, max), `a whole number from ${min} to ${max}`];
};
const orNull = (ok: (v: unknown) => boolean) => (v: unknown) => v === null || ok(v);

/** The options a run resumes with, each as saveTrainingState's caller, the train command, wrote it. */
const TRAINING_CHECKS: Record<string, [(v: unknown) => boolean, string]> = {
  optimizer: [oneOf(['adam', 'sgd']), "'adam' or 'sgd'"], lr: [isNumber(0, true), 'a number > 0'], seed: [isCount(0), 'a whole number >= 0'],
};
// Built when used: bad-steps.ts imports this module (through recovery-advice.ts), so ON_NAN may not be set yet when this one loads.
const runChecks = (): Record<string, [(v: unknown) => boolean, string]> => ({
  dataset: [(v) => typeof v === 'string' && (DATA_SOURCE_NAMES as readonly string[]).includes(v), `one of ${DATA_SOURCE_NAMES.join(', ')}`],
  dataDir: [orNull((v) => typeof v === 'string'), 'a folder or null'], imageSize: range('image-size'),
  imageChannels: [oneOf([1, 3]), '1 or 3'], pictureListing: [oneOf(PICTURE_LISTINGS), PICTURE_LISTINGS.join(' or ')], strict: [(v) => typeof v === 'boolean', 'true or false'],
  limit: [orNull(isCount(1)), 'a whole number >= 1 or null'], testLimit: [orNull(isCount(1)), 'a whole number >= 1 or null'],
  batch: range('batch'), lrDecay: [oneOf(LR_DECAYS), LR_DECAYS.join(' or ')],
  lrMin: [isNumber(0), 'a number >= 0'], lrDecaySteps: [isCount(0), 'a whole number >= 0'], epochs: [isCount(1), 'a whole number >= 1'],
  saveEvery: [isCount(0), 'a whole number >= 0'], onNan: [oneOf(ON_NAN), ON_NAN.join(', ')], clipGrad: [isNumber(0), 'a number >= 0'],
  retries: range('retries'), precision: [oneOf(PRECISIONS), PRECISIONS.join(' or ')],
  initFrom: [orNull((v) => typeof v === 'string'), 'a file or null'],
});

/** What is wrong with a training state's optimizer settings (`training`) and run options (`run`), or null. */
export function runOptionsProblem(training: Record<string, unknown>, run: Record<string, unknown>): string | null {
  for (const [key, [ok, want]] of Object.entries(TRAINING_CHECKS)) {
    if (!ok(training[key])) return `training.${key} is ${JSON.stringify(training[key]) ?? 'missing'}, where ${want} belongs`;
  }
  for (const [key, [ok, want]] of Object.entries(runChecks())) {
    // A field an older version did not write takes its default.
    if (Object.hasOwn(run, key) && !ok(run[key])) return `run.${key} is ${JSON.stringify(run[key])}, where ${want} belongs`;
  }
  return null;
}

/** What to say of a training state that cannot be read: what the file is, and what is left to do with the run. */
function damagedState(dir: string, bytes: Uint8Array, message: string): string {
  const p = runPaths(dir);
  const kind = notSafetensors(bytes);
  const what = kind ? `${p.state} is not a training state (it is ${kind})`
    : /is a model checkpoint, not a training state/.test(message) ? `${p.state} is a model checkpoint, not a training state` : message;
  // A newer format is not damage: nothing else to suggest than the webgpu-vae that wrote it.
  if (/training-state version/.test(message)) return message;
  const model = existsSync(p.model) ? `${p.model} may still be usable with eval, sample, traverse, reconstruct and interpolate; ` : '';
  return `${what}; the run cannot be resumed from it. ${model}a new run can start with --out NEWDIR (or in this folder with --out ${shellQuote(dir)} --force, which replaces this run)`;
}

/** config.json: the configuration and options a run started with, and when it was resumed (with the new lr, where --lr changed it). */
export interface RunRecord {
  format: 'webgpu-vae-run';
  started: string;
  config: unknown;
  training: unknown;
  run: Record<string, unknown>;
  resumed: { at: string; step: number; epochs: number; lr?: number; precision?: string }[];
}

export function writeRunRecord(dir: string, record: RunRecord): void {
  writeFileAtomic(runPaths(dir).config, new TextEncoder().encode(JSON.stringify(record, null, 2) + '\n'));
}

/**
 * The record of a run being resumed; rebuilt from the training state (with `warn`) if the file is
 * gone or damaged. (Whether it describes the state's model is checked earlier, before the device:
 * checkRecordMatchesState.)
 */
export function readRunRecord(dir: string, fallback: () => RunRecord, warn: (line: string) => void): RunRecord {
  const path = runPaths(dir).config;
  if (!existsSync(path)) {
    warn(`${path} is missing; writing a new one from the training state (the run's start time and earlier resumes are not known)`);
    return fallback();
  }
  let r: RunRecord | null = null;
  try {
    r = JSON.parse(readFileSync(path, 'utf8')) as RunRecord;
  } catch { /* damaged: rebuilt below */ }
  if (!(r && r.format === 'webgpu-vae-run' && Array.isArray(r.resumed) && typeof r.run === 'object' && r.run)) {
    warn(`${path} is not a readable run record; writing a new one from the training state (the run's start time and earlier resumes are lost)`);
    return fallback();
  }
  return r;
}

/** Refuses a run folder whose config.json (when readable) describes another model than its training state. */
export function checkRecordMatchesState(dir: string, stateConfig: object, state?: Pick<TrainingState, 'training' | 'run'>): void {
  let record: RunRecord;
  try {
    record = JSON.parse(readFileSync(runPaths(dir).config, 'utf8')) as RunRecord;
  } catch {
    return; // missing or damaged: readRunRecord says so and rebuilds it
  }
  // What a run keeps from its start to its end, whatever its resumes change: a state of another run
  // of the same architecture (another seed, other data) is told apart by these.
  if (state && record && typeof record === 'object') {
    const kept = [
      ...(['seed', 'optimizer', 'batch'] as const).map((k) => [`training ${k}`, (record.training as Record<string, unknown> | undefined)?.[k], (state.training as unknown as Record<string, unknown>)[k]]),
      ...(['dataset', 'trainData'] as const).map((k) => [`run ${k}`, (record.run as Record<string, unknown> | undefined)?.[k], state.run[k]]),
    ].filter(([, a, b]) => a !== undefined && b !== undefined && JSON.stringify(a) !== JSON.stringify(b));
    if (kept.length) {
      throw new UsageError(`${runPaths(dir).config} and ${RUN_FILES.state} in ${dir} are of different runs (${kept.map(([k, a, b]) => `${k} ${JSON.stringify(a)} and ${JSON.stringify(b)}`).join(', ')}): ` +
        'the folder mixes files of two runs; put each run\'s files in a folder of its own');
    }
  }
  const written = record?.config;
  if (!written || typeof written !== 'object') return;
  const differs = recordedConfigDiffers(written, stateConfig);
  let unreadable: string | null = null;
  try {
    resolveConfig(configFromFile(written));
  } catch (e) {
    unreadable = (e as Error).message;
  }
  if (differs.length && unreadable !== null) {
    // An edited record (a field mistyped or added): compared as written, every field the file
    // leaves to its default would be named as differing, and the cause is the edit, not a second run.
    throw new UsageError(`${runPaths(dir).config}: its config is not a model configuration this webgpu-vae reads (${unreadable}); ` +
      `restore config.json as the run wrote it, or remove it: resuming writes it anew from ${RUN_FILES.state} (the run's start time and earlier resumes are then lost)`);
  }
  if (differs.length) {
    throw new UsageError(`${runPaths(dir).config} and ${RUN_FILES.state} in ${dir} describe different models (${differs.slice(0, 3).join(', ')} differ): ` +
      'the folder mixes files of two runs; put each run\'s files in a folder of its own');
  }
}

/**
 * Refuses to resume the run in `dir` where its model.safetensors is not the run's: a model of
 * another configuration than the training state's (`stateConfig`), another kind of webgpu-vae or
 * safetensors file, a picture, text. The run would overwrite it at its next checkpoint. Only the
 * file's header is read. One too damaged to tell what it was (empty, cut, its header broken) is
 * replaced as before: the training state holds the run's parameters.
 */
export function checkModelMatchesState(dir: string, stateConfig: object): void {
  const path = runPaths(dir).model;
  if (!existsSync(path)) return;
  const head = readFileHeader(path);
  let what: string | null = null;
  if ('not' in head) {
    if (head.kind !== null && isOtherKindOfFile(head.kind)) what = `is not the run's model (${head.not})`;
  } else if (head.metadata.format !== CHECKPOINT_FORMAT) {
    what = `is not the run's model (${head.metadata.format === TRAINING_STATE_FORMAT ? 'it is a training state, not a model' : otherFormat(head.metadata.format)})`;
  } else {
    let written: unknown = null;
    try {
      written = JSON.parse(String(head.metadata.config));
    } catch { /* a damaged configuration: nothing tells whose model it is */ }
    const differs = written && typeof written === 'object' ? recordedConfigDiffers(written, stateConfig) : [];
    if (differs.length) what = `holds another model than ${RUN_FILES.state} (${differs.slice(0, 3).join(', ')} differ): the folder mixes files of two runs`;
  }
  if (!what) return;
  throw new UsageError(`--resume ${dir}: ${path} ${what}, and resuming would overwrite it at the run's next checkpoint; ` +
    `move that file elsewhere (the run writes its own ${RUN_FILES.model} there), or resume the run in a folder of its own ` +
    `(copy its ${RUN_FILES.state}, ${RUN_FILES.config} and ${RUN_FILES.metrics} there)`);
}

/**
 * How the run's model.safetensors in `dir` falls behind its training state of `step`: absent,
 * unreadable, or the run's own of another step (a write cut off between the state's and its own,
 * each atomic); null when it is that step's. A finished run resumed in that state rewrites it.
 */
export function modelBehindState(dir: string, step: number): string | null {
  const path = runPaths(dir).model;
  if (!existsSync(path)) return `${path} is missing`;
  const head = readFileHeader(path);
  if ('not' in head) return `${path} cannot be read (${head.not})`;
  const saved = head.metadata.step;
  return Number(saved) === step ? null : `${path} is of step ${typeof saved === 'string' ? saved : '(none recorded)'}`;
}

/**
 * The fields of `config` that a run record's model configuration (`written`) gives otherwise.
 * Read as the model reads it: files of older versions recorded fields that resolve to another form
 * now (a conv model's unused hidden sizes), and those describe the same model. One that cannot be
 * read as a configuration is compared as written.
 */
export function recordedConfigDiffers(written: object, config: object): string[] {
  let stored: object = written;
  try {
    stored = resolveConfig(configFromFile(written));
  } catch { /* compared as written, and refused where it differs */ }
  return Object.entries(config).filter(([k, v]) => JSON.stringify((stored as Record<string, unknown>)[k]) !== JSON.stringify(v)).map(([k]) => k);
}
