// Uniform structs (shaders/uniform.ts) and the per-step block built from one (STEP_PARAMS in
// shaders/common.ts, filled by encodeStepParams in src/step-params.ts).
//
// The point of `uniformStruct` is that the WGSL declaration and the TypeScript encoder come from
// the same field list, so the GPU and the CPU agree on every byte offset. These tests check the
// generated text and sizes, the encoder's handling of each scalar type and of bad input, and then
// the claim itself: a kernel compiled from STEP_PARAMS.wgsl reads back, word for word, what
// encodeStepParams wrote. A layout slip (a field dropped, reordered or mistyped on one side)
// shows up there as a shifted or reinterpreted word.
import { describe, expect, it } from 'vitest';
import { declareBindings, STEP_PARAMS, uniform, write, type Kernel } from '../shaders/common';
import { uniformStruct, type UniformField } from '../shaders/uniform';
import { encodeStepParams, fractionOf2To64, STEP_PARAMS_DEFAULTS, STREAM, type StepParams } from '../src/step-params';
import { runKernels } from './helpers/gpu';

/** One field of each type, with a fifth so the struct needs padding past one 16-byte block. */
const MIXED = uniformStruct('Mixed', [
  ['a', 'u32', 'an unsigned word'],
  ['b', 'i32', 'a signed word'],
  ['c', 'f32', 'a float'],
  ['d', 'u32', 'another unsigned word'],
  ['e', 'f32', 'another float'],
] as const);

/** Field name and type pairs as the WGSL text declares them, in textual order. */
function declaredFields(wgsl: string): [string, string][] {
  return [...wgsl.matchAll(/^\s*(\w+)\s*:\s*(\w+)\s*,/gm)].map((m) => [m[1], m[2]]);
}

/**
 * A kernel that copies every field of a uniform struct into a u32 storage array, floats by their
 * bit pattern (bitcast), so the comparison with the encoded words is exact for every value.
 */
function copyFieldsKernel(struct: { name: string; wgsl: string; fields: readonly UniformField[] }): Kernel {
  const bindings = [uniform('params', struct.name), write('out', 'array<u32>')];
  const body = struct.fields.map(([n, t], i) => `  out[${i}] = ${t === 'u32' ? '' : 'bitcast<u32>'}(params.${n});`).join('\n');
  const code = `
${struct.wgsl}
${declareBindings(bindings)}

@compute @workgroup_size(1)
fn main() {
${body}
}`;
  return { name: `copy_${struct.name}`, code, bindings, workgroups: [1, 1, 1] };
}

/** Runs the copy kernel over `bytes` and returns the words the GPU read. */
async function gpuWords(struct: Parameters<typeof copyFieldsKernel>[0], bytes: ArrayBuffer): Promise<Uint32Array> {
  const { out } = await runKernels([copyFieldsKernel(struct)], { params: new Uint32Array(bytes) }, { out: struct.fields.length });
  return new Uint32Array(out.buffer, out.byteOffset, struct.fields.length);
}

