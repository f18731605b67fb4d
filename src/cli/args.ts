// Command-line parsing: every command declares its flags once in a table (defineFlags), parsing is
// strict (an unknown flag, a missing value or a value given to a switch is refused with one line
// that names the flag and the fix; on the command line, a flag given twice too: checkRepeats),
// path flags are checked before any work starts (paths.ts), and
// typed values come with messages that say which flag is wrong and what it accepts.
import { nearestName } from '../edit-distance';
import { fitsF32 } from '../../shaders/common';
import { modelFileOf, pathProblem } from './paths';

export class UsageError extends Error {
  override name = 'UsageError';
}

export type FlagSpec = { type: 'string' | 'boolean' };
export type FlagTable = Record<string, FlagSpec>;

/** Every command's flag table by command name; the tests enumerate these, so a new flag is covered. */
export const COMMAND_FLAGS = new Map<string, FlagTable>();

/** Declares (and registers) the flags of `command`. */
export function defineFlags<T extends FlagTable>(command: string, table: T): T {
  COMMAND_FLAGS.set(command, table);
  return table;
}


/**
 * Other tools' names for our flags, too far from ours in spelling for nearestName (`--count` is
 * nearer `--out` than `--n`); a hint only where the command has the flag.
 */
const FLAG_SYNONYMS: Record<string, string> = {
  count: 'n', num: 'n', number: 'n', samples: 'n', 'num-samples': 'n',
  'learning-rate': 'lr', 'batch-size': 'batch', bs: 'batch', output: 'out', 'output-dir': 'out',
  'latent-size': 'latent', 'z-dim': 'latent', zdim: 'latent', 'num-epochs': 'epochs',
};

function unknownFlag(command: string, name: string, spec: FlagTable): UsageError {
  const names = Object.keys(spec);
  const synonym = FLAG_SYNONYMS[name];
  const near = synonym && names.includes(synonym) ? synonym : nearestName(name, names);
  // A near match is the likely fix, and the whole list (about 50 flags for train) would bury it.
  if (near) return new UsageError(`unknown option '--${name}'; did you mean --${near}? (webgpu-vae ${command} --help lists every flag)`);
  return new UsageError(`unknown option '--${name}'; valid flags: ${names.map((k) => `--${k}`).join(' ')} (webgpu-vae ${command} --help)`);
}

/**
 * Parses `--name value`, `--name=value` and `--switch`. A value may start with one dash (`--seed -1`
 * reaches the range check and is refused there with the range); a token starting with `--` is never
 * taken as a value. Path flags are then checked (paths.ts), before the command does anything.
 */
