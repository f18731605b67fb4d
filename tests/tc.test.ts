// beta-TCVAE's total-correlation kernels (shaders/tc.ts) and the reduce's TC term (shaders/elbo.ts):
// first the float64 references (tests/reference/tc.ts) against central differences and against
// what a total correlation must be (0 for one dimension, larger for dependent dimensions), then the
// kernels against the references on aligned and unaligned batches, several samples per example,
// padding rows, another posterior layout, extreme log-variances and free bits (the TC term with
// each dimension's KL floored, some dimensions under the floor and some over); negative controls
// show the comparison fails on a wrong beta and on free bits left out.
import { describe, expect, it } from 'vitest';
import { elboReduce, klDivergence, klFreeBits } from '../shaders/elbo';
import { TC_STATS_PER_ROW, tcPosteriorGrad, tcRows } from '../shaders/tc';
import { encodeStepParams, type StepParams } from '../src/step-params';
import { centralDiff, expectClose, f32, mismatches, testData, type Tolerance } from './helpers/compare';
import { runKernels } from './helpers/gpu';
import { elboObjectiveRef, objectiveThroughSamplerRef } from './reference/objectives';
import { LAYOUTS, mulvLayout, mulvToQ, randomMulv, SENTINEL, type LayoutName } from './reference/reparam';
import { logDensityRef, tcPairLogWeightRef, tcvaeObjectiveRef, totalCorrelationRef } from './reference/tc';

const params = (p: Partial<StepParams>) => new Uint32Array(encodeStepParams(p));


/** mulv [B, 2Z] with mu in [-2, 2] and logvar in [-3, 0.5]: posteriors narrow enough to overlap only partly. */
const makeMulv = (B: number, Z: number, seed: number) => f32(randomMulv(B, Z, seed, [-2, 2], [-3, 0.5]));

/** z = mu + exp(lv/2) eps for every sample row, rounded to f32. */
function sampleZ(mulv: ArrayLike<number>, eps: ArrayLike<number>, B: number, S: number, Z: number): Float64Array {
  const z = new Float64Array(S * B * Z);
  for (let s = 0; s < S; s++) {
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < Z; j++) z[(s * B + b) * Z + j] = mulv[b * 2 * Z + j] + Math.exp(0.5 * mulv[b * 2 * Z + Z + j]) * eps[(s * B + b) * Z + j];
    }
  }
  return f32(z);
}

const FD_TOL = { atol: 1e-7, rtol: 1e-5 };

