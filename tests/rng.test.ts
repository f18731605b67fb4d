// Philox4x32-10: known-answer vectors, the seeded stream helpers, and the WGSL
// twin checked against the TS implementation on a real (or SwiftShader) device.
import { describe, expect, it } from 'vitest';
import { Philox, mulhi32, normalPair, philox4x32, seedToKey, uint32ToUnitFloat } from '../src/rng';
import { PHILOX_WGSL } from '../shaders/philox';
import { runCompute, testDevice } from './helpers/test-device';

const hex = (words: number[]) => words.map((w) => w.toString(16).padStart(8, '0')).join(' ');

describe('philox4x32 (CPU)', () => {
  // From Random123's kat_vectors, "philox4x32 10" lines.
  it('matches the Random123 known-answer vectors', () => {
    expect(hex(philox4x32([0, 0, 0, 0], [0, 0]))).toBe('6627e8d5 e169c58d bc57ac4c 9b00dbd8');
    const ones = 0xffffffff;
    expect(hex(philox4x32([ones, ones, ones, ones], [ones, ones]))).toBe('408f276d 41c83b0e a20bc7c6 6d5451fd');
    expect(hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]))).toBe(
      'd16cfe09 94fdcceb 5001e420 24126ea1',
    );
  });

  it('mulhi32 equals the BigInt reference', () => {
    const rng = new Philox(7);
    const cases: [number, number][] = [[0, 0], [0xffffffff, 0xffffffff], [0xffffffff, 1], [0x10000, 0x10000]];
    for (let i = 0; i < 2000; i++) cases.push([rng.nextU32(), rng.nextU32()]);
    for (const [a, b] of cases) {
      expect(mulhi32(a, b)).toBe(Number((BigInt(a) * BigInt(b)) >> 32n));
    }
  });

  it('uint32ToUnitFloat stays strictly inside (0, 1) and is an exact f32', () => {
    expect(uint32ToUnitFloat(0)).toBe(2 ** -24);
    expect(uint32ToUnitFloat(0xffffffff)).toBe(1 - 2 ** -24);
    const rng = new Philox(11);
    for (let i = 0; i < 1000; i++) {
      const x = uint32ToUnitFloat(rng.nextU32());
      expect(x).toBeGreaterThan(0);
      expect(x).toBeLessThan(1);
      expect(Math.fround(x)).toBe(x);
    }
  });

  it('normalPair agrees with double-precision Box-Muller to f32 accuracy', () => {
    const rng = new Philox(17);
    let maxErr = 0;
    for (let i = 0; i < 20000; i++) {
      const u0 = rng.nextU32();
      const u1 = rng.nextU32();
      const r = Math.sqrt(-2 * Math.log(uint32ToUnitFloat(u0)));
      const theta = 2 * Math.PI * uint32ToUnitFloat(u1);
      const [z0, z1] = normalPair(u0, u1);
      maxErr = Math.max(maxErr, Math.abs(z0 - r * Math.cos(theta)), Math.abs(z1 - r * Math.sin(theta)));
    }
    // A few f32 ULPs at |z| ~ 5 (one ULP there is 4.8e-7).
    expect(maxErr).toBeLessThan(3e-6);
  });

  it('normalPair handles the extreme inputs without NaN or Infinity', () => {
    for (const [u0, u1] of [[0, 0], [0xffffffff, 0xffffffff], [0, 0xffffffff]]) {
      for (const z of normalPair(u0, u1)) expect(Number.isFinite(z)).toBe(true);
    }
  });
});

