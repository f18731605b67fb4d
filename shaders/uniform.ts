// Uniform structs declared once, as a list of fields. From that one list come the WGSL struct
// text that kernels paste, the byte size, and the TypeScript encoder that fills a buffer for
// `queue.writeBuffer`, so the kernels' view and the CPU's view of the bytes cannot drift apart.
// Fields are 4-byte scalars (u32, i32, f32) packed in order; WGSL's uniform layout rules put
// them at consecutive 4-byte offsets, and the struct is padded to 16 bytes as uniforms require.
import { ConfigError, shown } from './errors';

export type UniformScalar = 'u32' | 'i32' | 'f32';

/** [name, WGSL type, what it means]. */
export type UniformField = readonly [name: string, type: UniformScalar, doc: string];

export interface UniformStruct<F extends string> {
  readonly name: string;
  readonly fields: readonly UniformField[];
  /** `struct Name { ... }` for WGSL. */
  readonly wgsl: string;
  /** Byte size, a multiple of 16. */
  readonly bytes: number;
  /** Byte offset of a field, for tests and for partial writes. */
  offsetOf(field: F): number;
  /** Writes every field into `out` (a fresh buffer by default); missing fields are an error. */
  encode(values: Record<F, number>, out?: ArrayBuffer): ArrayBuffer;
  /** Reads the fields back (tests and debugging). */
  decode(bytes: ArrayBuffer): Record<F, number>;
}

export function uniformStruct<const T extends readonly UniformField[]>(name: string, fields: T): UniformStruct<T[number][0]> {
  type F = T[number][0];
  const index = new Map(fields.map((f, i) => [f[0], i]));
  if (index.size !== fields.length) throw new ConfigError(`uniform struct ${name} declares a field twice`);
  if (!fields.length) throw new ConfigError(`uniform struct ${name} has no fields (WGSL has no empty structs)`);
  const bytes = Math.ceil((fields.length * 4) / 16) * 16;
  const width = Math.max(...fields.map((f) => f[0].length + f[1].length + 3));
  const wgsl = `struct ${name} {\n${fields.map(([n, t, doc]) => `  ${`${n}: ${t},`.padEnd(width)} // ${doc}`).join('\n')}\n}`;
  return {
    name, fields, wgsl, bytes,
    offsetOf: (field: F) => {
      const i = index.get(field);
      if (i === undefined) throw new ConfigError(`uniform struct ${name} has no field ${field}`);
      return i * 4;
    },
    encode(values, out = new ArrayBuffer(bytes)) {
      const view = new DataView(out);
      fields.forEach(([n, t], i) => {
        const v = (values as Record<string, number>)[n];
        if (typeof v !== 'number' || Number.isNaN(v)) throw new ConfigError(`uniform ${name}.${n} needs a number, got ${shown(v)}`);
        // Out-of-range values would wrap silently in the typed views: refuse them instead.
        const [lo, hi] = t === 'u32' ? [0, 2 ** 32 - 1] : t === 'i32' ? [-(2 ** 31), 2 ** 31 - 1] : [-Infinity, Infinity];
        if (t !== 'f32' && !(Number.isInteger(v) && v >= lo && v <= hi)) throw new ConfigError(`uniform ${name}.${n} is ${t} and needs an integer in ${lo}..${hi}, got ${shown(v)}`);
        if (t === 'f32') view.setFloat32(i * 4, v, true);
        else if (t === 'i32') view.setInt32(i * 4, v, true);
        else view.setUint32(i * 4, v >>> 0, true);
      });
      return out;
    },
    decode(buffer) {
      const view = new DataView(buffer);
      return Object.fromEntries(fields.map(([n, t], i) => [n, t === 'f32' ? view.getFloat32(i * 4, true) : t === 'i32' ? view.getInt32(i * 4, true) : view.getUint32(i * 4, true)])) as Record<F, number>;
    },
  };
}