describe('totalCorrelationRef and tcvaeObjectiveRef (float64)', () => {
  const B = 5, S = 2, Z = 3, valid = 4;
  const mulv = makeMulv(B, Z, 3);
  const eps = testData(S * B * Z, 4, -2, 2);

  it('the gradient of the mean TC in z and in mulv matches central differences (padding row, S=2, N given)', () => {
    const z = sampleZ(mulv, eps, B, S, Z);
    const input = { batch: B, samples: S, latent: Z, validRows: valid, datasetSize: 1000 };
    const ref = totalCorrelationRef({ ...input, mulv, z });
    expectClose(ref.dz, centralDiff((zz) => totalCorrelationRef({ ...input, mulv, z: zz }).mean, Float64Array.from(z)), FD_TOL, 'd TC / d z');
    expectClose(ref.dmulv, centralDiff((m) => totalCorrelationRef({ ...input, mulv: m, z }).mean, Float64Array.from(mulv)), FD_TOL, 'd TC / d mulv');
    // Padding: example 4's rows add nothing and get nothing.
    expect(Array.from(ref.dmulv.subarray(4 * 2 * Z))).toEqual(new Array(2 * Z).fill(0));
    expect(ref.tc[4]).toBe(0);
    expect(ref.tc[B + 4]).toBe(0);
  });

  it('MSS: the gradient of the mean TC matches central differences; with N = n it is MWS\'s estimate less (Z - 1) log n', () => {
    const z = sampleZ(mulv, eps, B, S, Z);
    const input = { batch: B, samples: S, latent: Z, validRows: valid, datasetSize: 1000, estimator: 'mss' as const };
    const ref = totalCorrelationRef({ ...input, mulv, z });
    expectClose(ref.dz, centralDiff((zz) => totalCorrelationRef({ ...input, mulv, z: zz }).mean, Float64Array.from(z)), FD_TOL, 'd TC / d z');
    expectClose(ref.dmulv, centralDiff((m) => totalCorrelationRef({ ...input, mulv: m, z }).mean, Float64Array.from(mulv)), FD_TOL, 'd TC / d mulv');
    // With N = n every example weighs 1 / n under MSS (the batch's exact mixture) and 1 / n^2 under
    // MWS, whose estimate of each log q is then log n lower: TC_i differs by (Z - 1) log n on valid rows.
    const same = { batch: B, samples: S, latent: Z, validRows: valid, mulv, z };
    const mws = totalCorrelationRef(same).tc;
    const shifted = totalCorrelationRef({ ...same, estimator: 'mss' }).tc.map((v, i) => (i % B < valid ? v + (Z - 1) * Math.log(valid) : v));
    expectClose(shifted, mws, { atol: 1e-12, rtol: 1e-12 }, 'mss + (Z - 1) log n = mws at N = n');
    // With N past n they differ (the negative control of the line above).
    expect(Math.abs(ref.mean - totalCorrelationRef({ ...input, mulv, z, estimator: 'mws' }).mean)).toBeGreaterThan(0.1);
  });

  it('MSS\'s weighted sum is an unbiased estimate of q(z) over every batch that holds the row\'s example', () => {
    // A data set of N = 6 one-dimensional posteriors; z drawn from example 0's; every batch of
    // n = 3 examples that holds example 0 (in any order of the others) is equally likely.
    const N = 6, n = 3, zPoint = 0.3;
    const mus = [0.2, -1, 0.7, 1.5, -0.4, 0.9], lvs = [-1, 0, -0.5, 0.3, -2, -0.2];
    const p = (j: number) => Math.exp(logDensityRef(zPoint, mus[j], lvs[j]));
    const exact = mus.reduce((a, _, j) => a + p(j), 0) / N;
    let sum = 0, batches = 0;
    for (let a = 1; a < N; a++) {
      for (let b = a + 1; b < N; b++) {
        const members = [0, a, b];
        sum += members.reduce((acc, j) => acc + Math.exp(tcPairLogWeightRef('mss', j === 0, N, n)) * p(j), 0);
        batches++;
      }
    }
    expect(sum / batches).toBeCloseTo(exact, 14);
    // MWS's weights sum to 1 / N over the batch rather than 1: its estimate is q(z) / N on average.
    const weights = (estimator: 'mws' | 'mss') => [true, false, false].reduce((acc, own) => acc + Math.exp(tcPairLogWeightRef(estimator, own, N, n)), 0);
    expect(weights('mss')).toBeCloseTo(1, 14);
    expect(weights('mws')).toBeCloseTo(1 / N, 14);
  });

  it('is exactly 0 for a one-dimensional code (the joint is the only marginal)', () => {
    const m = makeMulv(6, 1, 8), z = sampleZ(m, testData(6, 9, -1, 1), 6, 1, 1);
    const ref = totalCorrelationRef({ batch: 6, samples: 1, latent: 1, validRows: 6, mulv: m, z, datasetSize: 5000 });
    for (const v of ref.tc) expect(Math.abs(v)).toBeLessThan(1e-12);
  });

  it('is larger for a code whose dimensions move together than for one whose dimensions are independent', () => {
    // 64 narrow posteriors (sigma e^-2) at z = mu: on an 8 x 8 grid over [-2, 2]^2 (a product of
    // its marginals), or along the diagonal (the second coordinate equals the first). The
    // minibatch-weighted estimate is biased by a constant for a given N and n (here log n on the
    // grid, where the true TC is 0), so the two are compared with each other.
    const n = 64, Zc = 2, at = (k: number, of: number) => -2 + (4 * k) / (of - 1);
    const build = (point: (b: number) => [number, number]) => {
      const m = new Float64Array(n * 2 * Zc);
      for (let b = 0; b < n; b++) m.set([...point(b), -4, -4], b * 2 * Zc);
      return { batch: n, samples: 1, latent: Zc, validRows: n, mulv: m, z: sampleZ(m, new Float64Array(n * Zc), n, 1, Zc) };
    };
    const grid = totalCorrelationRef(build((b) => [at(b % 8, 8), at(Math.floor(b / 8), 8)])).mean;
    const diagonal = totalCorrelationRef(build((b) => [at(b, n), at(b, n)])).mean;
    expect(diagonal - grid).toBeGreaterThan(1.5);
  });

  it('the whole objective: d loss / d mulv through the sampler matches central differences; beta = 1 is the ELBO', () => {
    const rec = testData(S * B, 5, 20, 80);
    const input = { batch: B, samples: S, latent: Z, validRows: valid, eps, rec, klWeight: 0.7, beta: 6, datasetSize: 300 };
    const ref = tcvaeObjectiveRef({ ...input, mulv });
    const through = objectiveThroughSamplerRef({ batch: B, samples: S, latent: Z, mulv, eps, dmulvDirect: ref.dmulvDirect, dzDec: new Float64Array(S * B * Z), dzDirect: ref.dzDirect });
    expectClose(through, centralDiff((m) => tcvaeObjectiveRef({ ...input, mulv: m }).loss, Float64Array.from(mulv)), FD_TOL, 'd loss / d mulv');
    const elbo = elboObjectiveRef({ batch: B, samples: S, latent: Z, validRows: valid, mulv, rec, klWeight: 0.7, freeBits: 0 });
    expect(tcvaeObjectiveRef({ ...input, mulv, beta: 1 }).loss).toBeCloseTo(elbo.loss, 12);
    expect(ref.loss).not.toBeCloseTo(elbo.loss, 3);
  });
});

