// The ELBO's own kernels (shaders/elbo.ts) against the float64 references: the closed-form KL per
// example and its direct gradient on the posterior, free bits per latent dimension, and the batch
// reduction into the history ring and the running sums, each compared with elboObjectiveRef
// (tests/reference/objectives.ts), for the model's posterior layout and another one.
import { describe, expect, it } from 'vitest';
import { elboReduce, klDivergence, klFreeBits } from '../shaders/elbo';
import { likelihoodRows } from '../shaders/likelihood';
import { encodeStepParams, type StepParams } from '../src/step-params';
import { expectClose, expectScaled, f32, mismatches, scaledMismatches, testData } from './helpers/compare';
import { runKernels, UNWRITTEN } from './helpers/gpu';
import { expMagnitude, klGradScale, klRef, makeMulv, makeQ, zeroAt } from './helpers/posterior-data';
import { likelihoodRowsRef } from './reference/likelihood';
import { elboObjectiveRef } from './reference/objectives';
import { LAYOUTS, mulvLayout, mulvToQ, offsetLayout, SENTINEL, type LayoutName } from './reference/reparam';

const params = (p: Partial<StepParams>) => new Uint32Array(encodeStepParams(p));

interface KlCase { batch: number; latent: number; validRows: number; layout: LayoutName; gradients: boolean; klWeight: number }

const klCases: KlCase[] = [
  { batch: 1, latent: 1, validRows: 1, layout: 'model', gradients: true, klWeight: 1 },
  { batch: 7, latent: 3, validRows: 5, layout: 'offset', gradients: true, klWeight: 0.7 },
  { batch: 9, latent: 5, validRows: 0, layout: 'model', gradients: true, klWeight: 1 },
  { batch: 65, latent: 6, validRows: 65, layout: 'model', gradients: true, klWeight: 2.5 },
  { batch: 130, latent: 20, validRows: 100, layout: 'offset', gradients: true, klWeight: 0.01 },
  { batch: 33, latent: 7, validRows: 20, layout: 'offset', gradients: false, klWeight: 1 },
];

