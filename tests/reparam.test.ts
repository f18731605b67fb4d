// The sampler kernels (shaders/reparam.ts) against float64 references: the Philox noise against
// its TypeScript twin (src/noise.ts) under the batch and dataset numberings, z = mu + sigma eps,
// the backward pass dq = dq_direct + chain rule (with and without the objective's dz_direct),
// the prior sampler, and all of it for the model's posterior layout and for a different one, so
// the kernels are seen to take the layout from their parameters.
import { describe, expect, it } from 'vitest';
import { priorSample, reparamBackward, reparamForward, type PosteriorLayout } from '../shaders/reparam';
import { noiseAt } from '../src/noise';
import { encodeStepParams, STREAM, type StepParams } from '../src/step-params';
import { expectClose, expectScaled, f32, mismatches, scaledMismatches, testData } from './helpers/compare';
import { gpu, runKernels, UNWRITTEN } from './helpers/gpu';
import { objectiveThroughSamplerRef } from './reference/objectives';
import {
  batchNoiseRef, LAYOUTS, logvarAt, muAt, mulvLayout, mulvToQ, noiseRef, offsetLayout, qToMulv, reparamForwardRef, sampleIndex, samplerLossRef, SENTINEL,
  type LayoutName, type ReparamDims,
} from './reference/reparam';

// A seed above 2^32, so both Philox key words matter.
const SEED = 2 ** 33 + 12345;
/** Tolerance of GPU normals against the twin: exact on SwiftShader, a few ULP elsewhere. */
const NOISE_TOL = { atol: 2e-6, rtol: 0 };
/** Spare elements past each output, which must stay zero (bounds checks). */
const PAD = 4;

/** The uniform for `p` on top of SEED; fields left undefined keep their defaults. */
function params(p: Partial<StepParams>): Uint32Array {
  const given = Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined));
  return new Uint32Array(encodeStepParams({ seed: SEED, ...given }));
}


async function isSwiftShader(): Promise<boolean> {
  const { device } = await gpu();
  return device.adapterInfo?.architecture === 'swiftshader';
}

/** The GPU eps must be the twin's noise: within NOISE_TOL everywhere, and bit-exact on SwiftShader. */
async function expectTwinNoise(got: ArrayLike<number>, twin: ArrayLike<number>, label: string) {
  expectClose(got, twin, NOISE_TOL, label);
  if (await isSwiftShader()) {
    const differing = Array.from(got).flatMap((v, i) => (v === twin[i] ? [] : [`[${i}] ${v} != ${twin[i]}`]));
    expect(differing.slice(0, 8), `${label}: ${differing.length} values not bit-exact on SwiftShader`).toEqual([]);
  }
}

function expectPadding(v: Float32Array, count: number, label: string) {
  expect(Array.from(v.subarray(count)), `${label}: past the end`).toEqual(new Array(v.length - count).fill(UNWRITTEN));
}

/** mulv [B, 2Z]: mu in [-3, 3], logvar in [-4, 4], with logvar -30 at the first and +30 at the last element. */
function makeMulv(d: ReparamDims, seed: number): Float64Array {
  const Z = d.latent;
  const mulv = f32(testData(d.batch * 2 * Z, seed, -3, 3));
  for (let b = 0; b < d.batch; b++) for (let j = 0; j < Z; j++) mulv[b * 2 * Z + Z + j] = Math.fround(mulv[b * 2 * Z + Z + j] * (4 / 3));
  mulv[2 * Z * d.batch - 1] = 30;
  if (d.batch * Z > 1) mulv[Z] = -30;
  return mulv;
}

/** The posterior tensor in `layout`, SENTINEL in the columns that are neither mu nor logvar. */
const makeQ = (mulv: ArrayLike<number>, B: number, layout: PosteriorLayout) => mulvToQ(mulv, B, layout, new Float64Array(B * layout.stride).fill(SENTINEL));

/**
 * WGSL's exp(x) is accurate to 3 + 2|x| ULP, so sigma = exp(lv / 2) carries a relative error
 * growing with |lv|: terms with sigma in them are given that much more room.
 */
const expAllowance = (lv: number) => 1 + Math.abs(lv) / 8;