interface Case {
  batch: number; samples: number; latent: number; validRows: number; layout: LayoutName; datasetCount: number; beta: number; klWeight: number;
  /** Free bits in nats (absent: off). */
  freeBits?: number;
  /** The TC estimator (absent: 'mws'). */
  estimator?: 'mws' | 'mss';
}

const cases: Case[] = [
  { batch: 1, samples: 1, latent: 1, validRows: 1, layout: 'model', datasetCount: 0, beta: 6, klWeight: 1 },
  { batch: 7, samples: 1, latent: 3, validRows: 5, layout: 'offset', datasetCount: 0, beta: 4, klWeight: 0.5 },
  { batch: 9, samples: 2, latent: 5, validRows: 9, layout: 'model', datasetCount: 60000, beta: 6, klWeight: 1 },
  { batch: 64, samples: 1, latent: 10, validRows: 64, layout: 'model', datasetCount: 737280, beta: 6, klWeight: 1 },
  { batch: 67, samples: 3, latent: 7, validRows: 50, layout: 'offset', datasetCount: 1000, beta: 0.5, klWeight: 0.2 },
  // Minibatch stratified sampling: N = n (where it is MWS's exact mixture too), and N past n.
  { batch: 7, samples: 1, latent: 3, validRows: 5, layout: 'offset', datasetCount: 0, beta: 4, klWeight: 0.5, estimator: 'mss' },
  { batch: 9, samples: 2, latent: 5, validRows: 9, layout: 'model', datasetCount: 60000, beta: 6, klWeight: 1, estimator: 'mss' },
  { batch: 67, samples: 3, latent: 7, validRows: 50, layout: 'offset', datasetCount: 1000, beta: 0.5, klWeight: 0.2, estimator: 'mss' },
];

/**
 * The free-bits floor for a case: halfway between the middle two of its dimensions' batch-mean
 * KLs, so that some dimensions are under the floor (no KL gradient) and some over.
 */
function splittingFloor(c: Case, mulv: Float64Array): number {
  const { klPerDim } = elboObjectiveRef({ batch: c.batch, samples: c.samples, latent: c.latent, validRows: c.validRows, mulv, rec: new Float64Array(c.samples * c.batch), klWeight: 1, freeBits: 0 });
  const sorted = Array.from(klPerDim).sort((a, b) => a - b), half = sorted.length >> 1;
  return f32([(sorted[half - 1] + sorted[half]) / 2])[0];
}

