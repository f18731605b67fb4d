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
  return kindOfValue(x);
}

/** A bad option, shape or model configuration supplied by the caller. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