/** |mu| + sigma |eps|: the size of the terms summed into z. */
function zScale(mulv: ArrayLike<number>, eps: ArrayLike<number>, d: ReparamDims): Float64Array {
  const s = new Float64Array(d.samples * d.batch * d.latent);
  for (let l = 0; l < d.samples; l++) {
    for (let b = 0; b < d.batch; b++) {
      for (let j = 0; j < d.latent; j++) {
        const e = sampleIndex(d, l, b, j);
        const lv = logvarAt(mulv, d, b, j);
        s[e] = Math.abs(muAt(mulv, d, b, j)) + Math.exp(0.5 * lv) * Math.abs(eps[e]) * expAllowance(lv);
      }
    }
  }
  return s;
}

/** Magnitudes of the terms summed into each dmulv entry. */
function gradScale(mulv: ArrayLike<number>, eps: ArrayLike<number>, dz: ArrayLike<number>, dmulvDirect: ArrayLike<number>, d: ReparamDims) {
  const Z = d.latent, s = new Float64Array(d.batch * 2 * Z);
  for (let b = 0; b < d.batch; b++) {
    for (let j = 0; j < Z; j++) {
      const lv = logvarAt(mulv, d, b, j), sigma = Math.exp(0.5 * lv) * expAllowance(lv);
      let smu = Math.abs(dmulvDirect[b * 2 * Z + j]), slv = Math.abs(dmulvDirect[b * 2 * Z + Z + j]);
      for (let l = 0; l < d.samples; l++) {
        const e = sampleIndex(d, l, b, j);
        smu += Math.abs(dz[e]);
        slv += Math.abs(dz[e] * eps[e]) * 0.5 * sigma;
      }
      s[b * 2 * Z + j] = smu;
      s[b * 2 * Z + Z + j] = slv;
    }
  }
  return s;
}

interface ForwardCase extends ReparamDims { layout: LayoutName; noiseRows?: number; noiseRow0?: number }

const forwardCases: ForwardCase[] = [
  { batch: 1, latent: 1, samples: 1, layout: 'model' },
  { batch: 7, latent: 3, samples: 3, layout: 'offset' },
  { batch: 6, latent: 7, samples: 2, layout: 'model', noiseRows: 50, noiseRow0: 0 },
  { batch: 33, latent: 5, samples: 1, layout: 'offset', noiseRows: 100, noiseRow0: 40 },
  { batch: 129, latent: 20, samples: 3, layout: 'model', noiseRows: 300, noiseRow0: 129 },
];