/** Everything the kernels write, from the float64 references. */
function expected(c: Case, mulv: Float64Array, z: Float64Array, rec: Float64Array) {
  const common = { batch: c.batch, samples: c.samples, latent: c.latent, validRows: c.validRows };
  const tc = totalCorrelationRef({ ...common, mulv, z, datasetSize: c.datasetCount, estimator: c.estimator });
  const elbo = elboObjectiveRef({ ...common, mulv, rec, klWeight: c.klWeight, freeBits: c.freeBits ?? 0 });
  const k = c.klWeight * (c.beta - 1);
  return {
    tc: tc.tc,
    dz: tc.dz.map((g) => k * g),
    dmulv: elbo.dmulvDirect.map((g, i) => g + k * tc.dmulv[i]),
    loss: elbo.loss + k * tc.mean,
    rec: elbo.recMean,
    kl: elbo.klMean,
  };
}

/** atol relative to the largest reference entry: the gradients are sums of differences of softmax weights. */
const relTo = (ref: ArrayLike<number>, rel: number, rtol: number): Tolerance => ({ atol: rel * Math.max(1e-30, ...Array.from(ref, Math.abs)), rtol });

async function runCase(c: Case, mulv: Float64Array, z: Float64Array, rec: Float64Array) {
  const { batch: B, samples: S, latent: Z } = c;
  const layout = LAYOUTS[c.layout](Z);
  const p = { batch: B, samples: S, layout, tcExcess: c.beta - 1, estimator: c.estimator };
  // With free bits, as TcvaeObjective records it: the KL without its gradient, then the floored gradient per dimension.
  const freeBits = c.freeBits !== undefined;
  const kernels = [
    klDivergence({ batch: B, layout, gradients: !freeBits }), ...(freeBits ? [klFreeBits({ batch: B, layout })] : []),
    tcRows({ ...p, gradients: true }), tcPosteriorGrad(p), elboReduce({ batch: B, samples: S, tcExcess: c.beta - 1, freeBitsLatent: freeBits ? Z : 0 }),
  ];
  return runKernels(
    kernels,
    {
      params: params({ validRows: c.validRows, klWeight: c.klWeight, datasetCount: c.datasetCount, historySlot: 1, freeBits: c.freeBits ?? 0 }),
      q: mulvToQ(mulv, B, layout, new Float64Array(B * layout.stride).fill(SENTINEL)), z, rec,
      dq_direct: new Float32Array(B * layout.stride).fill(SENTINEL), history: new Float32Array(8), accum: new Float32Array(4),
    },
    { kl: B, tc: S * B, stats: S * B * TC_STATS_PER_ROW(Z), dz_direct: S * B * Z, ...(freeBits ? { kl_dims: Z } : {}) },
  );
}

