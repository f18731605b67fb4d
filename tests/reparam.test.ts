// Reparameterized sampling (shaders/reparam.ts) against float64 references: the Philox noise
// against its TypeScript twin (src/noise.ts), z and the closed-form KL, the backward pass with the
// KL gradient on valid rows only, and the prior sampler's distribution.
import { describe, expect, it } from 'vitest';
import { bindKernel } from '../shaders/common';
import { priorSample, reparamBackward, reparamForward } from '../shaders/reparam';
import { noiseAt } from '../src/noise';
import { encodeStepParams, STREAM, type StepParams } from '../src/step-params';
import { expectClose, f32, testData } from './helpers/compare';
import { gpu, runKernels } from './helpers/gpu';
import {
  klTermRef, logvarAt, muAt, noiseRef, reparamBackwardRef, reparamForwardRef, reparamLossRef, sampleIndex, type ReparamDims,
} from './reference/reparam';

// A seed above 2^32, so both Philox key words matter.
const SEED = 2 ** 33 + 12345;
/** Tolerance of GPU normals against the twin: exact on SwiftShader, a few ULP elsewhere. */
const NOISE_TOL = { atol: 2e-6, rtol: 0 };

function params(p: Partial<StepParams>): Uint32Array {
  return new Uint32Array(encodeStepParams({
    seed: SEED, counter: 0, batchStart: 0, validRows: 0, historySlot: 0, stream: STREAM.train, datasetCount: 0,
    lr: 0, beta1: 0.9, beta2: 0.999, adamEps: 1e-8, step: 0, weightDecay: 0, klBeta: 1, ...p,
  }));
}

async function isSwiftShader(): Promise<boolean> {
  const { device } = await gpu();
  return device.adapterInfo?.architecture === 'swiftshader';
}

/** Compares got/scale with ref/scale, i.e. |got - ref| <= tol * scale element-wise. */
function expectScaled(got: ArrayLike<number>, ref: ArrayLike<number>, scale: ArrayLike<number>, tol: number, label: string) {
  const s = (i: number) => scale[i] || 1;
  expectClose(Array.from(got, (v, i) => v / s(i)), Array.from(ref, (v, i) => v / s(i)), { atol: tol, rtol: 0 }, label);
}

/** The GPU eps must be the twin's noise: within NOISE_TOL everywhere, and bit-exact on SwiftShader. */
async function expectTwinNoise(got: ArrayLike<number>, twin: ArrayLike<number>, label: string) {
  expectClose(got, twin, NOISE_TOL, label);
  if (await isSwiftShader()) {
    const differing = Array.from(got).flatMap((v, i) => (v === twin[i] ? [] : [`[${i}] ${v} != ${twin[i]}`]));
    expect(differing.slice(0, 8), `${label}: ${differing.length} values not bit-exact on SwiftShader`).toEqual([]);
  }
}

/** mu in [-3, 3], logvar in [-4, 4], with logvar -30 at the first and +30 at the last element. */
function makeMulv(d: ReparamDims, seed: number): Float64Array {
  const mulv = f32(testData(d.batch * 2 * d.latent, seed, -3, 3));
  for (let b = 0; b < d.batch; b++) {
    for (let j = 0; j < d.latent; j++) mulv[b * 2 * d.latent + d.latent + j] = Math.fround(mulv[b * 2 * d.latent + d.latent + j] * (4 / 3));
  }
  mulv[2 * d.latent * (d.batch - 1) + 2 * d.latent - 1] = 30;
  if (d.batch * d.latent > 1) mulv[d.latent] = -30;
  return mulv;
}

