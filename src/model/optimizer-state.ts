// The checks of what restoreOptimizer is given, made in full before anything is written, so a
// refused call leaves the model as it was. Moments that are not finite, or a negative second
// moment, would poison every later step (Adam divides by the square root of v); another array
// type would be uploaded as raw bytes, or fail in WebGPU's writeBuffer without a word about why.
import type { Optimizer } from '../../shaders/adam';
import { ConfigError, kindOfValue, literal, shown } from '../errors';
import { checkKnownKeys } from '../edit-distance';
import type { ParamLayout } from './params';

/** The most steps the watch counts (an f32 holds every integer up to 2^24); Adam's t stays there after. */
export const ADAM_STEP_LIMIT = 2 ** 24;

/** What restoreOptimizer takes. */
export interface RestoredState {
  m?: Float32Array;
  v?: Float32Array;
  step: number;
  watch?: ArrayLike<number> | null;
}

const FIELDS = ['m', 'v', 'step', 'watch'];

/** Refuses by name anything in `state` that restoreOptimizer could not restore exactly. */
export function checkRestoredState(state: unknown, layout: ParamLayout, optimizer: Optimizer): asserts state is RestoredState {
  if (!state || typeof state !== 'object' || Array.isArray(state)) {
    throw new ConfigError(`restoreOptimizer takes { m, v, step, watch } (Adam's moments, the steps taken, the step watch), got ${kindOfValue(state)}`);
  }
  // A misspelt field (wacth) would otherwise be left out, silently.
  checkKnownKeys('restoreOptimizer field', Object.keys(state), FIELDS);
  const s = state as Record<string, unknown>;
  if (!Number.isSafeInteger(s.step) || (s.step as number) < 0) throw new ConfigError(`restoreOptimizer: step (the steps already taken) must be an integer >= 0, got ${shown(s.step)}`);
  if (optimizer === 'adam') {
    const P = layout.totalFloats;
    for (const name of ['m', 'v']) {
      const a = s[name];
      if (!(a instanceof Float32Array)) {
        throw new ConfigError(`restoreOptimizer: Adam's moment ${name} must be a Float32Array of ${P} floats in the flat layout (optimizerState()'s), got ${a === undefined ? 'none' : kindOfValue(a)}` +
          `${Array.isArray(a) || ArrayBuffer.isView(a) ? '; convert with Float32Array.from(...)' : ''}`);
      }
      if (a.length !== P) throw new ConfigError(`restoreOptimizer: Adam's moment ${name} must hold ${P} floats (this model's flat layout), got ${a.length}`);
    }
    const badM = firstBad(layout, s.m as Float32Array, Number.isFinite);
    if (badM) throw new ConfigError(`restoreOptimizer: m ${badM}; Adam's first moment must be finite numbers`);
    const badV = firstBad(layout, s.v as Float32Array, (x) => Number.isFinite(x) && x >= 0);
    if (badV) throw new ConfigError(`restoreOptimizer: v ${badV}; Adam's second moment (a mean of squares) must be finite numbers >= 0`);
  } else if (s.m != null || s.v != null) {
    throw new ConfigError("restoreOptimizer: SGD keeps no moments, so m and v would be ignored; leave them out, or create the model with optimizer: 'adam'");
  }
  checkWatch(s.watch);
}

/**
 * The step watch (watchState()): 4 finite numbers, the last two step counts (whole, at most 2^24,
 * where the GPU's f32 count stops), or null / undefined for none seen yet.
 */
export function checkWatch(watch: unknown): void {
  if (watch === undefined || watch === null) return;
  const list = Array.isArray(watch) || (ArrayBuffer.isView(watch) && !(watch instanceof DataView)) ? Array.from(watch as ArrayLike<unknown>) : null;
  if (!list || list.length !== 4 || !list.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new ConfigError(`restoreOptimizer: watch must be the 4 finite numbers watchState() gives (smoothed loss, its minimum, accepted steps, Adam's step count), or null, got ${list ? literal(list) : kindOfValue(watch)}`);
  }
  const counts = list.slice(2) as number[];
  if (!counts.every((n) => Number.isInteger(n) && n >= 0 && n <= ADAM_STEP_LIMIT)) {
    throw new ConfigError(`restoreOptimizer: the watch's accepted steps and Adam's step count (its last two numbers) must be integers from 0 to 2^24, got ${literal(list)}`);
  }
}

/**
 * Where `flat` first holds a value `ok` refuses, by tensor name and index (or as padding between
 * tensors, which Adam updates too), with how many there are; null when there is none.
 */
function firstBad(layout: ParamLayout, flat: Float32Array, ok: (x: number) => boolean): string | null {
  let count = 0, first = -1;
  for (let i = 0; i < flat.length; i++) {
    if (!ok(flat[i]) && count++ === 0) first = i;
  }
  if (!count) return null;
  const t = layout.tensors.find((t) => first >= t.offset && first < t.offset + t.count);
  const where = t ? `${t.name}[${first - t.offset}]` : `[${first}] (padding between tensors)`;
  return `${where} is ${flat[first]}${count > 1 ? ` (${count} values are refused)` : ''}`;
}
