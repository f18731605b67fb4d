// Capacity control (Burgess et al. 2018; shaders/elbo.ts `klCapacity` and elboReduce's capacity
// term) against elboObjectiveRef with klCapacity: loss = rec + w |KLbar - C|, the KL's gradient
// scaled by sign(KLbar - C). With C under the batch's KL the gradient is the plain KL's; with C
// over it, the opposite sign, so the KL is pushed up towards C.
import { describe, expect, it } from 'vitest';
import { elboReduce, klCapacity, klDivergence } from '../shaders/elbo';
import { encodeStepParams, type StepParams } from '../src/step-params';
import { expectClose, expectScaled, f32, mismatches, scaledMismatches, testData } from './helpers/compare';
import { runKernels } from './helpers/gpu';
import { klGradScale, klRef, makeMulv, makeQ, zeroAt } from './helpers/posterior-data';
import { elboObjectiveRef } from './reference/objectives';
import { LAYOUTS, mulvLayout, mulvToQ, offsetLayout, SENTINEL, type LayoutName } from './reference/reparam';

const params = (p: Partial<StepParams>) => new Uint32Array(encodeStepParams(p));

/** The batch-mean KL of the valid examples, from the float64 reference. */
const klMeanOf = (mulv: Float64Array, B: number, Z: number, validRows: number) =>
  elboObjectiveRef({ batch: B, samples: 1, latent: Z, validRows, mulv, rec: new Float64Array(B), klWeight: 1, freeBits: 0 }).klMean;

interface CapacityCase { batch: number; latent: number; validRows: number; layout: LayoutName; klWeight: number; side: 'under' | 'over' }

const cases: CapacityCase[] = [
  { batch: 1, latent: 1, validRows: 1, layout: 'model', klWeight: 1, side: 'under' },
  { batch: 7, latent: 3, validRows: 5, layout: 'offset', klWeight: 0.7, side: 'over' },
  { batch: 9, latent: 5, validRows: 0, layout: 'model', klWeight: 2, side: 'over' },
  { batch: 65, latent: 6, validRows: 65, layout: 'model', klWeight: 1000, side: 'under' },
  { batch: 130, latent: 20, validRows: 100, layout: 'offset', klWeight: 4, side: 'over' },
  { batch: 130, latent: 10, validRows: 129, layout: 'model', klWeight: 0.25, side: 'under' },
];