/** |mu| + sigma |eps|: the size of the terms summed into z. */
function zScale(mulv: ArrayLike<number>, eps: ArrayLike<number>, d: ReparamDims): Float64Array {
  const s = new Float64Array(d.samples * d.batch * d.latent);
  for (let l = 0; l < d.samples; l++) {
    for (let b = 0; b < d.batch; b++) {
      for (let j = 0; j < d.latent; j++) {
        const e = sampleIndex(d, l, b, j);
        s[e] = Math.abs(muAt(mulv, d, b, j)) + Math.exp(0.5 * logvarAt(mulv, d, b, j)) * Math.abs(eps[e]);
      }
    }
  }
  return s;
}

/** Sum over j of the magnitudes of the KL terms' parts. */
function klScale(mulv: ArrayLike<number>, d: ReparamDims): Float64Array {
  const s = new Float64Array(d.batch);
  for (let b = 0; b < d.batch; b++) {
    for (let j = 0; j < d.latent; j++) {
      const mu = muAt(mulv, d, b, j), lv = logvarAt(mulv, d, b, j);
      s[b] += 0.5 * (Math.exp(lv) + mu * mu + 1 + Math.abs(lv));
    }
  }
  return s;
}

/** Magnitudes of the terms summed into each dmulv entry. */
function gradScale(mulv: ArrayLike<number>, eps: ArrayLike<number>, dz: ArrayLike<number>, d: ReparamDims, validRows: number, beta: number) {
  const s = new Float64Array(d.batch * 2 * d.latent);
  for (let b = 0; b < d.batch; b++) {
    const k = b < validRows ? beta / Math.max(validRows, 1) : 0;
    for (let j = 0; j < d.latent; j++) {
      const mu = muAt(mulv, d, b, j), lv = logvarAt(mulv, d, b, j);
      let smu = k * Math.abs(mu), slv = k * 0.5 * (Math.exp(lv) + 1);
      for (let l = 0; l < d.samples; l++) {
        const e = sampleIndex(d, l, b, j);
        smu += Math.abs(dz[e]);
        slv += Math.abs(dz[e] * eps[e]) * 0.5 * Math.exp(0.5 * lv);
      }
      s[b * 2 * d.latent + j] = smu;
      s[b * 2 * d.latent + d.latent + j] = slv;
    }
  }
  return s;
}

const cases: (ReparamDims & { validRows: number })[] = [
  { batch: 1, latent: 1, samples: 1, validRows: 1 },
  { batch: 7, latent: 2, samples: 3, validRows: 5 },
  { batch: 33, latent: 20, samples: 1, validRows: 33 },
  { batch: 129, latent: 20, samples: 3, validRows: 100 },
];

