// The importance-weighted bound's kernels (shaders/iwae.ts) against iwaeObjectiveRef
// (tests/reference/objectives.ts): log-weights, the per-example bound and the gradient seeds
// (row weights, dz_direct, dq_direct) for K in {1, 5, 50}, log-weights near -1e4, the loss record,
// and the chunked evaluation's running logsumexp over several dispatches.
import { describe, expect, it } from 'vitest';
import { klDivergence } from '../shaders/elbo';
import { iwaeChunk, iwaeReduce, iwaeWeights } from '../shaders/iwae';
import type { PosteriorLayout } from '../shaders/reparam';
import { encodeStepParams, type StepParams } from '../src/step-params';
import { expectClose, expectScaled, f32, mismatches, scaledMismatches, testData } from './helpers/compare';
import { runKernels } from './helpers/gpu';
import { iwaeObjectiveRef, logSumExpRef } from './reference/objectives';
import { LAYOUTS, mulvToQ, reparamForwardRef, SENTINEL, type LayoutName, type ReparamDims } from './reference/reparam';

const params = (p: Partial<StepParams>) => new Uint32Array(encodeStepParams(p));

interface Batch {
  d: ReparamDims;
  layout: PosteriorLayout;
  mulv: Float64Array;
  q: Float64Array;
  eps: Float64Array;
  /** z as the sampler stores it: mu + sigma eps rounded to float32. */
  z: Float64Array;
  rec: Float64Array;
  /** Per row: the magnitude of the terms summed into its log-weight. */
  lwScale: Float64Array;
}

/** The samples of a posterior (mulv, float32 values) for given eps and rec: z as the sampler stores it. */
function samplesOf(d: ReparamDims, layout: PosteriorLayout, mulv: Float64Array, eps: Float64Array, rec: Float64Array): Batch {
  const { batch: B, samples: K, latent: Z } = d;
  const z = f32(reparamForwardRef(mulv, eps, d).z);
  const lwScale = new Float64Array(K * B);
  for (let r = 0; r < K * B; r++) {
    const b = r % B;
    lwScale[r] = Math.abs(rec[r]);
    for (let j = 0; j < Z; j++) lwScale[r] += 0.5 * (eps[r * Z + j] ** 2 + z[r * Z + j] ** 2 + Math.abs(mulv[b * 2 * Z + Z + j]));
  }
  return { d, layout, mulv, q: mulvToQ(mulv, B, layout, new Float64Array(B * layout.stride).fill(SENTINEL)), eps, z, rec, lwScale };
}

/** A batch of K samples: mu in [-1.5, 1.5], logvar in [-2, 1], eps in [-2, 2], rec in [recLo, recLo + recSpread]. */
function makeBatch(B: number, K: number, Z: number, layoutName: LayoutName, seed: number, recLo = 50, recSpread = 10): Batch {
  const d: ReparamDims = { batch: B, samples: K, latent: Z };
  const mu = testData(B * Z, seed, -1.5, 1.5), lv = testData(B * Z, seed + 1, -2, 1);
  const mulv = new Float64Array(B * 2 * Z);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < Z; j++) [mulv[b * 2 * Z + j], mulv[b * 2 * Z + Z + j]] = [mu[b * Z + j], lv[b * Z + j]];
  }
  const eps = f32(testData(K * B * Z, seed + 2, -2, 2));
  const rec = f32(testData(K * B, seed + 3, recLo, recLo + recSpread));
  return samplesOf(d, LAYOUTS[layoutName](Z), f32(mulv), eps, rec);
}

/**
 * Tolerance relative to a log-weight's magnitude: each of its Z + 1 float32 additions rounds by
 * at most half an ULP of that magnitude (6e-8), with a factor 4 to spare.
 */
const lwTol = (Z: number) => 2.4e-7 * (Z + 1);

const refOf = (t: Batch, validRows: number) => iwaeObjectiveRef({ batch: t.d.batch, samples: t.d.samples, latent: t.d.latent, validRows, mulv: t.mulv, eps: t.eps, rec: t.rec });

