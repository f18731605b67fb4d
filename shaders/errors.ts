// The error a kernel factory throws for a parameter it cannot build from, and the value formatting
// its messages share with the rest of the library. Defined here, below src/, so that shaders/
// imports nothing from src/; src/errors.ts re-exports them beside the library's other error
// types, so `ConfigError` is one class wherever it is thrown or caught.

/** What a wrong-typed argument is, for messages: 'null', 'an array', its class name or its typeof. */
export function kindOfValue(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  return (x as object)?.constructor?.name ?? typeof x;
}

/**
 * A value as a message shows it after "got": a number as itself, anything else quoted or named
 * with its type, so that "got 4" never stands for the string '4' a number check refused.
 */
export function shown(x: unknown): string {
  if (typeof x === 'number' || typeof x === 'bigint' || x === undefined || x === null) return String(x);
  if (typeof x === 'string') return `'${x}' (a string)`;
  if (typeof x === 'boolean') return `${x} (a boolean)`;
  if (typeof x === 'function') return `the function ${x.name || '(anonymous)'}`;
  return kindOfValue(x);
}

/** The first `count` of `names` joined with commas, and how many more there are: "a, b and 3 more". */
export function someNames(names: readonly string[], count: number): string {
  return names.slice(0, count).join(', ') + (names.length > count ? ` and ${names.length - count} more` : '');
}

/**
 * A value as it would be written in code, for messages that show lists and options: JSON, except
 * that the numbers JSON cannot hold are spelt out (JSON.stringify turns NaN and Infinity into
 * null, so "got null" would stand for a NaN the caller gave) and undefined is named.
 */
export function literal(x: unknown): string {
  if (typeof x === 'number') return String(x);
  if (x === undefined) return 'undefined';
  if (Array.isArray(x)) return `[${x.map(literal).join(',')}]`;
  if (typeof x === 'bigint' || typeof x === 'function' || typeof x === 'symbol') return String(x);
  try {
    return JSON.stringify(x, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)) ?? String(x);
  } catch {
    return kindOfValue(x); // a cycle
  }
}

/** A bad option, shape or model configuration supplied by the caller. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
