// What the worker makes of a failure before it tells the page: the kind of error, which picks the
// page's title and advice for it (demo/ui/errors.ts), the words for a lost device, and whether a
// failure came from a device being lost, which the loss handler in device-loss.ts explains and
// recovers from, so that it is not reported as an error of its own.
import type { ErrorKind } from '../shared/protocol';

export function kindOf(e: unknown): ErrorKind {
  const name = (e as Error)?.name;
  if (name === 'NoWebGPUError') return 'no-webgpu';
  if (name === 'DataError') return 'data';
  // A diverged run is told to change the learning rate.
  if (name === 'ConfigError' || name === 'DeviceLimitError' || name === 'DivergedError') return 'config';
  if (name === 'CheckpointError') return 'checkpoint';
  if (name === 'KeptRunError') return 'kept-run';
  return 'internal';
}

/** The run kept in the browser is not the one the page offered (another tab replaced it, or storage was cleared). */
export class KeptRunError extends Error {
  override name = 'KeptRunError';
}

/**
 * Whether the page explains `e` in its own words and the user can act on it: bad settings, data
 * or a model file refused, no WebGPU, a diverged run. Only the other failures, faults of the page
 * or the library, go to the console with their stack, where a bug report finds them.
 */
export const explainedToUser = (e: unknown): boolean => kindOf(e) !== 'internal';

/** What the page is told of a lost device, before what happens next. */
export function lossMessage(info: GPUDeviceLostInfo): string {
  const why = info.reason === 'destroyed' ? 'it was destroyed' : 'the driver reset or the GPU process crashed';
  return `The GPU device was lost (${why}${info.message ? `: ${info.message}` : ''}).`;
}

/**
 * Whether `device` turns out to be lost: a destroyed or crashed device fails pending work (such as
 * a read-back) before its `lost` promise settles, so give that promise a moment.
 */
export async function lostSoon(device: GPUDevice): Promise<boolean> {
  return Promise.race([device.lost.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2000))]);
}