describe('uniformStruct', () => {
  it('declares every field in order with its type', () => {
    expect(MIXED.wgsl.startsWith('struct Mixed {')).toBe(true);
    expect(MIXED.wgsl.trimEnd().endsWith('}')).toBe(true);
    expect(declaredFields(MIXED.wgsl)).toEqual(MIXED.fields.map(([n, t]) => [n, t]));
    // Each field's doc string rides along as a comment on its own line.
    for (const [n, , doc] of MIXED.fields) expect(MIXED.wgsl).toMatch(new RegExp(`^\\s*${n}: \\w+, *// ${doc}$`, 'm'));
  });

  it('rounds the byte size up to a multiple of 16 and puts field i at 4 i', () => {
    // 1..4 fields fit one 16-byte block, 5..8 need two, 9 needs three.
    for (const [count, bytes] of [[1, 16], [3, 16], [4, 16], [5, 32], [8, 32], [9, 48]]) {
      const fields = Array.from({ length: count }, (_, i) => [`f${i}`, 'u32', ''] as const);
      const s = uniformStruct(`S${count}`, fields);
      expect(s.bytes, `${count} fields`).toBe(bytes);
      fields.forEach(([n], i) => expect(s.offsetOf(n)).toBe(i * 4));
    }
    expect(MIXED.bytes).toBe(32);
    expect(MIXED.encode({ a: 1, b: 2, c: 3, d: 4, e: 5 }).byteLength).toBe(32);
  });

  it('rejects an unknown field in offsetOf', () => {
    expect(() => MIXED.offsetOf('z' as 'a')).toThrow(/Mixed has no field z/);
  });

  it('round-trips u32 (up to 2^32 - 1), negative i32 and exactly representable f32', () => {
    const cases = [
      { a: 0, b: 0, c: 0, d: 0, e: 0 },
      { a: 2 ** 32 - 1, b: -1, c: -0.5, d: 2 ** 31, e: 1 / 1024 },
      { a: 123456789, b: -(2 ** 31), c: 3.4028234663852886e38, d: 1, e: -1.401298464324817e-45 },
      { a: 7, b: 2 ** 31 - 1, c: 0.1875, d: 65536, e: 1e-3 },
    ];
    for (const values of cases) {
      // f32 fields come back as their f32 rounding: fround leaves the exact ones untouched and
      // makes the 1e-3 case a check of rounding rather than of identity.
      const expected = { ...values, c: Math.fround(values.c), e: Math.fround(values.e) };
      expect(MIXED.decode(MIXED.encode(values))).toEqual(expected);
    }
  });

  it('writes little-endian words at the offsets it reports', () => {
    const bytes = MIXED.encode({ a: 0x01020304, b: -2, c: 1.5, d: 9, e: -2 });
    const view = new DataView(bytes);
    expect(view.getUint32(MIXED.offsetOf('a'), true)).toBe(0x01020304);
    expect(view.getInt32(MIXED.offsetOf('b'), true)).toBe(-2);
    expect(view.getFloat32(MIXED.offsetOf('c'), true)).toBe(1.5);
    expect(view.getUint32(MIXED.offsetOf('d'), true)).toBe(9);
    expect(view.getFloat32(MIXED.offsetOf('e'), true)).toBe(-2);
    // The padding past the last field stays zero.
    expect(Array.from(new Uint8Array(bytes, 20))).toEqual(new Array(12).fill(0));
  });

  it('encodes into a caller-supplied buffer', () => {
    const out = new ArrayBuffer(MIXED.bytes);
    expect(MIXED.encode({ a: 1, b: -1, c: 2, d: 3, e: 4 }, out)).toBe(out);
    expect(MIXED.decode(out)).toEqual({ a: 1, b: -1, c: 2, d: 3, e: 4 });
  });

  it('throws on a missing or NaN field, naming it', () => {
    const { c: _dropped, ...missing } = { a: 1, b: 2, c: 3, d: 4, e: 5 };
    expect(() => MIXED.encode(missing as never)).toThrow(/Mixed\.c needs a number, got undefined/);
    expect(() => MIXED.encode({ a: 1, b: 2, c: 3, d: NaN, e: 5 })).toThrow(/Mixed\.d needs a number, got NaN/);
    // Non-numbers that would coerce quietly are refused too.
    expect(() => MIXED.encode({ a: 1, b: '2' as unknown as number, c: 3, d: 4, e: 5 })).toThrow(/Mixed\.b/);
  });

  it('throws on a duplicate field name', () => {
    expect(() => uniformStruct('Dup', [['x', 'u32', ''], ['y', 'f32', ''], ['x', 'f32', '']])).toThrow(/Dup declares a field twice/);
  });

  it('agrees with the GPU on the layout of a struct with all three types', async () => {
    const values = { a: 2 ** 32 - 1, b: -123456, c: -0.3125, d: 0xdeadbeef, e: 6.5e-5 };
    const bytes = MIXED.encode(values);
    expect(Array.from(await gpuWords(MIXED, bytes))).toEqual(Array.from(new Uint32Array(bytes, 0, MIXED.fields.length)));
  });
});

/** Every field non-default and distinct, so a field read from a neighbour's offset is caught. */
const DISTINCT: StepParams = {
  seed: 7 * 2 ** 32 + 123456789, counter: 11, batchStart: 12, validRows: 13, historySlot: 14, stream: STREAM.eval,
  datasetCount: 60000, lr: 0.00125, beta1: 0.8, beta2: 0.995, adamEps: 1e-7, step: 3, weightDecay: 0.0625,
  klWeight: 0.75, freeBits: 0.5, totalSamples: 5000, chunk: 19, noiseRows: 20, noiseRow0: 21, clipNorm: 2.25, klCapacity: 12.5,
};