describe('reparamForward', () => {
  forwardCases.forEach((c, ci) => {
    it(`B=${c.batch} Z=${c.latent} L=${c.samples} ${c.layout} layout, noise rows ${c.noiseRows ?? 0} from ${c.noiseRow0 ?? 0}`, async () => {
      const d: ReparamDims = c;
      const layout = LAYOUTS[c.layout](c.latent);
      const n = c.samples * c.batch * c.latent;
      const counter = 11 + ci;
      const mulv = makeMulv(d, 100 + ci);
      const k = reparamForward({ batch: c.batch, samples: c.samples, layout });
      expect(k.name).toBe('reparam_forward');
      expect(k.bindings.map((b) => b.name)).toEqual(['params', 'q', 'z', 'eps']);
      const out = await runKernels(
        [k],
        { params: params({ counter, noiseRows: c.noiseRows, noiseRow0: c.noiseRow0 }), q: makeQ(mulv, c.batch, layout) },
        { z: n + PAD, eps: n + PAD },
      );
      expectPadding(out.z, n, 'z');
      expectPadding(out.eps, n, 'eps');
      const twin = batchNoiseRef(d, { seed: SEED, counter, stream: STREAM.train, noiseRows: c.noiseRows, noiseRow0: c.noiseRow0 });
      await expectTwinNoise(out.eps.subarray(0, n), twin, 'eps vs noiseAt');
      // z from the GPU's own eps, so the noise tolerance does not leak into it.
      const eps = f32(out.eps.subarray(0, n));
      expectScaled(out.z.subarray(0, n), reparamForwardRef(mulv, eps, d).z, zScale(mulv, eps, d), 2e-6, 'z');
    });
  });

  it('a dataset split into batches draws the noise of the whole dataset (noise_rows, noise_row0)', async () => {
    // 10 examples, L = 3, in batches of 6: the second batch holds examples 6..9 and 2 padding rows.
    const N = 10, B = 6, Z = 3, L = 3, layout = offsetLayout(Z);
    const whole = await runKernels(
      [reparamForward({ batch: N, samples: L, layout })],
      { params: params({ counter: 7, stream: STREAM.eval, noiseRows: N }), q: makeQ(makeMulv({ batch: N, latent: Z, samples: L }, 1), N, layout) },
      { z: L * N * Z, eps: L * N * Z },
    );
    const kB = reparamForward({ batch: B, samples: L, layout });
    const qB = makeQ(makeMulv({ batch: B, latent: Z, samples: L }, 2), B, layout);
    const parts = [];
    for (const row0 of [0, 6]) {
      parts.push(await runKernels([kB], { params: params({ counter: 7, stream: STREAM.eval, noiseRows: N, noiseRow0: row0, validRows: Math.min(B, N - row0) }), q: qB }, { z: L * B * Z, eps: L * B * Z }));
    }
    for (let l = 0; l < L; l++) {
      for (let i = 0; i < N; i++) {
        const part = parts[Math.floor(i / B)], b = i % B;
        const got = Array.from(part.eps.subarray((l * B + b) * Z, (l * B + b + 1) * Z));
        expect(got, `sample ${l} of example ${i}`).toEqual(Array.from(whole.eps.subarray((l * N + i) * Z, (l * N + i + 1) * Z)));
      }
    }
    // With the default numbering (noise_rows 0) the batches would repeat each other's noise instead.
    const own = await runKernels([kB], { params: params({ counter: 7, stream: STREAM.eval, noiseRow0: 6 }), q: qB }, { z: L * B * Z, eps: L * B * Z });
    expect(Array.from(own.eps.subarray(B * Z, 2 * B * Z))).not.toEqual(Array.from(parts[1].eps.subarray(B * Z, 2 * B * Z)));
    await expectTwinNoise(own.eps, batchNoiseRef({ batch: B, latent: Z, samples: L }, { seed: SEED, counter: 7, stream: STREAM.eval, noiseRow0: 6 }), 'noise_rows 0 means B');
  });

  it('numbers draws past 2^32 in 64 bits: sample 1 of a set of 2^31 rows does not repeat earlier noise', async () => {
    // L = 2 over noise_rows 2^31 at Z = 3: sample 1 of row b is element (2^31 + b) * 3 + j, past 2^32.
    const B = 2, Z = 3, L = 2, layout = offsetLayout(Z), numbering = { seed: SEED, counter: 3, stream: STREAM.eval, noiseRows: 2 ** 31 };
    const { eps } = await runKernels(
      [reparamForward({ batch: B, samples: L, layout })],
      { params: params({ counter: 3, stream: STREAM.eval, noiseRows: 2 ** 31 }), q: makeQ(makeMulv({ batch: B, latent: Z, samples: L }, 3), B, layout) },
      { z: L * B * Z, eps: L * B * Z },
    );
    await expectTwinNoise(eps, batchNoiseRef({ batch: B, latent: Z, samples: L }, numbering), 'eps vs noiseAt past 2^32');
    // Wrapped at 2^32, sample 1 would draw elements (2^31 + b) * 3 + j - 2^32 = 2^31 + 3b + j instead.
    const wrapped = Array.from({ length: B * Z }, (_, e) => Math.fround(noiseAt(2 ** 31 + e, SEED, 3, STREAM.eval)));
    expect(Array.from(eps.subarray(B * Z))).not.toEqual(wrapped);
  });

  for (const layoutName of ['model', 'offset'] as const) {
    it(`meanOnly (${layoutName} layout): z = mu for every sample, eps untouched`, async () => {
      const d: ReparamDims = { batch: 7, latent: 3, samples: 3 };
      const layout = LAYOUTS[layoutName](d.latent);
      const n = 3 * 7 * 3;
      const mulv = makeMulv(d, 5);
      const sentinel = new Float32Array(n).fill(SENTINEL);
      const k = reparamForward({ batch: d.batch, samples: d.samples, layout, meanOnly: true });
      expect(k.name).toBe('reparam_forward_mean');
      const out = await runKernels([k], { params: params({ counter: 3 }), q: makeQ(mulv, d.batch, layout), eps: sentinel }, { z: n + PAD });
      expect(Array.from(out.z.subarray(0, n))).toEqual(Array.from(reparamForwardRef(mulv, sentinel, d, true).z));
      expectPadding(out.z, n, 'z');
      expect(Array.from(out.eps)).toEqual(Array.from(sentinel));
    });
  }

  it('extreme logvar (+-30 to +-80) and mu (+-30): z finite and matching', async () => {
    const d: ReparamDims = { batch: 7, latent: 3, samples: 3 };
    const Z = d.latent, n = 3 * 7 * 3, layout = offsetLayout(Z);
    const lvs = [80, -80, 60, -60, 30, -30, 0], mus = [30, -30, 0];
    const mulv = new Float64Array(7 * 2 * Z);
    for (let b = 0; b < 7; b++) {
      for (let j = 0; j < Z; j++) {
        mulv[b * 2 * Z + j] = mus[(b + j) % 3];
        mulv[b * 2 * Z + Z + j] = lvs[(3 * b + j) % 7];
      }
    }
    const out = await runKernels([reparamForward({ batch: 7, samples: 3, layout })], { params: params({ counter: 99, stream: STREAM.eval }), q: makeQ(mulv, 7, layout) }, { z: n, eps: n });
    await expectTwinNoise(out.eps, noiseRef(n, SEED, 99, STREAM.eval), 'eps vs noiseAt (eval stream)');
    const eps = f32(out.eps);
    const ref = reparamForwardRef(mulv, eps, d).z;
    expect(ref.every(Number.isFinite)).toBe(true);
    expectScaled(out.z, ref, zScale(mulv, eps, d), 2e-6, 'z');
  });

  it('draws fresh noise for a new counter, stream or seed', async () => {
    const d: ReparamDims = { batch: 7, latent: 2, samples: 3 };
    const n = 42, layout = mulvLayout(2);
    const q = makeQ(makeMulv(d, 1), 7, layout);
    const k = reparamForward({ batch: 7, samples: 3, layout });
    const run = (p: Partial<StepParams>) => runKernels([k], { params: params(p), q }, { z: n, eps: n }).then((o) => o.eps);
    const base = await run({ counter: 5 });
    const others = [await run({ counter: 6 }), await run({ counter: 5, stream: STREAM.eval }), await run({ counter: 5, seed: 12345 })];
    for (const other of others) expect(Array.from(base).filter((v, i) => v === other[i]).length).toBe(0);
    await expectTwinNoise(others[2], noiseRef(n, 12345, 5, STREAM.train), 'eps vs noiseAt (seed below 2^32)');
  });
});

