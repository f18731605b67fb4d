// Half-precision storage for the kernels outside the matmul (convolutions, their layout passes,
// GroupNorm, activation backward): a model with precision 'f16' keeps its hidden activations as
// f16 (src/model/precision.ts), so whichever kernel reads or writes one names that binding in its
// `f16` list. Only storage changes: a load widens to f32 and a store rounds once, so every sum,
// epilogue and gradient is computed in f32 (the matmul does the same with its own operand names,
// shaders/matmul.ts). Kernels with an f16 binding start with `enable f16;` and need the device's
// `shader-f16` feature.
import { ConfigError } from './errors';
import type { KernelBinding } from './common';

/** The bindings of a kernel stored as f16, by name (e.g. ['x', 'y']). */
export type HalfBindings = readonly string[];

/** Element `index` of storage array `name`, as an f32 expression. */
export const load32 = (half: HalfBindings | undefined, name: string, index: string) => (half?.includes(name) ? `f32(${name}[${index}])` : `${name}[${index}]`);

/** The statement storing the f32 expression `value` into `name[index]`. */
export const storeAs = (half: HalfBindings | undefined, name: string, index: string, value: string) => `${name}[${index}] = ${half?.includes(name) ? `f16(${value})` : value};`;

/**
 * The kernel's bindings with the f16 ones typed `array<f16>`, the `enable` line its source needs
 * and a name suffix; an f16 name the kernel does not bind is a caller's mistake, refused here.
 */
export function withHalf(kernel: string, bindings: KernelBinding[], half: HalfBindings | undefined): { bindings: KernelBinding[]; enable: string; tag: string } {
  const names = [...new Set(half ?? [])].sort();
  const unknown = names.filter((n) => !bindings.some((b) => b.name === n && b.kind !== 'uniform'));
  if (unknown.length) throw new ConfigError(`${kernel}: f16 names ${unknown.map((n) => `'${n}'`).join(', ')}, which the kernel does not bind (it binds ${bindings.map((b) => b.name).join(', ')})`);
  if (!names.length) return { bindings, enable: '', tag: '' };
  return {
    bindings: bindings.map((b) => (names.includes(b.name) ? { ...b, type: 'array<f16>' } : b)),
    enable: 'enable f16;\n',
    tag: `_f16_${names.join('_')}`,
  };
}