describe('STEP_PARAMS', () => {
  it('declares its fields in WGSL in order, and every friendly parameter maps to one', () => {
    expect(declaredFields(STEP_PARAMS.wgsl)).toEqual(STEP_PARAMS.fields.map(([n, t]) => [n, t]));
    expect(STEP_PARAMS.bytes).toBe(Math.ceil((STEP_PARAMS.fields.length * 4) / 16) * 16);
    // encodeStepParams must fill every field (encode throws otherwise) for the defaults alone.
    expect(encodeStepParams({}).byteLength).toBe(STEP_PARAMS.bytes);
  });

  it('compiles on the GPU, which reads back every field exactly as encoded', async () => {
    const bytes = encodeStepParams(DISTINCT);
    const words = new Uint32Array(bytes, 0, STEP_PARAMS.fields.length);
    // The distinct values make every word differ, so a shifted read cannot pass by accident.
    expect(new Set(words).size).toBe(words.length);
    const got = await gpuWords(STEP_PARAMS, bytes);
    STEP_PARAMS.fields.forEach(([name], i) => {
      // `fields` is typed by the general field tuple (names are plain strings), so the name is
      // narrowed back to offsetOf's union here.
      const at = STEP_PARAMS.offsetOf(name as Parameters<typeof STEP_PARAMS.offsetOf>[0]);
      expect(got[i], `${name} (byte ${at})`).toBe(new DataView(bytes).getUint32(at, true));
    });
    // And the words decode to the values asked for.
    const decoded = STEP_PARAMS.decode(got.slice().buffer);
    expect(decoded.counter).toBe(11);
    expect(decoded.dataset_count).toBe(60000);
    expect(decoded.noise_row0).toBe(21);
    expect(decoded.lr).toBe(Math.fround(0.00125));
    expect(decoded.kl_weight).toBe(0.75);
    expect(decoded.kl_capacity).toBe(12.5);
    expect(decoded.adam_step, 'the t of the bias corrections').toBe(3);
  });
});