interface BackwardCase extends ReparamDims { layout: LayoutName; directZ: boolean }

const backwardCases: BackwardCase[] = [
  { batch: 1, latent: 1, samples: 1, layout: 'model', directZ: false },
  { batch: 7, latent: 3, samples: 3, layout: 'offset', directZ: false },
  { batch: 7, latent: 3, samples: 3, layout: 'offset', directZ: true },
  { batch: 33, latent: 5, samples: 1, layout: 'model', directZ: true },
  { batch: 129, latent: 20, samples: 3, layout: 'model', directZ: false },
  { batch: 65, latent: 6, samples: 5, layout: 'offset', directZ: true },
];

/** Runs forward then backward in one pass; returns the GPU's eps and dq and the float64 dq in layout. */
async function runBackward(c: BackwardCase, seed: number, mulv: Float64Array) {
  const d: ReparamDims = c;
  const layout = LAYOUTS[c.layout](c.latent);
  const n = c.samples * c.batch * c.latent, qSize = c.batch * layout.stride;
  const dz = f32(testData(n, seed + 1, -1, 1));
  const dzDirect = c.directZ ? f32(testData(n, seed + 2, -1, 1)) : undefined;
  // The objective's own gradient: values at mu and logvar, something else in the other columns.
  const dqDirectMulv = f32(testData(c.batch * 2 * c.latent, seed + 3, -0.5, 0.5));
  const dqDirect = mulvToQ(dqDirectMulv, c.batch, layout, testData(qSize, seed + 4, 100, 200));
  const fwd = reparamForward({ batch: c.batch, samples: c.samples, layout });
  const bwd = reparamBackward({ batch: c.batch, samples: c.samples, layout, directZ: c.directZ });
  expect(bwd.name).toBe(c.directZ ? 'reparam_backward_direct_z' : 'reparam_backward');
  expect(bwd.bindings.map((b) => b.name)).toEqual(['params', 'q', 'eps', 'dz', 'dq_direct', ...(c.directZ ? ['dz_direct'] : []), 'dq']);
  const out = await runKernels(
    [fwd, bwd],
    { params: params({ counter: seed }), q: makeQ(mulv, c.batch, layout), dz, dq_direct: dqDirect, ...(dzDirect ? { dz_direct: dzDirect } : {}), dq: new Float32Array(qSize + PAD).fill(SENTINEL) },
    { z: n, eps: n },
  );
  await expectTwinNoise(out.eps, batchNoiseRef(d, { seed: SEED, counter: seed, stream: STREAM.train }), 'eps vs noiseAt');
  const eps = f32(out.eps);
  const through = { batch: c.batch, samples: c.samples, latent: c.latent, mulv, eps, dmulvDirect: dqDirectMulv, dzDec: dz, dzDirect };
  const ref = objectiveThroughSamplerRef(through);
  const dzAll = dzDirect ? dz.map((v, i) => v + dzDirect[i]) : dz;
  const scale = mulvToQ(gradScale(mulv, eps, dzAll, dqDirectMulv, d), c.batch, layout);
  const refQ = mulvToQ(ref, c.batch, layout, new Float64Array(qSize).fill(SENTINEL));
  return { out, refQ, scale, through, layout, qSize };
}