describe('reparam forward + backward', () => {
  cases.forEach((c, ci) => {
    it(`B=${c.batch} Z=${c.latent} L=${c.samples} valid=${c.validRows}`, async () => {
      const d: ReparamDims = c;
      const n = c.samples * c.batch * c.latent;
      const counter = 11 + ci, beta = 0.7;
      const mulv = makeMulv(d, 100 + ci);
      const dz = f32(testData(n, 200 + ci, -1, 1));
      const fwd = bindKernel(reparamForward(d), d);
      const bwd = bindKernel(reparamBackward(d), d);
      const out = await runKernels(
        [fwd, bwd],
        { params: params({ counter, validRows: c.validRows, klBeta: beta }), mulv, dz },
        { z: n, eps: n, kl: c.batch, dmulv: c.batch * 2 * c.latent },
      );

      await expectTwinNoise(out.eps, noiseRef(n, SEED, counter, STREAM.train), 'eps vs noiseAt');
      // z and the gradient from the GPU's own eps, so the noise tolerance does not leak into them.
      const eps = f32(out.eps);
      const ref = reparamForwardRef(mulv, eps, d);
      expectScaled(out.z, ref.z, zScale(mulv, eps, d), 1e-5, 'z');
      expectScaled(out.kl, ref.kl, klScale(mulv, d), 1e-5, 'kl');
      const dref = reparamBackwardRef(mulv, eps, dz, d, c.validRows, beta);
      expectScaled(out.dmulv, dref, gradScale(mulv, eps, dz, d, c.validRows, beta), 1e-5, 'dmulv');
    });
  });

  it('meanOnly: z = mu for every sample, eps untouched, kl still written', async () => {
    const d: ReparamDims = { batch: 7, latent: 2, samples: 3 };
    const n = 3 * 7 * 2;
    const mulv = makeMulv(d, 5);
    const sentinel = new Float32Array(n).fill(42);
    const k = bindKernel(reparamForward({ ...d, meanOnly: true }), d);
    expect(k.name).toBe('reparam_forward_mean');
    const out = await runKernels([k], { params: params({ counter: 3 }), mulv, eps: sentinel }, { z: n, kl: d.batch });
    const ref = reparamForwardRef(mulv, sentinel, d, true);
    expect(Array.from(out.z)).toEqual(Array.from(ref.z));
    expect(Array.from(out.eps)).toEqual(Array.from(sentinel));
    expectScaled(out.kl, ref.kl, klScale(mulv, d), 1e-5, 'kl (meanOnly)');
  });

  it('extreme inputs: logvar in {+-30, +-20, 0}, mu in {+-30, 0}, beta 2 and padded rows', async () => {
    const d: ReparamDims = { batch: 7, latent: 2, samples: 3 };
    const n = 3 * 7 * 2;
    const lvs = [30, -30, 20, -20, 0], mus = [30, -30, 0];
    const mulv = new Float64Array(7 * 4);
    for (let b = 0; b < 7; b++) {
      for (let j = 0; j < 2; j++) {
        mulv[b * 4 + j] = mus[(b + j) % 3];
        mulv[b * 4 + 2 + j] = lvs[(2 * b + j) % 5];
      }
    }
    const dz = f32(testData(n, 9, -2, 2));
    const validRows = 4, beta = 2;
    const out = await runKernels(
      [bindKernel(reparamForward(d), d), bindKernel(reparamBackward(d), d)],
      { params: params({ counter: 99, stream: STREAM.eval, validRows, klBeta: beta }), mulv, dz },
      { z: n, eps: n, kl: 7, dmulv: 28 },
    );
    for (const [name, v] of Object.entries(out)) expect(v.every(Number.isFinite), `${name} finite`).toBe(true);
    await expectTwinNoise(out.eps, noiseRef(n, SEED, 99, STREAM.eval), 'eps vs noiseAt (eval stream)');
    const eps = f32(out.eps);
    expectScaled(out.z, reparamForwardRef(mulv, eps, d).z, zScale(mulv, eps, d), 1e-5, 'z');
    expectScaled(out.kl, reparamForwardRef(mulv, eps, d).kl, klScale(mulv, d), 1e-5, 'kl');
    const dref = reparamBackwardRef(mulv, eps, dz, d, validRows, beta);
    expectScaled(out.dmulv, dref, gradScale(mulv, eps, dz, d, validRows, beta), 1e-5, 'dmulv');
    // Sanity of the reference itself at the extremes: KL of lv = 30 is dominated by e^30 / 2.
    expect(klTermRef(0, 30) / (0.5 * Math.exp(30))).toBeCloseTo(1, 10);
  });

  it('padded rows get no KL gradient (dz = 0 isolates the KL term)', async () => {
    const d: ReparamDims = { batch: 7, latent: 2, samples: 3 };
    const mulv = makeMulv(d, 77);
    const validRows = 3, beta = 0.5;
    const out = await runKernels(
      [bindKernel(reparamBackward(d), d)],
      { params: params({ validRows, klBeta: beta }), mulv, eps: f32(testData(42, 1)), dz: new Float32Array(42) },
      { dmulv: 28 },
    );
    for (let b = 0; b < 7; b++) {
      for (let j = 0; j < 4; j++) {
        const g = out.dmulv[b * 4 + j];
        if (b >= validRows) expect(g, `row ${b} col ${j}`).toBe(0);
        else {
          const mu = muAt(mulv, d, b, j % 2), lv = logvarAt(mulv, d, b, j % 2);
          const want = (beta / validRows) * (j < 2 ? mu : 0.5 * (Math.exp(lv) - 1));
          expect(Math.abs(g - want), `row ${b} col ${j}: ${g} vs ${want}`).toBeLessThanOrEqual(1e-5 * Math.abs(want) + 1e-7);
        }
      }
    }
  });

  it('draws fresh noise for a new counter, stream or seed', async () => {
    const d: ReparamDims = { batch: 7, latent: 2, samples: 3 };
    const n = 42;
    const mulv = makeMulv(d, 1);
    const run = (p: Partial<StepParams>) => runKernels([bindKernel(reparamForward(d), d)], { params: params(p), mulv }, { z: n, eps: n, kl: 7 }).then((o) => o.eps);
    const base = await run({ counter: 5 });
    const others = [await run({ counter: 6 }), await run({ counter: 5, stream: STREAM.eval }), await run({ counter: 5, seed: 12345 })];
    for (const other of others) {
      const same = Array.from(base).filter((v, i) => v === other[i]).length;
      expect(same).toBe(0);
    }
    await expectTwinNoise(others[2], noiseRef(n, 12345, 5, STREAM.train), 'eps vs noiseAt (seed below 2^32)');
  });
});