/** Per example, the largest magnitude among its K log-weights. */
function exampleScale(t: Batch): Float64Array {
  const { batch: B, samples: K } = t.d, s = new Float64Array(B);
  for (let k = 0; k < K; k++) for (let b = 0; b < B; b++) s[b] = Math.max(s[b], t.lwScale[k * B + b]);
  return s;
}

async function runWeights(t: Batch, validRows: number, gradients: boolean) {
  const { batch: B, samples: K, latent: Z } = t.d;
  const k = iwaeWeights({ batch: B, samples: K, layout: t.layout, gradients });
  expect(k.name).toBe(gradients ? 'iwae_weights_grad' : 'iwae_weights');
  // With gradients the log-weights live in row_weight until the weights replace them: 8 storage buffers.
  // Only the gradients read the step uniform (valid_rows).
  expect(k.bindings.map((b) => b.name)).toEqual([...(gradients ? ['params'] : []), 'q', 'z', 'eps', 'rec', ...(gradients ? ['bound', 'row_weight', 'dz_direct', 'dq_direct'] : ['log_weight', 'bound'])]);
  expect(k.bindings.filter((b) => b.kind !== 'uniform').length).toBeLessThanOrEqual(8);
  const qSize = B * t.layout.stride;
  return runKernels(
    [k],
    { params: params({ validRows }), q: t.q, z: t.z, eps: t.eps, rec: t.rec, ...(gradients ? { dq_direct: new Float32Array(qSize).fill(SENTINEL) } : {}) },
    { bound: B, ...(gradients ? { row_weight: K * B, dz_direct: K * B * Z } : { log_weight: K * B }) },
  );
}

async function checkWeights(t: Batch, validRows: number, gradients: boolean) {
  const { batch: B, samples: K, latent: Z } = t.d;
  const tol = lwTol(Z);
  const got = await runWeights(t, validRows, gradients);
  const ref = refOf(t, validRows);
  // Log-weights of every row, padding included (the gradient variant's become its row weights); the bound of valid rows only.
  if (!gradients) expectScaled(got.log_weight, ref.logWeights, t.lwScale, tol, 'log_weight');
  const exScale = exampleScale(t);
  expectScaled(got.bound.subarray(0, validRows), ref.perExample.subarray(0, validRows), exScale, tol, 'bound');
  if (!gradients) return;
  // A weight exp(lw - max) / (s n) inherits the log-weights' absolute errors as relative ones.
  const wScale = Float64Array.from(ref.rowWeights, (w, r) => w * exScale[r % B]);
  expectScaled(got.row_weight, ref.rowWeights, wScale, 2 * tol, 'row_weight');
  const dzScale = Float64Array.from(ref.dzDirect, (_, e) => wScale[Math.floor(e / Z)] * Math.abs(t.z[e]));
  expectScaled(got.dz_direct, ref.dzDirect, dzScale, 2 * tol, 'dz_direct');
  const want = mulvToQ(ref.dmulvDirect, B, t.layout, new Float64Array(B * t.layout.stride).fill(SENTINEL));
  expectClose(got.dq_direct, want, { atol: 1e-7, rtol: 1e-5 }, 'dq_direct');
  // Padding examples: exactly zero seeds.
  for (let r = 0; r < K * B; r++) {
    if (r % B < validRows) continue;
    expect(got.row_weight[r], `row ${r} is padding`).toBe(0);
    expect(got.dz_direct.subarray(r * Z, (r + 1) * Z).every((v) => v === 0), `dz_direct row ${r}`).toBe(true);
  }
}

interface WeightCase { batch: number; samples: number; latent: number; validRows: number; layout: LayoutName }

const weightCases: WeightCase[] = [
  { batch: 1, samples: 1, latent: 1, validRows: 1, layout: 'model' },
  { batch: 7, samples: 1, latent: 3, validRows: 5, layout: 'offset' },
  { batch: 9, samples: 5, latent: 4, validRows: 7, layout: 'offset' },
  { batch: 70, samples: 5, latent: 2, validRows: 70, layout: 'model' },
  { batch: 5, samples: 50, latent: 6, validRows: 3, layout: 'offset' },
  { batch: 3, samples: 50, latent: 8, validRows: 3, layout: 'model' },
];