describe('reparamBackward', () => {
  backwardCases.forEach((c, ci) => {
    it(`B=${c.batch} Z=${c.latent} L=${c.samples} ${c.layout} layout${c.directZ ? ' with dz_direct' : ''}`, async () => {
      const mulv = makeMulv(c, 300 + ci);
      const { out, refQ, scale, qSize } = await runBackward(c, 20 + 10 * ci, mulv);
      // Only the mu and logvar columns are written: the sentinel survives elsewhere.
      expectScaled(out.dq.subarray(0, qSize), refQ, scale, 1e-5, 'dq');
      expect(Array.from(out.dq.subarray(qSize))).toEqual(new Array(PAD).fill(SENTINEL));
    });
  });

  it('extreme logvar (+-30 to +-80): dq finite and matching', async () => {
    const c: BackwardCase = { batch: 7, latent: 3, samples: 3, layout: 'offset', directZ: true };
    const Z = 3, lvs = [80, -80, 60, -60, 30, -30, 0];
    const mulv = f32(testData(7 * 2 * Z, 9, -30, 30));
    for (let b = 0; b < 7; b++) for (let j = 0; j < Z; j++) mulv[b * 2 * Z + Z + j] = lvs[(3 * b + j) % 7];
    const { out, refQ, scale, qSize } = await runBackward(c, 70, mulv);
    expect(refQ.every(Number.isFinite)).toBe(true);
    expectScaled(out.dq.subarray(0, qSize), refQ, scale, 1e-5, 'dq');
  });

  it('negative control: the reference without dz_direct does not match a kernel that adds it', async () => {
    const c: BackwardCase = { batch: 7, latent: 3, samples: 3, layout: 'offset', directZ: true };
    const { out, refQ, scale, through, layout, qSize } = await runBackward(c, 80, makeMulv(c, 81));
    expect(scaledMismatches(out.dq.subarray(0, qSize), refQ, scale, 1e-5)).toEqual([]);
    const without = mulvToQ(objectiveThroughSamplerRef({ ...through, dzDirect: undefined }), c.batch, layout, new Float64Array(qSize).fill(SENTINEL));
    expect(scaledMismatches(out.dq.subarray(0, qSize), without, scale, 1e-5).length).toBeGreaterThan(0);
  });
});