describe('encodeStepParams', () => {
  it('splits a seed above 2^32 into low and high words', () => {
    for (const [seed, lo, hi] of [
      [0, 0, 0],
      [2 ** 32 - 1, 2 ** 32 - 1, 0],
      [2 ** 32, 0, 1],
      [2 ** 32 + 5, 5, 1],
      [7 * 2 ** 32 + 123456789, 123456789, 7],
      [Number.MAX_SAFE_INTEGER, 2 ** 32 - 1, 2 ** 21 - 1],
    ]) {
      const d = STEP_PARAMS.decode(encodeStepParams({ seed }));
      expect([d.seed_lo, d.seed_hi], `seed ${seed}`).toEqual([lo, hi]);
      // The two words rebuild the seed.
      expect(d.seed_hi * 2 ** 32 + d.seed_lo).toBe(seed);
    }
  });

  it("computes Adam's bias corrections and 1 - beta from the float64 betas, as PyTorch", () => {
    for (const [beta1, beta2] of [[0.9, 0.999], [0.8, 0.995], [0.5, 0.75]]) {
      for (const step of [1, 2, 3, 10, 1000, 100000]) {
        const d = STEP_PARAMS.decode(encodeStepParams({ beta1, beta2, step }));
        expect(d.bias_c1, `c1 beta1=${beta1} t=${step}`).toBe(Math.fround(1 / (1 - beta1 ** step)));
        expect(d.bias_c2, `c2 beta2=${beta2} t=${step}`).toBe(Math.fround(1 / Math.sqrt(1 - beta2 ** step)));
        expect([d.beta1, d.beta2]).toEqual([Math.fround(beta1), Math.fround(beta2)]);
        expect([d.one_minus_beta1, d.one_minus_beta2]).toEqual([Math.fround(1 - beta1), Math.fround(1 - beta2)]);
        // The 64-bit fractions the GPU raises to the power t hold the float64 betas exactly.
        expect(d.beta1_frac_hi * 2 ** -32 + d.beta1_frac_lo * 2 ** -64, `beta1=${beta1}`).toBe(beta1);
        expect(d.beta2_frac_hi * 2 ** -32 + d.beta2_frac_lo * 2 ** -64, `beta2=${beta2}`).toBe(beta2);
      }
    }
    // It matters: 1 - f32(0.999) is 1.3e-5 (relative) away from 0.001, more than 200 f32 ulp, so
    // the f32 beta would give other words for 1 - beta2 and for c2 at t = 1.
    const d = STEP_PARAMS.decode(encodeStepParams({ beta2: 0.999, step: 1 }));
    expect(d.one_minus_beta2).not.toBe(Math.fround(1 - Math.fround(0.999)));
    expect(d.bias_c2).not.toBe(Math.fround(1 / Math.sqrt(1 - Math.fround(0.999))));
  });

  it('holds betas as 64-bit fractions exactly down to 2^-11, and truncates below', () => {
    for (const b of [0, 2 ** -11, 0.5, 1 - 2 ** -24, 1 - 2 ** -53, 0.1 + 2 ** -40]) {
      const [hi, lo] = fractionOf2To64(b);
      expect([Number.isInteger(hi) && hi >= 0 && hi < 2 ** 32, Number.isInteger(lo) && lo >= 0 && lo < 2 ** 32], `b = ${b}`).toEqual([true, true]);
      expect(hi * 2 ** -32 + lo * 2 ** -64, `b = ${b}`).toBe(b);
    }
    const tiny = 3 * 2 ** -70;
    expect(fractionOf2To64(tiny)).toEqual([0, 0]);
  });

  it('leaves the bias corrections at 1 at step 0', () => {
    const d = STEP_PARAMS.decode(encodeStepParams({ step: 0, beta1: 0.5, beta2: 0.5 }));
    expect([d.bias_c1, d.bias_c2]).toEqual([1, 1]);
    expect(STEP_PARAMS_DEFAULTS.step).toBe(0);
    const dd = STEP_PARAMS.decode(encodeStepParams({}));
    expect([dd.bias_c1, dd.bias_c2]).toEqual([1, 1]);
  });

  it('maps the friendly names onto the fields and fills the rest from the defaults', () => {
    const d = STEP_PARAMS.decode(encodeStepParams({ batchStart: 40, validRows: 33, historySlot: 2, noiseRows: 64 }));
    expect(d).toMatchObject({ batch_start: 40, valid_rows: 33, history_slot: 2, noise_rows: 64 });
    expect(d).toMatchObject({
      stream: STEP_PARAMS_DEFAULTS.stream, kl_weight: STEP_PARAMS_DEFAULTS.klWeight, total_samples: STEP_PARAMS_DEFAULTS.totalSamples,
      adam_eps: Math.fround(STEP_PARAMS_DEFAULTS.adamEps), counter: 0,
    });
  });

  it('throws naming the field when a parameter is NaN', () => {
    expect(() => encodeStepParams({ lr: NaN })).toThrow(/StepParams\.lr/);
    expect(() => encodeStepParams({ klWeight: NaN })).toThrow(/StepParams\.kl_weight/);
  });
});

describe('uniformStruct refuses values its fields cannot hold', () => {
  const s = uniformStruct('Ranges', [['a', 'u32', ''], ['b', 'i32', ''], ['c', 'f32', '']] as const);
  it('u32 and i32 out of range or fractional, and empty structs', () => {
    expect(() => s.encode({ a: -1, b: 0, c: 0 })).toThrow(/Ranges\.a is u32/);
    expect(() => s.encode({ a: 2 ** 32, b: 0, c: 0 })).toThrow(/Ranges\.a/);
    expect(() => s.encode({ a: 1.5, b: 0, c: 0 })).toThrow(/Ranges\.a/);
    expect(() => s.encode({ a: 0, b: 2 ** 31, c: 0 })).toThrow(/Ranges\.b is i32/);
    expect(() => s.encode({ a: 2 ** 32 - 1, b: -(2 ** 31), c: 1.5 })).not.toThrow();
    expect(() => uniformStruct('Empty', [])).toThrow(/no fields/);
  });
});
