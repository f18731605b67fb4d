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
 * and a name suffix. `handled` lists the bindings the kernel's WGSL reads through load32 or
 * writes through storeAs (every storage binding when left out); an f16 name the kernel does not
 * bind, or binds but reads or writes as f32 only (its WGSL would not compile), is a caller's
 * mistake, refused here.
 */
export function withHalf(kernel: string, bindings: KernelBinding[], half: HalfBindings | undefined, handled?: readonly string[]): { bindings: KernelBinding[]; enable: string; tag: string } {
  const names = [...new Set(half ?? [])].sort();
  const unknown = names.filter((n) => !bindings.some((b) => b.name === n && b.kind !== 'uniform'));
  if (unknown.length) throw new ConfigError(`${kernel}: f16 names ${unknown.map((n) => `'${n}'`).join(', ')}, which the kernel does not bind (it binds ${bindings.map((b) => b.name).join(', ')})`);
  const can = handled ? bindings.filter((b) => handled.includes(b.name)).map((b) => b.name) : bindings.filter((b) => b.kind !== 'uniform').map((b) => b.name);
  const f32Only = names.filter((n) => !can.includes(n));
  if (f32Only.length) throw new ConfigError(`${kernel}: f16 names ${f32Only.map((n) => `'${n}'`).join(', ')}, which the kernel reads and writes as f32 only (its f16 bindings: ${can.join(', ') || 'none'}); leave ${f32Only.length > 1 ? 'them' : 'it'} out of the f16 list`);
  if (!names.length) return { bindings, enable: '', tag: '' };
  return {
    bindings: bindings.map((b) => (names.includes(b.name) ? { ...b, type: 'array<f16>' } : b)),
    enable: 'enable f16;\n',
    tag: `_f16_${names.join('_')}`,
  };
}