describe('iwaeWeights', () => {
  weightCases.forEach((c, ci) => {
    for (const gradients of [false, true]) {
      it(`K=${c.samples} B=${c.batch} Z=${c.latent} valid=${c.validRows} ${c.layout} layout, ${gradients ? 'gradients' : 'no gradients'}`, async () => {
        await checkWeights(makeBatch(c.batch, c.samples, c.latent, c.layout, 10 * ci + 1), c.validRows, gradients);
      });
    }
  });

  it('log-weights near -1e4 (rec about 1e4) stay finite and correct', async () => {
    // Spreads of 30 nats between samples: exp of an unshifted log-weight would be 0 in float32.
    const t = makeBatch(4, 5, 3, 'offset', 90, 1e4, 30);
    const got = await runWeights(t, 3, true);
    for (const [name, v] of Object.entries(got)) expect(v.every(Number.isFinite), `${name} finite`).toBe(true);
    await checkWeights(t, 3, true);
    const ref = refOf(t, 3);
    expect(Math.min(...ref.perExample.subarray(0, 3))).toBeGreaterThan(9e3);
    // Each valid example's weights still sum to 1 / n.
    for (let b = 0; b < 3; b++) {
      let sum = 0;
      for (let k = 0; k < 5; k++) sum += got.row_weight[k * 4 + b];
      expect(Math.abs(sum - 1 / 3)).toBeLessThan(1e-6);
    }
  });

  it('negative control: a bound without the - log K is detected', async () => {
    const t = makeBatch(9, 5, 4, 'model', 95);
    const got = await runWeights(t, 9, false);
    const ref = refOf(t, 9);
    const exScale = exampleScale(t);
    expect(scaledMismatches(got.bound, ref.perExample, exScale, lwTol(4))).toEqual([]);
    const wrong = ref.perExample.map((v) => v - Math.log(5));
    expect(scaledMismatches(got.bound, wrong, exScale, lwTol(4)).length).toBeGreaterThan(0);
  });
});

describe('iwaeReduce', () => {
  const HISTORY_SENTINEL = -7;

  it('after iwaeWeights and klDivergence in one pass: history[slot] = (bound, rec, kl means, n), accum += (bound sum, rec sum / K, kl sum, n), twice', async () => {
    const B = 7, K = 5, Z = 3, validRows = 5, slot = 2;
    const t = makeBatch(B, K, Z, 'offset', 100);
    const reduce = iwaeReduce({ batch: B, samples: K });
    expect(reduce.bindings.map((b) => b.name)).toEqual(['params', 'bound', 'rec', 'kl', 'history', 'accum']);
    const accum0 = [1, 2, 3, 4];
    const got = await runKernels(
      [iwaeWeights({ batch: B, samples: K, layout: t.layout, gradients: true }), klDivergence({ batch: B, layout: t.layout, gradients: false }), reduce, reduce],
      { params: params({ validRows, historySlot: slot }), q: t.q, z: t.z, eps: t.eps, rec: t.rec, history: new Float32Array(16).fill(HISTORY_SENTINEL), accum: accum0 },
      { bound: B, row_weight: K * B, dz_direct: K * B * Z, dq_direct: B * t.layout.stride, kl: B },
    );
    const ref = refOf(t, validRows);
    const tol = { atol: 1e-4, rtol: 2e-6 };
    expectClose(got.history.subarray(4 * slot, 4 * slot + 4), [ref.loss, ref.recMean, ref.klMean, validRows], tol, `history[${slot}]`);
    const inc = [ref.loss * validRows, ref.recMean * validRows, ref.klMean * validRows, validRows];
    expectClose(got.accum, accum0.map((v, i) => v + 2 * inc[i]), tol, 'accum after two reductions');
    expect(Array.from(got.history).filter((_, i) => Math.floor(i / 4) !== slot).every((v) => v === HISTORY_SENTINEL)).toBe(true);
  });

  it('strides over more examples than threads, clamps valid_rows to the batch, and handles n = 0 (B=130, K=2)', async () => {
    const B = 130, K = 2;
    const bound = f32(testData(B, 1, 80, 120)), rec = f32(testData(K * B, 2, 80, 120)), kl = f32(testData(B, 3, 0, 20));
    const k = iwaeReduce({ batch: B, samples: K });
    for (const [validRows, slot] of [[129, 0], [500, 1], [0, 2]]) {
      const n = Math.min(validRows, B), nf = Math.max(n, 1);
      let boundSum = 0, recSum = 0, klSum = 0;
      for (let b = 0; b < n; b++) {
        boundSum += bound[b];
        klSum += kl[b];
        for (let s = 0; s < K; s++) recSum += rec[s * B + b];
      }
      const got = await runKernels([k], { params: params({ validRows, historySlot: slot }), bound, rec, kl, history: new Float32Array(12).fill(HISTORY_SENTINEL), accum: new Float32Array(4) }, {});
      expectClose(got.history.subarray(4 * slot, 4 * slot + 4), [boundSum / nf, recSum / (K * nf), klSum / nf, n], { atol: 1e-4, rtol: 2e-6 }, `history valid=${validRows}`);
      expectClose(got.accum, [boundSum, recSum / K, klSum, n], { atol: 1e-2, rtol: 2e-6 }, `accum valid=${validRows}`);
    }
  });
});

