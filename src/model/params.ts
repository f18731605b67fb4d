// The flat parameter layout: every tensor the model's modules declare, at a 256-byte aligned
// offset in ONE buffer, so kernels bind slices of it and one optimizer dispatch updates
// everything. Names and shapes are the modules' (PyTorch's checkpoint names and layouts); the
// order is the order of declaration (encoder, decoder, likelihood), which also fixes the order
// in which a seed draws the initial values.
import { Philox } from '../rng';
import type { ParamInit, ParamSpec } from './module';

export interface TensorSpec {
  name: string;
  shape: number[];
  /** Offset in floats into the flat buffer (multiple of ALIGN_FLOATS). */
  offset: number;
  count: number;
  init: ParamInit;
}

export interface ParamLayout {
  tensors: TensorSpec[];
  byName: Map<string, TensorSpec>;
  /** Total floats including alignment padding (a multiple of 4). */
  totalFloats: number;
  /** Parameters proper, without padding. */
  paramCount: number;
}

/** 256 bytes: WebGPU's default minStorageBufferOffsetAlignment. */
export const ALIGN_FLOATS = 64;

export function layoutOf(specs: readonly ParamSpec[]): ParamLayout {
  const tensors: TensorSpec[] = [];
  let offset = 0;
  for (const s of specs) {
    const count = s.shape.reduce((a, b) => a * b, 1);
    tensors.push({ name: s.name, shape: [...s.shape], offset, count, init: s.init });
    offset += Math.ceil(count / ALIGN_FLOATS) * ALIGN_FLOATS;
  }
  const byName = new Map(tensors.map((t) => [t.name, t]));
  if (byName.size !== tensors.length) throw new Error('two parameters share a checkpoint name');
  return { tensors, byName, totalFloats: offset, paramCount: tensors.reduce((s, t) => s + t.count, 0) };
}

/**
 * Why `length` floats are not a flat array of `layout` (its totalFloats), or null. The layout pads
 * each tensor to an aligned offset, so its length is not the parameter count: an array of the
 * tensors written one after the other (as PyTorch's parameters concatenate) is named as such.
 */
export function flatLengthProblem(layout: ParamLayout, length: number): string | null {
  if (length === layout.totalFloats) return null;
  const packed = length === layout.paramCount ? ', which is the parameters written one after the other' : '';
  return `got ${length} floats${packed}, but the flat layout holds ${layout.totalFloats}: the model's ${layout.paramCount} parameters, ` +
    `each tensor starting at a multiple of ${ALIGN_FLOATS} floats (vae.layout, or paramLayout(config), gives each tensor's offset; flatParameters() of a model with the same config is such an array)`;
}

/** Initial values from a Philox stream of `seed`, tensor by tensor in layout order. */
export function initialParams(layout: ParamLayout, seed: number): Float32Array<ArrayBuffer> {
  const flat = new Float32Array(layout.totalFloats);
  const rng = new Philox(seed);
  for (const t of layout.tensors) {
    const init = t.init;
    if (init.kind === 'zeros') continue;
    if (init.kind === 'constant') flat.fill(init.value, t.offset, t.offset + t.count);
    else for (let i = 0; i < t.count; i++) flat[t.offset + i] = rng.uniform(-init.bound, init.bound);
  }
  return flat;
}

/** Each tensor of `layout`, copied out of `flat` under its name (after `prefix`), with its shape: a checkpoint's tensors. */
export function tensorsByName(layout: ParamLayout, flat: Float32Array, prefix = ''): Record<string, { shape: number[]; data: Float32Array<ArrayBuffer> }> {
  return Object.fromEntries(layout.tensors.map((t) => [prefix + t.name, { shape: t.shape, data: flat.slice(t.offset, t.offset + t.count) }]));
}

/** The values of `data` that are not finite numbers: how many, and the first (index and value); null when all are. */
export function nonFinite(data: Float32Array): { count: number; index: number; value: number } | null {
  let count = 0, index = -1;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]) && count++ === 0) index = i;
  }
  return count ? { count, index, value: data[index] } : null;
}

/** Where `flat` holds a value that is not a finite number, by tensor name and index (padding is not looked at), or null. */
export function firstNonFinite(layout: ParamLayout, flat: Float32Array): string | null {
  let count = 0, first = '';
  for (const t of layout.tensors) {
    const bad = nonFinite(flat.subarray(t.offset, t.offset + t.count));
    if (!bad) continue;
    if (count === 0) first = `${t.name}[${bad.index}] is ${bad.value}`;
    count += bad.count;
  }
  return count ? `${first}${count > 1 ? ` (${count} values are not finite numbers)` : ''}` : null;
}