describe('sampler reference (float64 finite differences)', () => {
  const d: ReparamDims = { batch: 4, latent: 3, samples: 2 };
  const mulv = testData(4 * 6, 1, -2, 2);
  const eps = testData(24, 2, -2, 2);
  const dz = testData(24, 3, -1, 1);
  const dzDirect = testData(24, 4, -1, 1);
  const dmulvDirect = testData(4 * 6, 5, -0.5, 0.5);
  const h = 1e-5;
  const fd = (withDirect: boolean) => Array.from(mulv, (_, i) => {
    const plus = Float64Array.from(mulv), minus = Float64Array.from(mulv);
    plus[i] += h;
    minus[i] -= h;
    const dd = withDirect ? dzDirect : undefined;
    return (samplerLossRef(plus, eps, d, dmulvDirect, dz, dd) - samplerLossRef(minus, eps, d, dmulvDirect, dz, dd)) / (2 * h);
  });
  const through = { batch: 4, samples: 2, latent: 3, mulv, eps, dmulvDirect, dzDec: dz };

  for (const withDirect of [false, true]) {
    it(`objectiveThroughSamplerRef is the gradient of samplerLossRef${withDirect ? ' with dz_direct' : ''}`, () => {
      const analytic = objectiveThroughSamplerRef({ ...through, dzDirect: withDirect ? dzDirect : undefined });
      expectClose(fd(withDirect), analytic, { atol: 1e-8, rtol: 1e-7 }, 'finite differences vs objectiveThroughSamplerRef');
    });
  }

  it('negative control: a chain rule without the 1/2 on logvar is detected', () => {
    // Doubling eps doubles only the logvar part: dz eps sigma instead of dz eps sigma / 2.
    const wrong = objectiveThroughSamplerRef({ ...through, eps: eps.map((v) => 2 * v) });
    expect(mismatches(fd(false), wrong, { atol: 1e-8, rtol: 1e-7 }).length).toBeGreaterThan(0);
  });

  it('qToMulv and mulvToQ are inverse for the offset layout', () => {
    const layout = offsetLayout(3);
    const q = mulvToQ(mulv, 4, layout);
    expect(Array.from(qToMulv(q, 4, layout))).toEqual(Array.from(mulv));
    expect(q[layout.logvar]).toBe(mulv[3]);
    expect(q[layout.mu]).toBe(mulv[0]);
  });
});

describe('priorSample', () => {
  it('2e5 draws match noiseAt on the prior stream, numbered from noise_row0 * latent, and look standard normal', async () => {
    const latent = 5, rows = 40_001, count = rows * latent, row0 = 7;
    const k = priorSample({ count, latent });
    expect(k.bindings.map((b) => b.name)).toEqual(['params', 'z']);
    const { z } = await runKernels([k], { params: params({ counter: 4, stream: STREAM.prior, noiseRow0: row0 }) }, { z: count + PAD });
    expectPadding(z, count, 'z');
    const draws = z.subarray(0, count);
    const twin = Float64Array.from({ length: count }, (_, e) => noiseAt(row0 * latent + e, SEED, 4, STREAM.prior));
    await expectTwinNoise(draws, twin, 'prior vs noiseAt');
    let sum = 0, sumSq = 0;
    for (const v of draws) { sum += v; sumSq += v * v; }
    const mean = sum / count, variance = sumSq / count - mean * mean;
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(count));
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / count));
  });

  it('draws across 2^32 carry into the high word, matching noiseAt and not the draws 2^32 before them', async () => {
    // noise_row0 * latent = 2^32 - 1: the six draws are elements 2^32 - 1 .. 2^32 + 4, across the carry.
    const latent = 3, rows = 2, row0 = (2 ** 32 - 1) / 3, first = row0 * latent;
    const { z } = await runKernels([priorSample({ count: rows * latent, latent })], { params: params({ counter: 2, stream: STREAM.prior, noiseRow0: row0 }) }, { z: rows * latent });
    const twin = Array.from({ length: rows * latent }, (_, e) => noiseAt(first + e, SEED, 2, STREAM.prior));
    await expectTwinNoise(z, twin, 'prior vs noiseAt across 2^32');
    const before = Array.from({ length: rows * latent - 1 }, (_, e) => Math.fround(noiseAt(e, SEED, 2, STREAM.prior)));
    expect(Array.from(z.subarray(1))).not.toEqual(before);
  });

  it('covers more than 65535 workgroups through the 2-D grid', async () => {
    const count = 65535 * 64 + 1000;
    const k = priorSample({ count, latent: 8 });
    expect(k.workgroups[1]).toBeGreaterThan(1);
    const { z } = await runKernels([k], { params: params({ counter: 1, stream: STREAM.prior }) }, { z: count + PAD });
    expectPadding(z, count, 'z');
    // A normal draw is never exactly 0, so a zero marks an element no invocation wrote.
    let zeros = 0;
    for (let i = 0; i < count; i++) if (z[i] === 0) zeros++;
    expect(zeros).toBe(0);
    // Spot-check the twin around the start of the second grid row and at the end.
    const rowStart = k.workgroups[0] * 64;
    const idx = [0, 1, rowStart - 2, rowStart - 1, rowStart, rowStart + 1, count - 2, count - 1];
    expectClose(idx.map((i) => z[i]), idx.map((i) => noiseAt(i, SEED, 1, STREAM.prior)), NOISE_TOL, 'prior vs noiseAt (2-D grid)');
  });
});