describe('Philox stream', () => {
  it('splits the seed into key lo/hi and rejects unusable seeds', () => {
    expect(seedToKey(5)).toEqual([5, 0]);
    expect(seedToKey(2 ** 32 + 5)).toEqual([5, 1]);
    expect(() => seedToKey(-1)).toThrow(RangeError);
    expect(() => seedToKey(1.5)).toThrow(RangeError);
  });

  it('yields the philox blocks for counters 0, 1, ... in order', () => {
    const rng = new Philox(2 ** 33 + 3, 9);
    const key = seedToKey(2 ** 33 + 3);
    const expected = [...philox4x32([0, 0, 9, 0], key), ...philox4x32([1, 0, 9, 0], key)];
    expect(Array.from({ length: 8 }, () => rng.nextU32())).toEqual(expected);
  });

  it('reproduces everything from the same seed and differs across seeds/streams', () => {
    const draw = (r: Philox) => [r.nextU32(), r.nextFloat(), r.nextNormal(), r.uniform(-3, 2), ...r.permutation(20)];
    expect(draw(new Philox(42))).toEqual(draw(new Philox(42)));
    expect(draw(new Philox(42))).not.toEqual(draw(new Philox(43)));
    expect(draw(new Philox(42, 1))).not.toEqual(draw(new Philox(42, 0)));
  });

  it('keeps nextFloat in [0, 1) and uniform in [lo, hi)', () => {
    const rng = new Philox(3);
    for (let i = 0; i < 5000; i++) {
      const x = rng.nextFloat();
      expect(x >= 0 && x < 1).toBe(true);
      const y = rng.uniform(-2, 5);
      expect(y >= -2 && y < 5).toBe(true);
    }
  });

  it('permutation is a permutation and shuffle works in place on plain arrays', () => {
    const rng = new Philox(5);
    const p = rng.permutation(1000);
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const arr = ['a', 'b', 'c', 'd', 'e'];
    expect(rng.shuffle(arr)).toBe(arr);
    expect([...arr].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('nextInt is unbiased (chi-square on a bound that does not divide 2^32)', () => {
    const rng = new Philox(99);
    const n = 7;
    const draws = 70000;
    const counts = new Array<number>(n).fill(0);
    for (let i = 0; i < draws; i++) counts[rng.nextInt(n)]++;
    const expected = draws / n;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // 6 degrees of freedom: P(chi2 > 22.46) = 0.001.
    expect(chi2).toBeLessThan(22.46);
  });

  it('nextInt rejects the top quarter for a bound of 3 * 2^30 and stays uniform', () => {
    // With n = 3 * 2^30, u % n maps [3 * 2^30, 2^32) onto [0, 2^30) a second time: without the
    // rejection loop the lowest third would come up half of the time instead of a third. The
    // loop must run for about a quarter of the draws (P(u >= 3 * 2^30) = 1/4).
    const rng = new Philox(7);
    let words = 0;
    const next = rng.nextU32.bind(rng);
    rng.nextU32 = () => (words++, next());
    const n = 3 * 2 ** 30, draws = 30000;
    const thirds = [0, 0, 0];
    for (let i = 0; i < draws; i++) thirds[Math.floor(rng.nextInt(n) / 2 ** 30)]++;
    const rejected = words - draws;
    // Rejections ~ Binomial(words, 1/4): within 5 standard deviations of words / 4.
    expect(Math.abs(rejected - words / 4)).toBeLessThan(5 * Math.sqrt(words * 0.25 * 0.75));
    const expected = draws / 3;
    const chi2 = thirds.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // 2 degrees of freedom: P(chi2 > 13.82) = 0.001. A biased draw gives chi2 in the thousands.
    expect(chi2).toBeLessThan(13.82);
  });

  it('every position of a shuffled 3-array is roughly uniform over 6 orders', () => {
    const rng = new Philox(1234);
    const counts = new Map<string, number>();
    const trials = 60000;
    for (let i = 0; i < trials; i++) {
      const key = rng.shuffle([0, 1, 2]).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    const expected = trials / 6;
    const chi2 = [...counts.values()].reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // 5 degrees of freedom: P(chi2 > 20.52) = 0.001.
    expect(chi2).toBeLessThan(20.52);
  });
});

describe('PHILOX_WGSL on the GPU', () => {
  it('is bit-exact with philox4x32 and uint32ToUnitFloat for many counters and keys', async () => {
    const device = await testDevice();
    const n = 4096;
    // Per item: counter (4 words), key (2 words), 2 words of padding.
    const input = new Uint32Array(n * 8);
    const rng = new Philox(2024);
    const special = [0, 1, 0xffffffff, 0x80000000, 0xffff, 0x10000];
    for (let i = 0; i < n; i++) {
      for (let w = 0; w < 6; w++) {
        // Mix edge values into the first items so carries and wrap-around are hit.
        input[i * 8 + w] = i < 64 ? special[(i + w * 3) % special.length] : rng.nextU32();
      }
    }
    const code = `${PHILOX_WGSL}
struct Item { ctr: vec4<u32>, key: vec4<u32> }
@group(0) @binding(0) var<storage, read> items: array<Item>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<u32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= arrayLength(&items)) { return; }
  let r = philox4x32(items[i].ctr, items[i].key.xy);
  out[2u * i] = r;
  out[2u * i + 1u] = vec4<u32>(bitcast<u32>(u32_to_unit_f32(r.x)), bitcast<u32>(u32_to_unit_f32(r.y)),
                               bitcast<u32>(u32_to_unit_f32(r.z)), bitcast<u32>(u32_to_unit_f32(r.w)));
}`;
    const out = new Uint32Array(
      await runCompute(device, code, [{ binding: 0, data: input, readonly: true }], 1, n * 32, [n / 64, 1, 1]),
    );
    const floatBits = new Uint32Array(1);
    const asF32 = new Float32Array(floatBits.buffer);
    let mismatches = 0;
    for (let i = 0; i < n; i++) {
      const ctr = Array.from(input.subarray(i * 8, i * 8 + 4));
      const key = Array.from(input.subarray(i * 8 + 4, i * 8 + 6));
      const want = philox4x32(ctr, key);
      for (let w = 0; w < 4; w++) {
        if (out[i * 8 + w] !== want[w]) mismatches++;
        asF32[0] = uint32ToUnitFloat(want[w]);
        if (out[i * 8 + 4 + w] !== floatBits[0]) mismatches++;
      }
    }
    expect(mismatches).toBe(0);
  });

  it('box_muller matches normalPair and 1e6 normals have mean 0 and variance 1', async () => {
    const device = await testDevice();
    const total = 1_000_000;
    const threads = total / 4;
    const key = seedToKey(987654321);
    const params = new Uint32Array([key[0], key[1], threads, 0]);
    const code = `${PHILOX_WGSL}
struct Params { key: vec2<u32>, n: u32, pad: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= params.n) { return; }
  let r = philox4x32(vec4<u32>(i, 0u, 0u, 0u), params.key);
  out[i] = vec4<f32>(box_muller(r.x, r.y), box_muller(r.z, r.w));
}`;
    const gpu = new Float32Array(
      await runCompute(device, code, [{ binding: 0, data: params, uniform: true }], 1, total * 4, [
        Math.ceil(threads / 64),
        1,
        1,
      ]),
    );

    let maxErr = 0;
    for (let i = 0; i < threads; i++) {
      const r = philox4x32([i, 0, 0, 0], key);
      const [a, b] = normalPair(r[0], r[1]);
      const [c, d] = normalPair(r[2], r[3]);
      const base = i * 4;
      maxErr = Math.max(
        maxErr,
        Math.abs(gpu[base] - a),
        Math.abs(gpu[base + 1] - b),
        Math.abs(gpu[base + 2] - c),
        Math.abs(gpu[base + 3] - d),
      );
    }
    expect(maxErr).toBeLessThan(1e-5);

    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < total; i++) {
      sum += gpu[i];
      sumSq += gpu[i] * gpu[i];
    }
    const mean = sum / total;
    const variance = sumSq / total - mean * mean;
    // Standard errors for N(0,1) samples: mean 1/sqrt(n), variance sqrt(2/n).
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(total));
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / total));
  }, 120_000);
});
