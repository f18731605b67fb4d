// Error types the library throws. Each message says what went wrong and how to fix it, so the CLI
// can print it as one line; `name` lets callers branch without importing the classes.

// ConfigError and the value formatting of messages live with the kernel factories, which throw
// it and import nothing from src/.
export { ConfigError, kindOfValue, literal, shown, someNames } from '../shaders/errors';

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