describe('klDivergence', () => {
  klCases.forEach((c, ci) => {
    it(`B=${c.batch} Z=${c.latent} valid=${c.validRows} ${c.layout} layout, ${c.gradients ? `gradients, kl_weight ${c.klWeight}` : 'no gradients'}`, async () => {
      const { batch: B, latent: Z } = c;
      const layout = LAYOUTS[c.layout](Z);
      const mulv = makeMulv(B, Z, 10 + ci);
      const k = klDivergence({ batch: B, layout, gradients: c.gradients });
      expect(k.name).toBe(c.gradients ? 'kl_divergence_grad' : 'kl_divergence');
      expect(k.bindings.map((b) => b.name)).toEqual(['params', 'q', 'kl', ...(c.gradients ? ['dq_direct'] : [])]);
      const qSize = B * layout.stride;
      const got = await runKernels(
        [k],
        { params: params({ validRows: c.validRows, klWeight: c.klWeight }), q: makeQ(mulv, B, layout), ...(c.gradients ? { dq_direct: new Float32Array(qSize).fill(SENTINEL) } : {}) },
        { kl: B + 4 },
      );
      // kl is written for every example, padding included; nothing past the batch.
      const { kl, scale } = klRef(mulv, B, Z);
      expectScaled(got.kl.subarray(0, B), kl, scale, 1e-5, 'kl');
      expect(Array.from(got.kl.subarray(B))).toEqual(new Array(4).fill(UNWRITTEN));
      if (!c.gradients) return;
      const ref = elboObjectiveRef({ batch: B, samples: 1, latent: Z, validRows: c.validRows, mulv, rec: new Float64Array(B), klWeight: c.klWeight, freeBits: 0 });
      const want = mulvToQ(ref.dmulvDirect, B, layout, new Float64Array(qSize).fill(SENTINEL));
      const gscale = mulvToQ(klGradScale(mulv, B, Z, c.klWeight / Math.max(c.validRows, 1)), B, layout);
      expectScaled(got.dq_direct, want, gscale, 1e-5, 'dq_direct');
      for (let b = c.validRows; b < B; b++) expect(zeroAt(got.dq_direct, layout, b, () => true), `row ${b} is padding`).toBe(true);
    });
  });

  it('logvar and mu at +-30 to +-80: kl and dq_direct finite and matching', async () => {
    const B = 7, Z = 3, layout = offsetLayout(Z), lvs = [80, -80, 60, -60, 30, -30, 0];
    const mulv = f32(testData(B * 2 * Z, 3, -30, 30));
    for (let b = 0; b < B; b++) for (let j = 0; j < Z; j++) mulv[b * 2 * Z + Z + j] = lvs[(3 * b + j) % 7];
    const got = await runKernels(
      [klDivergence({ batch: B, layout, gradients: true })],
      { params: params({ validRows: 6, klWeight: 0.5 }), q: makeQ(mulv, B, layout), dq_direct: new Float32Array(B * layout.stride) },
      { kl: B },
    );
    const { kl, scale } = klRef(mulv, B, Z);
    expect(kl.every(Number.isFinite)).toBe(true);
    expectScaled(got.kl, kl, scale, 1e-5, 'kl');
    const ref = elboObjectiveRef({ batch: B, samples: 1, latent: Z, validRows: 6, mulv, rec: new Float64Array(B), klWeight: 0.5, freeBits: 0 });
    expectScaled(got.dq_direct, mulvToQ(ref.dmulvDirect, B, layout), mulvToQ(klGradScale(mulv, B, Z, 0.5 / 6), B, layout), 1e-5, 'dq_direct');
  });

  it('near mu = 0 and logvar = 0, where unused dimensions sit: kl and its logvar gradient within 1e-5 relative', async () => {
    // e^lv - 1 - lv in f32 loses every digit there (lv = 1e-4 gave a KL 6x too large, mu = 1e-4 one
    // of 0); the scaled tolerances above, relative to e^lv + 1, cannot see that.
    const small = Array.from({ length: 40 }, (_, i) => 10 ** (-9 + (9 * i) / 39) * 0.6);
    const pairs = [...small.map((v) => [0, v]), ...small.map((v) => [0, -v]), ...small.map((v) => [v, 0]), ...small.map((v) => [-v, v / 3])];
    const B = pairs.length, layout = mulvLayout(1);
    const q = Float32Array.from(pairs.flat());
    const got = await runKernels([klDivergence({ batch: B, layout, gradients: true })], { params: params({ validRows: B, klWeight: 1 }), q }, { kl: B, dq_direct: 2 * B });
    const kl = pairs.map((_, b) => 0.5 * (Math.expm1(q[2 * b + 1]) - q[2 * b + 1] + q[2 * b] ** 2));
    expectClose(got.kl, kl, { atol: 0, rtol: 1e-5 }, 'kl');
    const lvGrad = pairs.map((_, b) => (0.5 * Math.expm1(q[2 * b + 1])) / B).filter((g) => g !== 0);
    expectClose(Array.from(got.dq_direct).filter((_, i) => i % 2 === 1 && q[i] !== 0), lvGrad, { atol: 0, rtol: 1e-5 }, 'dKL/dlogvar');
  });

  it('negative control: a gradient reference that forgets kl_weight is detected', async () => {
    const B = 7, Z = 3, layout = mulvLayout(Z), mulv = makeMulv(B, Z, 4);
    const got = await runKernels([klDivergence({ batch: B, layout, gradients: true })], { params: params({ validRows: 5, klWeight: 0.7 }), q: mulv }, { kl: B, dq_direct: B * 2 * Z });
    const scale = klGradScale(mulv, B, Z, 0.7 / 5);
    const input = { batch: B, samples: 1, latent: Z, validRows: 5, mulv, rec: new Float64Array(B), freeBits: 0 };
    expect(scaledMismatches(got.dq_direct, elboObjectiveRef({ ...input, klWeight: 0.7 }).dmulvDirect, scale, 1e-5)).toEqual([]);
    expect(scaledMismatches(got.dq_direct, elboObjectiveRef({ ...input, klWeight: 1 }).dmulvDirect, scale, 1e-5).length).toBeGreaterThan(0);
  });
});

