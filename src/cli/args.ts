// Command-line parsing: strict flags (an unknown flag is an error naming the valid ones) and
// typed values with messages that say which flag is wrong and what it accepts.
import { parseArgs } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

type FlagSpec = { type: 'string' | 'boolean'; short?: string; default?: string | boolean };

export function parseFlags<T extends Record<string, FlagSpec>>(command: string, argv: string[], spec: T): Record<keyof T, string | boolean | undefined> {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: spec, strict: true, allowPositionals: true });
    if (positionals.length) throw new UsageError(`${command}: unexpected argument '${positionals[0]}'; flags take the form --name value`);
    return values as unknown as Record<keyof T, string | boolean | undefined>;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const msg = (e as Error).message.split('\n')[0];
    const valid = Object.keys(spec).map((k) => `--${k}`).join(' ');
    throw new UsageError(`${command}: ${msg.replace(/\. To specify.*$/, '')}. Valid flags: ${valid}`);
  }
}

export function intFlag(name: string, raw: string | boolean | undefined, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (typeof raw !== 'string' || !/^-?\d+$/.test(raw.trim()) || v < min || v > max) {
    throw new UsageError(`--${name} must be an integer in ${min}..${max === Number.MAX_SAFE_INTEGER ? 'inf' : max}, got '${raw}'`);
  }
  return v;
}

export function numberFlag(name: string, raw: string | boolean | undefined, fallback: number, check: (v: number) => boolean, what: string): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(v) || !check(v)) {
    throw new UsageError(`--${name} must be ${what}, got '${raw}'`);
  }
  return v;
}

export function choiceFlag<C extends string>(name: string, raw: string | boolean | undefined, fallback: C, choices: readonly C[]): C {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !choices.includes(raw as C)) {
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}; got '${raw}'`);
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
  if (typeof raw !== 'string' || raw === '') throw new UsageError(`--${name} needs a value`);
  return raw;
}