describe('iwaeChunk', () => {
  /**
   * Runs one batch's K * chunks samples as `chunks` dispatches of K, each with its own eps, z and
   * rec (at level recLevels[c]), checking after each the running state (the logsumexp of every
   * log-weight so far, for every row) and that bounds stays untouched until the last chunk.
   */
  async function runChunks(B: number, K: number, Z: number, validRows: number, recLevels: number[], layoutName: LayoutName, seed: number) {
    const chunks = recLevels.length, total = chunks * K, batchStart = 3, boundsLength = batchStart + B + 4;
    const BOUNDS_SENTINEL = -5;
    const first = makeBatch(B, K, Z, layoutName, seed);
    const k = iwaeChunk({ batch: B, samples: K, layout: first.layout });
    expect(k.name).toBe('iwae_chunk');
    expect(k.bindings.map((b) => b.name)).toEqual(['params', 'q', 'z', 'eps', 'rec', 'state', 'bounds']);
    // State left over from another batch: chunk 0 must start afresh.
    let state: Float32Array = new Float32Array(2 * B).fill(1e30);
    let bounds: Float32Array = new Float32Array(boundsLength).fill(BOUNDS_SENTINEL);
    const perChunk: Float64Array[] = [];
    const all: number[][] = Array.from({ length: B }, () => []);
    const scale = new Float64Array(B);
    for (let c = 0; c < chunks; c++) {
      const eps = f32(testData(K * B * Z, seed + 10 * c + 5, -2, 2));
      const rec = f32(testData(K * B, seed + 10 * c + 6, recLevels[c], recLevels[c] + 10));
      const t = samplesOf(first.d, first.layout, first.mulv, eps, rec);
      const out = await runKernels(
        [k],
        { params: params({ validRows, chunk: c, totalSamples: total, batchStart }), q: t.q, z: t.z, eps, rec, state, bounds },
        {},
      );
      state = out.state;
      bounds = out.bounds;
      const lw = refOf(t, validRows).logWeights;
      perChunk.push(lw);
      for (let s = 0; s < K; s++) {
        for (let b = 0; b < B; b++) {
          all[b].push(lw[s * B + b]);
          scale[b] = Math.max(scale[b], t.lwScale[s * B + b]);
        }
      }
      const lse = all.map((v) => logSumExpRef(v));
      const fromState = Array.from({ length: B }, (_, b) => state[2 * b] + Math.log(state[2 * b + 1]));
      expectScaled(fromState, lse, scale, lwTol(Z), `state after chunk ${c}`);
      const last = c === chunks - 1;
      for (let i = 0; i < boundsLength; i++) {
        const b = i - batchStart;
        if (last && b >= 0 && b < validRows) continue;
        expect(bounds[i], `bounds[${i}] after chunk ${c}`).toBe(BOUNDS_SENTINEL);
      }
    }
    const want = all.map((v) => -(logSumExpRef(v) - Math.log(total)));
    return { got: bounds.subarray(batchStart, batchStart + validRows), want: want.slice(0, validRows), scale: scale.subarray(0, validRows), tol: lwTol(Z), perChunk };
  }

  it('three chunks of K=4 (max rising, then falling): bounds[batch_start + b] over all 12 samples, valid rows only', async () => {
    const { got, want, scale, tol } = await runChunks(5, 4, 3, 4, [100, 80, 120], 'offset', 200);
    expectScaled(got, want, scale, tol, 'bounds');
  });

  it('one chunk of K=50 is the whole bound', async () => {
    const { got, want, scale, tol } = await runChunks(3, 50, 2, 3, [60], 'model', 210);
    expectScaled(got, want, scale, tol, 'bounds');
  });

  it('log-weights near -1e4 across chunks stay finite and correct', async () => {
    const { got, want, scale, tol } = await runChunks(4, 5, 3, 4, [1e4, 1e4 - 40, 1e4 + 25, 1e4], 'model', 220);
    expect(got.every(Number.isFinite)).toBe(true);
    expectScaled(got, want, scale, tol, 'bounds');
  });

  it('negative control: the bound of the last chunk alone is detected', async () => {
    const B = 5, K = 4;
    // Chunks whose rec levels are close, so the earlier ones matter without dominating.
    const { got, want, scale, tol, perChunk } = await runChunks(B, K, 3, 4, [100, 101, 100], 'offset', 230);
    expect(scaledMismatches(got, want, scale, tol)).toEqual([]);
    const last = perChunk[perChunk.length - 1];
    const lastOnly = Array.from({ length: 4 }, (_, b) => -(logSumExpRef(Array.from({ length: K }, (_, s) => last[s * B + b])) - Math.log(K)));
    expect(scaledMismatches(got, lastOnly, scale, tol).length).toBeGreaterThan(0);
  });
});