describe('tcRows, tcPosteriorGrad and elboReduce with the TC term', () => {
  cases.forEach((c, ci) => {
    it(`B=${c.batch} S=${c.samples} Z=${c.latent} valid=${c.validRows} ${c.layout} layout, N=${c.datasetCount || 'n'}, beta ${c.beta}, w ${c.klWeight}${c.estimator ? `, ${c.estimator}` : ''}`, async () => {
      const { batch: B, samples: S, latent: Z } = c;
      const layout = LAYOUTS[c.layout](Z);
      const mulv = makeMulv(B, Z, 20 + ci);
      const z = sampleZ(mulv, testData(S * B * Z, 30 + ci, -2, 2), B, S, Z);
      const rec = f32(testData(S * B, 40 + ci, 10, 300));
      const got = await runCase(c, mulv, z, rec);
      const want = expected(c, mulv, z, rec);
      // TC_i = A_i - sum_d M_id + (Z-1) log(N n): f32 error grows with the magnitudes cancelled.
      expectClose(got.tc, want.tc, { atol: 2e-5 * Z * (10 + Math.log(Math.max(c.datasetCount, c.validRows) * c.validRows)), rtol: 1e-4 }, 'tc');
      expectClose(got.dz_direct, want.dz, relTo(want.dz, 2e-4, 2e-3), 'dz_direct');
      const dq = mulvToQ(want.dmulv, B, layout, new Float64Array(B * layout.stride).fill(SENTINEL));
      expectClose(got.dq_direct, dq, relTo(want.dmulv, 2e-4, 2e-3), 'dq_direct');
      expectClose(got.history.subarray(4, 8), [want.loss, want.rec, want.kl, c.validRows], { atol: 1e-3, rtol: 1e-5 }, 'history[1]');
      for (let i = 0; i < S * B; i++) {
        if (i % B >= c.validRows) {
          expect(got.tc[i], `padding row ${i}`).toBe(0);
          expect(Array.from(got.dz_direct.subarray(i * Z, (i + 1) * Z)).every((v) => v === 0), `padding row ${i} dz`).toBe(true);
        }
      }
    });
  });

  it('log-variances of +-30, 85 and -100 and means of +-20: finite, and as the reference (which clamps at +-80)', async () => {
    const c: Case = { batch: 6, samples: 1, latent: 3, validRows: 6, layout: 'offset', datasetCount: 100, beta: 6, klWeight: 1 };
    const mulv = makeMulv(6, 3, 70);
    const lvs = [30, -30, 85, -100, 12, -12]; // e^85 is still an f32 (the KL's gradient needs it); 85 and -100 are past the clamp
    for (let b = 0; b < 6; b++) {
      mulv[b * 6] = b % 2 ? 20 : -20;
      mulv[b * 6 + 3 + (b % 3)] = lvs[b];
    }
    // z at its own mean where the variance is huge or tiny, so the densities stay representable.
    const z = f32(Array.from({ length: 18 }, (_, e) => mulv[Math.floor(e / 3) * 6 + (e % 3)] + 0.1 * ((e % 5) - 2)));
    const rec = f32(testData(6, 71, 10, 100));
    const got = await runCase(c, mulv, z, rec);
    const want = expected(c, mulv, z, rec);
    for (const name of ['tc', 'dz_direct', 'dq_direct', 'history'] as const) expect(Array.from(got[name]).every(Number.isFinite), `${name}: ${Array.from(got[name])}`).toBe(true);
    expectClose(got.tc, want.tc, { atol: 1e-2, rtol: 1e-4 }, 'tc');
    expectClose(got.dz_direct, want.dz, relTo(want.dz, 1e-4, 2e-3), 'dz_direct');
  });

  for (const estimator of ['mws', 'mss'] as const) {
    it(`${estimator}: a narrow own posterior (logvar -30) beside wide ones: the gradients as float64, not P_ii - R_iid rounded to 0`, async () => {
      // z drawn from its own posterior: where a row's own example dominates both its joint and a
      // narrow dimension's marginal, P_ii and R_iid are both within an f32 ulp of 1 and their
      // difference (a few 1e-9) times 1/sigma^2 (e^30) is a gradient of the order of the others.
      const c: Case = { batch: 6, samples: 2, latent: 3, validRows: 5, layout: 'model', datasetCount: 60000, beta: 6, klWeight: 0.7, estimator };
      const lvs = [-30, 30, 0, -5, 2, -30.5, 29];
      const mulv = f32(testData(6 * 6, 4, -50, 50));
      for (let b = 0; b < 6; b++) for (let j = 0; j < 3; j++) mulv[b * 6 + 3 + j] = lvs[(b * 3 + j) % lvs.length];
      const z = sampleZ(mulv, testData(2 * 6 * 3, 9, -2, 2), 6, 2, 3);
      const rec = f32(testData(12, 10, 10, 100));
      const got = await runCase(c, mulv, z, rec);
      const want = expected(c, mulv, z, rec);
      expectClose(got.dz_direct, want.dz, relTo(want.dz, 1e-4, 2e-3), 'dz_direct');
      const dq = mulvToQ(want.dmulv, c.batch, LAYOUTS[c.layout](c.latent), new Float64Array(c.batch * 6).fill(SENTINEL));
      expectClose(got.dq_direct, dq, relTo(want.dmulv, 1e-4, 2e-3), 'dq_direct');
    });
  }

  it("mss: a batch with one valid example (an epoch's last) adds no TC to the loss, where MWS adds its (Z - 1) log N offset", async () => {
    // Without a second example the stratified estimate's other stratum is empty: its weights would
    // sum to 1 / N and the row's TC be the constant (Z - 1) log N, 22 nats of loss at Z = 3 on MNIST.
    for (const estimator of ['mss', 'mws'] as const) {
      const c: Case = { batch: 4, samples: 2, latent: 3, validRows: 1, layout: 'model', datasetCount: 60000, beta: 3, klWeight: 1, estimator };
      const mulv = makeMulv(4, 3, 91);
      const z = sampleZ(mulv, testData(2 * 4 * 3, 92, -2, 2), 4, 2, 3);
      const rec = f32(testData(8, 93, 10, 100));
      const got = await runCase(c, mulv, z, rec);
      const want = expected(c, mulv, z, rec);
      const own = [got.tc[0], got.tc[4]];
      if (estimator === 'mss') expect(own, 'the valid rows of both samples').toEqual([0, 0]);
      else expectClose(own, [2 * Math.log(60000), 2 * Math.log(60000)], { atol: 1e-4, rtol: 1e-6 }, 'MWS: (Z - 1) log(N n), n = 1');
      expectClose(got.history.subarray(4, 8), [want.loss, want.rec, want.kl, 1], { atol: 1e-3, rtol: 1e-5 }, `${estimator}: history[1]`);
      expect(Array.from(got.dz_direct).every((v) => v === 0), `${estimator}: no z gradient from a lone example`).toBe(true);
    }
  });

  it('a dimension whose log-variances are all past the clamp (81 to 88): the TC as the clamping reference, not as one that clamps nothing', async () => {
    // Every example's density in dimension 2 is then about e^-40 wherever z is, so no example's own
    // density dominates that dimension's marginal: the clamp decides the TC, by nats.
    const c: Case = { batch: 6, samples: 1, latent: 3, validRows: 6, layout: 'offset', datasetCount: 100, beta: 6, klWeight: 1 };
    const mulv = makeMulv(6, 3, 72);
    [81, 85, 88, 82, 86, 84].forEach((lv, b) => { mulv[b * 6 + 3 + 2] = lv; });
    const z = sampleZ(mulv, testData(18, 73, -2, 2), 6, 1, 3);
    const rec = f32(testData(6, 74, 10, 100));
    const got = await runCase(c, mulv, z, rec);
    const want = expected(c, mulv, z, rec);
    expectClose(got.tc, want.tc, { atol: 1e-2, rtol: 1e-4 }, 'tc');
    expectClose(got.dz_direct, want.dz, relTo(want.dz, 1e-4, 2e-3), 'dz_direct');
    // Negative control: a reference without the clamp is nats away, so this case sees the clamp.
    const unclamped = totalCorrelationRef({ batch: 6, samples: 1, latent: 3, validRows: 6, mulv, z, datasetSize: 100, lvLimit: Infinity }).tc;
    expect(Math.max(...Array.from(unclamped, (v, i) => Math.abs(v - got.tc[i]))), 'the clamp changes the TC').toBeGreaterThan(0.5);
  });

  for (const [ci, base] of [[2, cases[2]], [4, cases[4]]] as const) {
    it(`with free bits between its dimensions' KLs: B=${base.batch} S=${base.samples} Z=${base.latent} valid=${base.validRows}, beta ${base.beta}, w ${base.klWeight}`, async () => {
      const { batch: B, samples: S, latent: Z } = base;
      const layout = LAYOUTS[base.layout](Z);
      const mulv = makeMulv(B, Z, 20 + ci);
      const c = { ...base, freeBits: splittingFloor(base, mulv) };
      const z = sampleZ(mulv, testData(S * B * Z, 30 + ci, -2, 2), B, S, Z);
      const rec = f32(testData(S * B, 40 + ci, 10, 300));
      const got = await runCase(c, mulv, z, rec);
      const want = expected(c, mulv, z, rec);
      const dq = mulvToQ(want.dmulv, B, layout, new Float64Array(B * layout.stride).fill(SENTINEL));
      expectClose(got.dq_direct, dq, relTo(want.dmulv, 2e-4, 2e-3), 'dq_direct');
      expectClose(got.dz_direct, want.dz, relTo(want.dz, 2e-4, 2e-3), 'dz_direct');
      // The training loss floors the KL term; the reported KL stays the plain batch mean.
      expectClose(got.history.subarray(4, 8), [want.loss, want.rec, want.kl, c.validRows], { atol: 1e-3, rtol: 1e-5 }, 'history[1]');
      // Free bits changed both the gradient and the loss: the case is not the plain one.
      const plain = expected(base, mulv, z, rec);
      expect(mismatches(got.dq_direct, mulvToQ(plain.dmulv, B, layout, new Float64Array(B * layout.stride).fill(SENTINEL)), relTo(plain.dmulv, 2e-4, 2e-3)).length).toBeGreaterThan(0);
      expect(mismatches(got.history.subarray(4, 5), [plain.loss], { atol: 1e-3, rtol: 1e-5 }).length).toBeGreaterThan(0);
    });
  }

  it('negative control: the MWS kernel against the MSS reference, N past n, is detected; the MSS kernels are named so', async () => {
    const c = cases[6];
    expect(c.estimator).toBe('mss');
    const mulv = makeMulv(c.batch, c.latent, 26);
    const z = sampleZ(mulv, testData(c.samples * c.batch * c.latent, 36, -2, 2), c.batch, c.samples, c.latent);
    const rec = f32(testData(c.samples * c.batch, 46, 10, 300));
    const mws = await runCase({ ...c, estimator: 'mws' }, mulv, z, rec);
    const want = expected(c, mulv, z, rec);
    expect(mismatches(mws.tc, want.tc, { atol: 1e-3, rtol: 1e-4 }).length).toBeGreaterThan(0);
    const layout = LAYOUTS[c.layout](c.latent);
    expect(tcRows({ batch: 9, samples: 2, layout, tcExcess: 5, estimator: 'mss', gradients: true }).name).toBe('tc_rows_grad_mss');
    expect(tcPosteriorGrad({ batch: 9, samples: 2, layout, tcExcess: 5, estimator: 'mss' }).name).toBe('tc_posterior_grad_mss');
    expect(() => tcRows({ batch: 9, samples: 2, layout, tcExcess: 5, estimator: 'MSS' as 'mss', gradients: true })).toThrow(/estimator/);
  });

  it('negative control: a reference with another beta is detected', async () => {
    const c = cases[2];
    const mulv = makeMulv(c.batch, c.latent, 22);
    const z = sampleZ(mulv, testData(c.samples * c.batch * c.latent, 32, -2, 2), c.batch, c.samples, c.latent);
    const rec = f32(testData(c.samples * c.batch, 42, 10, 300));
    const got = await runCase(c, mulv, z, rec);
    const wrong = expected({ ...c, beta: c.beta + 0.5 }, mulv, z, rec);
    expect(mismatches(got.dz_direct, wrong.dz, relTo(wrong.dz, 2e-4, 2e-3)).length).toBeGreaterThan(0);
    expect(mismatches(got.history.subarray(4, 5), [wrong.loss], { atol: 1e-3, rtol: 1e-5 }).length).toBeGreaterThan(0);
  });
});