/**
 * A floor between the dimensions' batch-mean KLs with `below` of them under it. Each must be
 * clear of it by far more than float32 rounding, or the kernel could rightly decide either way.
 */
function floorBetween(klPerDim: ArrayLike<number>, below: number): number {
  const sorted = Array.from(klPerDim).sort((a, b) => a - b);
  const floor = 0.5 * (sorted[below - 1] + sorted[below]);
  for (const k of sorted) expect(Math.abs(k - floor), 'a dimension too close to the floor').toBeGreaterThan(1e-3 * floor);
  return floor;
}

/**
 * mulv whose dimensions' KLs are well apart: |mu_bj| = 0.5 + 0.1 s_j with s a permutation of
 * 0..Z-1 (so the dimensions under a floor are not simply the first ones), logvar in [-0.3, 0.3].
 */
function spreadMulv(B: number, Z: number, seed: number): Float64Array {
  const sign = testData(B * Z, seed, -1, 1), lv = testData(B * Z, seed + 1, -0.3, 0.3);
  const mulv = new Float64Array(B * 2 * Z);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < Z; j++) {
      mulv[b * 2 * Z + j] = Math.fround(Math.sign(sign[b * Z + j]) * (0.5 + 0.1 * ((11 * j) % Z)));
      mulv[b * 2 * Z + Z + j] = Math.fround(lv[b * Z + j]);
    }
  }
  return mulv;
}

describe('klFreeBits', () => {
  const cases = [
    { batch: 9, latent: 6, validRows: 7, layout: 'offset' as LayoutName, below: 3 },
    { batch: 130, latent: 5, validRows: 128, layout: 'model' as LayoutName, below: 2 },
    { batch: 5, latent: 70, validRows: 4, layout: 'offset' as LayoutName, below: 30 },
  ];
  cases.forEach((c, ci) => {
    it(`B=${c.batch} Z=${c.latent} valid=${c.validRows} ${c.layout} layout, ${c.below} dims under the floor`, async () => {
      const { batch: B, latent: Z } = c;
      const layout = LAYOUTS[c.layout](Z), qSize = B * layout.stride, klWeight = 0.8;
      const mulv = spreadMulv(B, Z, 40 + ci);
      const base = { batch: B, samples: 1, latent: Z, validRows: c.validRows, mulv, rec: new Float64Array(B), klWeight };
      const freeBits = floorBetween(elboObjectiveRef({ ...base, freeBits: 0 }).klPerDim, c.below);
      const ref = elboObjectiveRef({ ...base, freeBits });
      const k = klFreeBits({ batch: B, layout });
      expect(k.bindings.map((b) => b.name)).toEqual(['params', 'q', 'kl_dims', 'dq_direct']);
      const got = await runKernels(
        [k],
        { params: params({ validRows: c.validRows, klWeight, freeBits }), q: makeQ(mulv, B, layout), dq_direct: new Float32Array(qSize).fill(SENTINEL) },
        { kl_dims: Z + 4 },
      );
      // kl_dims[j]: the batch mean of dimension j's KL over the valid examples.
      const dimScale = new Float64Array(Z);
      for (let b = 0; b < c.validRows; b++) {
        for (let j = 0; j < Z; j++) {
          const mu = mulv[b * 2 * Z + j], lv = mulv[b * 2 * Z + Z + j];
          dimScale[j] += (0.5 * (expMagnitude(lv) + mu * mu + 1 + Math.abs(lv))) / c.validRows;
        }
      }
      expectScaled(got.kl_dims.subarray(0, Z), ref.klPerDim, dimScale, 1e-5, 'kl_dims');
      expect(Array.from(got.kl_dims.subarray(Z))).toEqual(new Array(4).fill(UNWRITTEN));
      const want = mulvToQ(ref.dmulvDirect, B, layout, new Float64Array(qSize).fill(SENTINEL));
      expectScaled(got.dq_direct, want, mulvToQ(klGradScale(mulv, B, Z, klWeight / c.validRows), B, layout), 1e-5, 'dq_direct');
      // Dimensions under the floor and padding rows: exactly zero.
      const under = (j: number) => ref.klPerDim[j] < freeBits;
      for (let b = 0; b < B; b++) expect(zeroAt(got.dq_direct, layout, b, b < c.validRows ? under : () => true), `row ${b}`).toBe(true);
      // And the others are not: the floor switched off exactly the dimensions under it.
      expect(zeroAt(got.dq_direct, layout, 0, (j) => !under(j))).toBe(false);
    });
  });

  it('a floor of 0 gives the plain KL gradient of klDivergence', async () => {
    const B = 7, Z = 4, layout = offsetLayout(Z), mulv = makeMulv(B, Z, 7), q = makeQ(mulv, B, layout);
    const p = params({ validRows: 6, klWeight: 0.3, freeBits: 0 });
    // The offset layout leaves columns of dq_direct that neither kernel writes: give both the same sentinels there.
    const dq = () => new Float32Array(B * layout.stride).fill(SENTINEL);
    const fb = await runKernels([klFreeBits({ batch: B, layout })], { params: p, q, dq_direct: dq() }, { kl_dims: Z });
    const plain = await runKernels([klDivergence({ batch: B, layout, gradients: true })], { params: p, q, dq_direct: dq() }, { kl: B });
    expectClose(fb.dq_direct, plain.dq_direct, { atol: 0, rtol: 1e-6 }, 'dq_direct');
  });
});