export function parseFlags<T extends FlagTable>(command: string, argv: string[], spec: T): Record<keyof T, string | boolean | undefined> {
  const values: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (!token.startsWith('--') || token === '--') {
      throw new UsageError(`unexpected argument '${token}'; ${command} takes flags of the form --name value (webgpu-vae ${command} --help)`);
    }
    const eq = token.indexOf('=');
    const name = token.slice(2, eq < 0 ? undefined : eq);
    const flag = Object.prototype.hasOwnProperty.call(spec, name) ? spec[name] : undefined;
    if (!flag) throw unknownFlag(command, name, spec);
    if (flag.type === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} is a switch and takes no value; write --${name} alone, or leave it out`);
      values[name] = true;
    } else if (eq >= 0) {
      values[name] = token.slice(eq + 1);
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      values[name] = argv[++i];
    } else {
      throw new UsageError(`--${name} needs a value; write --${name} VALUE (webgpu-vae ${command} --help lists what it takes)`);
    }
  }
  for (const [name, value] of Object.entries(values)) {
    const why = typeof value === 'string' ? pathProblem(command, name, value, values) : null;
    if (why) throw new UsageError(why);
  }
  // Every command that reads --checkpoint reads a file; a run folder stands for its model.
  if (typeof values.checkpoint === 'string' && values.checkpoint !== '') values.checkpoint = modelFileOf(values.checkpoint);
  return values as Record<keyof T, string | boolean | undefined>;
}

/**
 * Refuses a flag given twice on the command line, where the last would otherwise win without a
 * word (even `--resume A --resume B`): one of the two is a slip. Tokens are read as parseFlags
 * reads them; anything else wrong is left to parseFlags. main() applies it to what the user
 * typed; code that runs a command in-process (embedding, tests) may still compose argument lists
 * in which a later flag overrides an earlier one.
 */
export function checkRepeats(argv: string[], spec: FlagTable | undefined): void {
  const seen = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (!token.startsWith('--') || token === '--') continue;
    const eq = token.indexOf('=');
    const name = token.slice(2, eq < 0 ? undefined : eq);
    const flag = spec && Object.prototype.hasOwnProperty.call(spec, name) ? spec[name] : undefined;
    if (!flag) continue;
    const value: string | true | null = flag.type === 'boolean' ? true
      : eq >= 0 ? token.slice(eq + 1)
      : i + 1 < argv.length && !argv[i + 1].startsWith('--') ? argv[++i] : null;
    if (value === null) continue; // a missing value: parseFlags says so
    const was = seen.get(name);
    if (was !== undefined) {
      throw new UsageError(typeof was === 'string' && typeof value === 'string'
        ? `--${name} given twice ('${was}' and '${value}'); give it once`
        : `--${name} given twice; give it once`);
    }
    seen.set(name, value);
  }
}

/**
 * Whether argv asks for help: `--help` or `-h` where a flag goes, not as the value of the flag
 * before it (`--seed -h` is a seed, refused as one), read with the same rule as parseFlags: a
 * flag that takes a value takes the next token unless that one starts with `--`.
 */
export function wantsHelp(argv: string[], spec: FlagTable | undefined): boolean {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--help' || token === '-h') return true;
    if (!token.startsWith('--') || token.includes('=')) continue;
    const flag = spec && Object.prototype.hasOwnProperty.call(spec, token.slice(2)) ? spec[token.slice(2)] : undefined;
    if (flag?.type === 'string' && i + 1 < argv.length && !argv[i + 1].startsWith('--')) i++;
  }
  return false;
}

/** `argv` without the named flags (and their values), e.g. to give them again; `switches` take no value. */
export function withoutFlags(argv: string[], names: string[], switches: string[] = ['force', 'json', 'conditional', 'dequantize', 'strict']): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2).split('=')[0] : null;
    if (name === null || !names.includes(name)) { out.push(argv[i]); continue; }
    // A valued flag written as two tokens takes the next one with it.
    if (!argv[i].includes('=') && !switches.includes(name) && i + 1 < argv.length && !argv[i + 1].startsWith('--')) i++;
  }
  return out;
}

/** Ranges of the integer flags bounded on both sides, shared by the flags' parsing and the check of
 *  the run options a training state stores (run-dir.ts), so that the two cannot drift apart. */
export const FLAG_RANGES = { 'image-size': [4, 1024], batch: [1, 65535], retries: [0, 100] } as const;

export function intFlag(name: string, raw: string | boolean | undefined, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (typeof raw !== 'string' || !/^-?\d+$/.test(raw.trim()) || v < min || v > max) {
    throw new UsageError(`--${name} must be ${max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in ${min}..${max}`}, got '${raw}'`);
  }
  return v;
}

export function numberFlag(name: string, raw: string | boolean | undefined, fallback: number, check: (v: number) => boolean, what: string): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  // Decimal only: Number() would also take '0x10' (16) or '0b1'.
  const decimal = typeof raw === 'string' && /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(raw);
  if (typeof raw !== 'string' || !decimal || !Number.isFinite(v) || !check(v)) {
    throw new UsageError(`--${name} must be ${what}, got '${raw}'`);
  }
  // The GPU reads these as float32: past its range a value becomes infinite, and below its
  // smallest normal number a GPU flushes it to 0 (for --clip-grad, "none").
  if (!fitsF32(v)) throw new UsageError(`--${name} must be ${what} within float32's range (at most 3.4e38, as the GPU holds it), got '${raw}'`);
  if (v !== 0 && Math.abs(v) < F32_MIN_NORMAL) throw new UsageError(`--${name} must be ${what}; '${raw}' is below float32's smallest normal number (1.2e-38), which the GPU reads as 0`);
  return v;
}

const F32_MIN_NORMAL = 1.1754943508222875e-38;

export function choiceFlag<C extends string>(name: string, raw: string | boolean | undefined, fallback: C, choices: readonly C[]): C {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !choices.includes(raw as C)) {
    const near = typeof raw === 'string' ? nearestName(raw, choices) : undefined;
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}; got '${raw}'${near ? ` (did you mean ${near}?)` : ''}`);
  }
  return raw as C;
}

/** "512,256" -> [512, 256]. */
export function listFlag(name: string, raw: string | boolean | undefined, fallback: number[]): number[] {
  if (raw === undefined) return fallback;
  const parts = typeof raw === 'string' ? raw.split(',').map((s) => s.trim()) : [];
  const values = parts.map(Number);
  if (!parts.length || parts.some((p) => !/^\d+$/.test(p)) || values.some((v) => v < 1)) {
    throw new UsageError(`--${name} must be one or more positive integers separated by commas (e.g. 400 or 512,256), got '${raw}'`);
  }
  return values;
}

export function stringFlag(name: string, raw: string | boolean | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || raw === '') throw new UsageError(`--${name} needs a value; write --${name} VALUE`);
  return raw;
}