describe('beta-TCVAE: log-variances past the clamp', () => {
  it('gives no log-variance gradient where |lv| > 80, and the reference\'s gradient elsewhere', async () => {
    // Finite is not enough: an unclamped gradient at lv = -100 is finite too (-0.37 here, against 0).
    const B = 2, S = 1, Z = 2, layout = mulvLayout(Z);
    const mulv = new Float64Array([0, 0, -100, 0, 0, 1, -100, 0]);
    const z = new Float64Array([0, -1, 0, 0.6]);
    const p = { batch: B, samples: S, layout, tcExcess: 5 };
    const got = await runKernels([tcRows({ ...p, gradients: false }), tcPosteriorGrad(p)],
      { params: params({ validRows: 2, klWeight: 1 }), q: Float32Array.from(mulv), z: Float32Array.from(z), dq_direct: new Float32Array(B * 2 * Z) },
      { tc: S * B, stats: S * B * TC_STATS_PER_ROW(Z) });
    const ref = totalCorrelationRef({ batch: B, samples: S, latent: Z, validRows: 2, mulv, z });
    for (let i = 0; i < B * 2 * Z; i++) expect(Math.abs(got.dq_direct[i] - 5 * ref.dmulv[i]), `entry ${i}: ${got.dq_direct[i]} against ${5 * ref.dmulv[i]}`).toBeLessThan(1e-5);
  });
});
