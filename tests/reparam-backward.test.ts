// The sampler's backward kernel (shaders/reparam.ts) against float64 references:
// dq = dq_direct + chain rule (with and without the objective's dz_direct), for the model's
// posterior layout and for a different one, so the kernel is seen to take the layout from its
// parameters; and that reference against finite differences. The forward kernels are in
// reparam.test.ts.
import { describe, expect, it } from 'vitest';
import { reparamBackward, reparamForward } from '../shaders/reparam';
import { STREAM } from '../src/step-params';
import { expectClose, expectScaled, f32, mismatches, scaledMismatches, testData } from './helpers/compare';
import { runKernels } from './helpers/gpu';
import { expAllowance, expectTwinNoise, makeMulv, makeQ, PAD, params, SEED } from './helpers/sampler';
import { objectiveThroughSamplerRef } from './reference/objectives';
import {
  batchNoiseRef, LAYOUTS, logvarAt, mulvToQ, offsetLayout, qToMulv, sampleIndex, samplerLossRef, SENTINEL,
  type LayoutName, type ReparamDims,
} from './reference/reparam';

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
  expect(bwd.bindings.map((b) => b.name)).toEqual(['q', 'eps', 'dz', 'dq_direct', ...(c.directZ ? ['dz_direct'] : []), 'dq']);
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