describe('klCapacity', () => {
  cases.forEach((c, ci) => {
    it(`B=${c.batch} Z=${c.latent} valid=${c.validRows} ${c.layout} layout, kl_weight ${c.klWeight}, capacity ${c.side} the batch's KL`, async () => {
      const { batch: B, latent: Z } = c;
      const layout = LAYOUTS[c.layout](Z), qSize = B * layout.stride;
      const mulv = makeMulv(B, Z, 80 + ci);
      const klMean = klMeanOf(mulv, B, Z, c.validRows);
      // Well clear of the batch's KL, so float32 rounding cannot flip the sign.
      const C = c.side === 'under' ? 0.5 * klMean : 2 * klMean + 1;
      const k = klCapacity({ batch: B, layout });
      expect(k.bindings.map((b) => b.name)).toEqual(['params', 'q', 'kl', 'dq_direct']);
      const got = await runKernels(
        [k],
        { params: params({ validRows: c.validRows, klWeight: c.klWeight, klCapacity: C }), q: makeQ(mulv, B, layout), dq_direct: new Float32Array(qSize).fill(SENTINEL) },
        { kl: B },
      );
      const { kl, scale } = klRef(mulv, B, Z);
      expectScaled(got.kl, kl, scale, 1e-5, 'kl');
      const ref = elboObjectiveRef({ batch: B, samples: 1, latent: Z, validRows: c.validRows, mulv, rec: new Float64Array(B), klWeight: c.klWeight, freeBits: 0, klCapacity: C });
      const want = mulvToQ(ref.dmulvDirect, B, layout, new Float64Array(qSize).fill(SENTINEL));
      const gscale = mulvToQ(klGradScale(mulv, B, Z, c.klWeight / Math.max(c.validRows, 1)), B, layout);
      expectScaled(got.dq_direct, want, gscale, 1e-5, 'dq_direct');
      for (let b = c.validRows; b < B; b++) expect(zeroAt(got.dq_direct, layout, b, () => true), `row ${b} is padding`).toBe(true);
      if (c.validRows > 0) {
        // The gradient is the plain KL's under the capacity's sign: the same under, negated over.
        const plain = elboObjectiveRef({ batch: B, samples: 1, latent: Z, validRows: c.validRows, mulv, rec: new Float64Array(B), klWeight: c.klWeight, freeBits: 0 });
        const sign = c.side === 'under' ? 1 : -1;
        expectScaled(got.dq_direct, mulvToQ(plain.dmulvDirect.map((v) => sign * v), B, layout, new Float64Array(qSize).fill(SENTINEL)), gscale, 1e-5, 'dq_direct against the plain KL gradient');
      }
    });
  });

  it('logvar and mu at +-30 to +-80: kl and dq_direct finite and matching', async () => {
    const B = 7, Z = 3, layout = offsetLayout(Z), lvs = [80, -80, 60, -60, 30, -30, 0];
    const mulv = f32(testData(B * 2 * Z, 3, -30, 30));
    for (let b = 0; b < B; b++) for (let j = 0; j < Z; j++) mulv[b * 2 * Z + Z + j] = lvs[(3 * b + j) % 7];
    const C = 25, klWeight = 1000;
    const got = await runKernels(
      [klCapacity({ batch: B, layout })],
      { params: params({ validRows: 6, klWeight, klCapacity: C }), q: makeQ(mulv, B, layout), dq_direct: new Float32Array(B * layout.stride) },
      { kl: B },
    );
    const { kl, scale } = klRef(mulv, B, Z);
    expectScaled(got.kl, kl, scale, 1e-5, 'kl');
    const ref = elboObjectiveRef({ batch: B, samples: 1, latent: Z, validRows: 6, mulv, rec: new Float64Array(B), klWeight, freeBits: 0, klCapacity: C });
    expect(Array.from(got.dq_direct).every(Number.isFinite)).toBe(true);
    expectScaled(got.dq_direct, mulvToQ(ref.dmulvDirect, B, layout), mulvToQ(klGradScale(mulv, B, Z, klWeight / 6), B, layout), 1e-5, 'dq_direct');
  });

  it('negative control: a reference with the capacity on the other side of the KL is detected', async () => {
    const B = 7, Z = 3, layout = mulvLayout(Z), mulv = makeMulv(B, Z, 4), klWeight = 0.7;
    const klMean = klMeanOf(mulv, B, Z, 5);
    const got = await runKernels([klCapacity({ batch: B, layout })], { params: params({ validRows: 5, klWeight, klCapacity: 2 * klMean }), q: makeQ(mulv, B, layout) }, { kl: B, dq_direct: B * layout.stride });
    const input = { batch: B, samples: 1, latent: Z, validRows: 5, mulv, rec: new Float64Array(B), klWeight, freeBits: 0 };
    const scale = mulvToQ(klGradScale(mulv, B, Z, klWeight / 5), B, layout);
    expect(scaledMismatches(got.dq_direct, mulvToQ(elboObjectiveRef({ ...input, klCapacity: 2 * klMean }).dmulvDirect, B, layout), scale, 1e-5)).toEqual([]);
    expect(scaledMismatches(got.dq_direct, mulvToQ(elboObjectiveRef({ ...input, klCapacity: 0.5 * klMean }).dmulvDirect, B, layout), scale, 1e-5).length).toBeGreaterThan(0);
  });
});