/** What elboReduce should write, from elboObjectiveRef: the record and the increment of accum. */
function reduceRef(ref: ReturnType<typeof elboObjectiveRef>, validRows: number) {
  return {
    history: [ref.loss, ref.recMean, ref.klMean, validRows],
    accum: validRows > 0 ? [ref.recMean * validRows, ref.klMean * validRows, validRows, 1] : [0, 0, 0, 1],
  };
}

const HISTORY_SENTINEL = -7;
const recTol = { atol: 1e-4, rtol: 2e-6 };

describe('elboReduce', () => {
  for (const freeBitsOn of [false, true]) {
    it(`after the KL kernels in one pass${freeBitsOn ? ', with free bits' : ''}: history[slot] = (loss, rec, kl, n), accum += (rec sum / L, kl sum, n, 1), twice`, async () => {
      const B = 7, L = 3, Z = 5, validRows = 5, klWeight = 0.6, slot = 3, layout = offsetLayout(Z);
      const mulv = makeMulv(B, Z, 50);
      const rec = f32(testData(L * B, 51, 0, 200));
      const base = { batch: B, samples: L, latent: Z, validRows, mulv, rec, klWeight };
      const freeBits = freeBitsOn ? floorBetween(elboObjectiveRef({ ...base, freeBits: 0 }).klPerDim, 2) : 0;
      const ref = elboObjectiveRef({ ...base, freeBits });
      const reduce = elboReduce({ batch: B, samples: L, freeBitsLatent: freeBitsOn ? Z : 0 });
      expect(reduce.name).toBe(freeBitsOn ? 'elbo_reduce_free_bits' : 'elbo_reduce');
      expect(reduce.bindings.map((b) => b.name)).toEqual(['params', 'rec', 'kl', ...(freeBitsOn ? ['kl_dims'] : []), 'history', 'accum']);
      const kernels = freeBitsOn
        ? [klDivergence({ batch: B, layout, gradients: false }), klFreeBits({ batch: B, layout }), reduce, reduce]
        : [klDivergence({ batch: B, layout, gradients: true }), reduce, reduce];
      const accum0 = [1, 2, 3, 4];
      const got = await runKernels(
        kernels,
        { params: params({ validRows, klWeight, freeBits, historySlot: slot }), q: makeQ(mulv, B, layout), rec, history: new Float32Array(8 * 4).fill(HISTORY_SENTINEL), accum: accum0 },
        { kl: B, dq_direct: B * layout.stride, ...(freeBitsOn ? { kl_dims: Z } : {}) },
      );
      const want = reduceRef(ref, validRows);
      expectClose(got.history.subarray(4 * slot, 4 * slot + 4), want.history, recTol, `history[${slot}]`);
      expectClose(got.accum, accum0.map((v, i) => v + 2 * want.accum[i]), recTol, 'accum after two reductions');
      expect(Array.from(got.history).filter((_, i) => Math.floor(i / 4) !== slot).every((v) => v === HISTORY_SENTINEL)).toBe(true);
      if (freeBitsOn) {
        // The data puts dimensions under the floor: without free bits the loss would differ.
        const plain = reduceRef(elboObjectiveRef({ ...base, freeBits: 0 }), validRows);
        expect(mismatches(got.history.subarray(4 * slot, 4 * slot + 4), plain.history, recTol).length).toBeGreaterThan(0);
      }
    });
  }

  it('strides over more examples than threads, clamps valid_rows to the batch, and handles n = 0 (B=130, L=2)', async () => {
    const B = 130, L = 2, Z = 3, klWeight = 0.25;
    const mulv = makeMulv(B, Z, 60);
    const rec = f32(testData(L * B, 61, 50, 150));
    const kl = f32(klRef(mulv, B, Z).kl);
    for (const freeBitsOn of [false, true]) {
      const k = elboReduce({ batch: B, samples: L, freeBitsLatent: freeBitsOn ? Z : 0 });
      for (const [validRows, slot] of [[129, 0], [500, 1], [0, 2]]) {
        const n = Math.min(validRows, B);
        const base = { batch: B, samples: L, latent: Z, validRows: n, mulv, rec, klWeight };
        const freeBits = freeBitsOn ? 1.5 : 0;
        const klDims = f32(elboObjectiveRef({ ...base, freeBits: 0 }).klPerDim);
        const got = await runKernels(
          [k],
          { params: params({ validRows, historySlot: slot, klWeight, freeBits }), rec, kl, ...(freeBitsOn ? { kl_dims: klDims } : {}), history: new Float32Array(12).fill(HISTORY_SENTINEL), accum: new Float32Array(4) },
          {},
        );
        const want = reduceRef(elboObjectiveRef({ ...base, freeBits }), n);
        expectClose(got.history.subarray(4 * slot, 4 * slot + 4), want.history, recTol, `history valid=${validRows} free bits ${freeBitsOn}`);
        expectClose(got.accum, want.accum, { atol: 1e-2, rtol: 2e-6 }, `accum valid=${validRows}`);
        expect(got.history[4 * slot + 3]).toBe(n);
      }
    }
  });

  it('chained after likelihoodRows and klDivergence in one pass gives the batch -ELBO of elboObjectiveRef', async () => {
    const B = 7, L = 2, D = 37, Z = 4, validRows = 6, klWeight = 0.8, layout = mulvLayout(Z);
    const x = f32(testData(B * D, 70, 0, 1)), out = f32(testData(L * B * D, 71, -6, 6));
    const mulv = makeMulv(B, Z, 72);
    const got = await runKernels(
      [likelihoodRows({ batch: B, samples: L, dim: D, likelihood: 'bernoulli', gradients: true, threadsPerRow: 64 }), klDivergence({ batch: B, layout, gradients: true }), elboReduce({ batch: B, samples: L })],
      { params: params({ validRows, historySlot: 1, klWeight }), x, out, q: mulv, history: new Float32Array(8), accum: new Float32Array(4) },
      { rec: L * B, dout: L * B * D, kl: B, dq_direct: B * 2 * Z },
    );
    const rec = likelihoodRowsRef({ batch: B, samples: L, dim: D, likelihood: 'bernoulli', x, out, validRows }).rec;
    const ref = elboObjectiveRef({ batch: B, samples: L, latent: Z, validRows, mulv, rec, klWeight, freeBits: 0 });
    expectClose(got.history.subarray(4, 8), reduceRef(ref, validRows).history, { atol: 1e-3, rtol: 1e-5 }, 'history[1] = (loss, rec, kl, n)');
  });
});