describe('reparam reference (float64 finite differences)', () => {
  it('reparamBackwardRef is the gradient of reparamLossRef', () => {
    const d: ReparamDims = { batch: 4, latent: 3, samples: 2 };
    const validRows = 3, beta = 0.7;
    const mulv = testData(4 * 6, 1, -2, 2);
    const eps = testData(24, 2, -2, 2);
    const dz = testData(24, 3, -1, 1);
    const analytic = reparamBackwardRef(mulv, eps, dz, d, validRows, beta);
    const h = 1e-5;
    const fd = Array.from(mulv, (_, i) => {
      const plus = Float64Array.from(mulv), minus = Float64Array.from(mulv);
      plus[i] += h;
      minus[i] -= h;
      return (reparamLossRef(plus, eps, dz, d, validRows, beta) - reparamLossRef(minus, eps, dz, d, validRows, beta)) / (2 * h);
    });
    expectClose(fd, analytic, { atol: 1e-8, rtol: 1e-7 }, 'finite differences vs reparamBackwardRef');
    // The padded row (b = 3) has only the reconstruction part.
    expect(analytic[3 * 6]).toBeCloseTo(dz[sampleIndex(d, 0, 3, 0)] + dz[sampleIndex(d, 1, 3, 0)], 12);
  });
});

describe('prior sample', () => {
  it('2e5 draws match noiseAt on the prior stream and look standard normal', async () => {
    const count = 200_003;
    const k = bindKernel(priorSample({ count }), { count });
    // Four spare elements past the end must stay zero (bounds check).
    const { z } = await runKernels([k], { params: params({ counter: 4, stream: STREAM.prior }) }, { z: count + 4 });
    expect(Array.from(z.subarray(count))).toEqual([0, 0, 0, 0]);
    const draws = z.subarray(0, count);
    await expectTwinNoise(draws, noiseRef(count, SEED, 4, STREAM.prior), 'prior vs noiseAt');
    let sum = 0, sumSq = 0;
    for (const v of draws) { sum += v; sumSq += v * v; }
    const mean = sum / count, variance = sumSq / count - mean * mean;
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(count));
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / count));
  });

  it('covers more than 65535 workgroups through the 2-D grid', async () => {
    const count = 65535 * 64 + 1000;
    const k = bindKernel(priorSample({ count }), { count });
    expect(k.workgroups[1]).toBeGreaterThan(1);
    const { z } = await runKernels([k], { params: params({ counter: 1, stream: STREAM.prior }) }, { z: count + 4 });
    expect(Array.from(z.subarray(count))).toEqual([0, 0, 0, 0]);
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