describe('elboReduce with capacity control', () => {
  it('after klCapacity in one pass: history[slot] = (rec + w |KL - C|, rec, kl, n), accum as the plain ELBO, twice', async () => {
    const B = 7, L = 2, Z = 5, validRows = 5, klWeight = 0.6, slot = 2, layout = offsetLayout(Z);
    const mulv = makeMulv(B, Z, 90);
    const rec = f32(testData(L * B, 91, 0, 200));
    const base = { batch: B, samples: L, latent: Z, validRows, mulv, rec, klWeight, freeBits: 0 };
    const klMean = elboObjectiveRef(base).klMean;
    const reduce = elboReduce({ batch: B, samples: L, capacity: true });
    expect(reduce.name).toBe('elbo_reduce_capacity');
    // |KL - 3 KL| = 2 KL, so neither C gives the plain loss rec + w KL.
    for (const C of [0.5 * klMean, 3 * klMean]) {
      const accum0 = [1, 2, 3, 4];
      const got = await runKernels(
        [klCapacity({ batch: B, layout }), reduce, reduce],
        { params: params({ validRows, klWeight, klCapacity: C, historySlot: slot }), q: makeQ(mulv, B, layout), rec, history: new Float32Array(4 * 4).fill(-7), accum: accum0 },
        { kl: B, dq_direct: B * layout.stride },
      );
      const ref = elboObjectiveRef({ ...base, klCapacity: C });
      expect(ref.loss).toBeCloseTo(ref.recMean + klWeight * Math.abs(klMean - C), 9);
      const tol = { atol: 1e-4, rtol: 2e-6 };
      expectClose(got.history.subarray(4 * slot, 4 * slot + 4), [ref.loss, ref.recMean, ref.klMean, validRows], tol, `history with C = ${C}`);
      // The running sums are the plain ELBO's parts: evaluation reports the -ELBO, not the objective.
      expectClose(got.accum, accum0.map((v, i) => v + 2 * [ref.recMean * validRows, ref.klMean * validRows, validRows, 1][i]), tol, 'accum');
      // The plain reduction's loss (rec + w KL) differs: the capacity term is what was written.
      const plain = elboObjectiveRef(base);
      expect(mismatches(got.history.subarray(4 * slot, 4 * slot + 1), [plain.loss], tol).length).toBeGreaterThan(0);
    }
  });

  it('refuses to combine the capacity term with free bits or the TC term', () => {
    expect(() => elboReduce({ batch: 4, samples: 1, capacity: true, freeBitsLatent: 3 })).toThrow(/capacity control does not combine with free bits or the TC term/);
    expect(() => elboReduce({ batch: 4, samples: 1, capacity: true, tcExcess: 5 })).toThrow(/capacity control does not combine with free bits or the TC term/);
  });

  it('a kernel of the same bindings as klDivergence: with C = 0 and a positive KL, the same gradient', async () => {
    const B = 9, Z = 4, layout = offsetLayout(Z), mulv = makeMulv(B, Z, 93), q = makeQ(mulv, B, layout);
    const p = params({ validRows: 8, klWeight: 0.3, klCapacity: 0 });
    const dq = () => new Float32Array(B * layout.stride).fill(SENTINEL);
    const cap = await runKernels([klCapacity({ batch: B, layout })], { params: p, q, dq_direct: dq() }, { kl: B });
    const plain = await runKernels([klDivergence({ batch: B, layout, gradients: true })], { params: p, q, dq_direct: dq() }, { kl: B });
    expectClose(cap.dq_direct, plain.dq_direct, { atol: 0, rtol: 1e-6 }, 'dq_direct');
    expectClose(cap.kl, plain.kl, { atol: 0, rtol: 1e-6 }, 'kl');
  });
});

describe('capacity control: padding rows', () => {
  it('KLbar is taken over the valid rows only, however large the padding rows\' KL', async () => {
    // Padding rows with a huge KL would lift the batch's mean past C and flip the gradient's sign.
    const B = 8, Z = 2, valid = 4, layout = mulvLayout(Z);
    const mulv = makeMulv(B, Z, 5);
    for (let b = valid; b < B; b++) for (let j = 0; j < Z; j++) mulv[b * 2 * Z + j] = 20;
    const klMean = elboObjectiveRef({ batch: B, samples: 1, latent: Z, validRows: valid, mulv, rec: new Float64Array(B), klWeight: 1, freeBits: 0 }).klMean;
    const C = 1.5 * klMean + 1; // above the valid rows' KL, far below the mean with the padding rows
    const got = await runKernels([klCapacity({ batch: B, layout })], { params: params({ validRows: valid, klWeight: 1, klCapacity: C }), q: makeQ(mulv, B, layout) }, { kl: B, dq_direct: B * 2 * Z });
    // Under the capacity the KL term is pushed up: dKL/dmu = mu is negated, so dq_direct has -mu's sign.
    for (let b = 0; b < valid; b++) for (let j = 0; j < Z; j++) {
      const mu = mulv[b * 2 * Z + j];
      if (mu !== 0) expect(Math.sign(got.dq_direct[b * 2 * Z + j]), `row ${b}, dimension ${j}`).toBe(-Math.sign(mu));
    }
  });
});