describe('iwae: log-weights far apart', () => {
  const layout: PosteriorLayout = { latent: 1, stride: 2, mu: 0, logvar: 1 };

  it('normalizes by the largest log-weight, not the first: 200 nats apart stays finite', async () => {
    // q = prior and z = eps = 0, so log w_k = -rec_k: -1000 and -800, exp(200) past f32.
    const rec = new Float32Array([1000, 800]);
    const got = await runKernels([iwaeWeights({ batch: 1, samples: 2, layout, gradients: true })],
      { params: params({ validRows: 1 }), q: new Float32Array([0, 0]), z: new Float32Array(2), eps: new Float32Array(2), rec },
      { bound: 1, row_weight: 2, dz_direct: 2, dq_direct: 2 });
    expect(got.bound[0]).toBeCloseTo(800 - Math.log1p(Math.exp(-200)) + Math.log(2), 3);
    expect(Array.from(got.row_weight)).toEqual([0, 1]);
  });

  it('a short last chunk leaves its unused rows out of the max as well as the sum', async () => {
    // total_samples 3 in a chunk of 4: row 3 is drawn but unused; its huge log-weight must not
    // become the stabilizer (exp(-1010) of the others would be 0, and the bound +Inf).
    const rec = new Float32Array([10, 11, 12, -1000]);
    const got = await runKernels([iwaeChunk({ batch: 1, samples: 4, layout })],
      { params: params({ validRows: 1, chunk: 0, totalSamples: 3, batchStart: 0 }), q: new Float32Array([0, 0]), z: new Float32Array(4), eps: new Float32Array(4), rec },
      { state: 2, bounds: 1 });
    const lse = -10 + Math.log(1 + Math.exp(-1) + Math.exp(-2));
    expect(got.bounds[0]).toBeCloseTo(-(lse - Math.log(3)), 4);
  });
});
