// Error types the library throws. Each message says what went wrong and how to fix it, so the CLI
// can print it as one line; `name` lets callers branch without importing the classes.

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

/** No usable WebGPU adapter or device could be obtained. */
export class NoWebGPUError extends Error {
  override name = 'NoWebGPUError';
}

/** WGSL failed to compile or a pipeline failed validation; the message carries the source lines. */
export class ShaderCompileError extends Error {
  override name = 'ShaderCompileError';
  constructor(message: string, readonly kernel: string) {
    super(message);
  }
}

/** A WebGPU validation, out-of-memory or device-lost error, tagged with the kernel or operation. */
export class GpuError extends Error {
  override name = 'GpuError';
  constructor(message: string, readonly operation: string, readonly kind: 'validation' | 'out-of-memory' | 'internal' | 'device-lost') {
    super(message);
  }
}

/** A device limit or feature the requested model needs is missing. */
export class DeviceLimitError extends Error {
  override name = 'DeviceLimitError';
}

/** Errors caused by user input (flags, files, configuration) rather than by a bug. */
export const USER_ERROR_NAMES = new Set([
  'ConfigError', 'NoWebGPUError', 'DeviceLimitError', 'DataError', 'CheckpointError', 'UsageError',
]);
