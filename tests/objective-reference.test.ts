// The objective references (tests/reference/objectives.ts) checked on their own, before kernels are
// compared against them: their gradients against float64 central differences (the ELBO with and
// without free bits, the IWAE bound through a toy decoder and the sampler's chain rule), a log-sum-
// exp far from 0, and the IWAE estimate against the exact log-likelihood of tiny models by
// quadrature (tests/reference/likelihood-estimate.ts).
import { describe, expect, it } from 'vitest';
import { centralDiff, expectClose, mismatches, testData } from './helpers/compare';
import { exactLogLikelihoodRef, gaussianDraws, iwaeEstimateRef, logStdNormalRef } from './reference/likelihood-estimate';
import { elboObjectiveRef, iwaeObjectiveRef, logSumExpRef, objectiveThroughSamplerRef } from './reference/objectives';
import { klTermRef, randomMulv, reparamForwardRef, sampleIndex, type ReparamDims } from './reference/reparam';

/** Central differences against analytic gradients: with |loss| of a few units the rounding of (f(x+h) - f(x-h)) / 2h is ~1e-9. */
const FD_TOL = { atol: 1e-7, rtol: 1e-6 };


/** mulv [B, 2Z] with mu in [-1.5, 1.5] and logvar in [-2, 1]. */
const makeMulv = (B: number, Z: number, seed: number) => randomMulv(B, Z, seed, [-1.5, 1.5], [-2, 1]);

/** The index of the largest |v|. */
const argMaxAbs = (v: ArrayLike<number>) => Array.from(v).reduce((best, x, i, a) => (Math.abs(x) > Math.abs(a[best]) ? i : best), 0);

describe('elboObjectiveRef', () => {
  const B = 5, L = 3, Z = 4, valid = 4; // example 4 is padding
  const rec = testData(L * B, 11, 20, 80);

  for (const klWeight of [1, 0.3]) {
    it(`klWeight ${klWeight}, no free bits: d loss / d mulv and d loss / d rec by central differences`, () => {
      const mulv = makeMulv(B, Z, 12);
      const input = { batch: B, samples: L, latent: Z, validRows: valid, rec, klWeight, freeBits: 0 };
      const ref = elboObjectiveRef({ ...input, mulv });
      expectClose(ref.dmulvDirect, centralDiff((m) => elboObjectiveRef({ ...input, mulv: m }).loss, mulv), FD_TOL, 'd loss / d mulv');
      // The loss is linear in rec, with weight 1/(L n) on the valid rows.
      const drec = centralDiff((r) => elboObjectiveRef({ ...input, mulv, rec: r }).loss, Float64Array.from(rec));
      const expected = Array.from(drec, (_, r) => (r % B < valid ? ref.recWeight : 0));
      expectClose(drec, expected, FD_TOL, 'd loss / d rec');
      expect(ref.recWeight).toBe(1 / (L * valid));

      // Without free bits it is rec mean + beta kl mean, over the valid examples only.
      let recSum = 0, klSum = 0;
      for (let b = 0; b < valid; b++) {
        for (let l = 0; l < L; l++) recSum += rec[l * B + b];
        for (let j = 0; j < Z; j++) klSum += klTermRef(mulv[b * 2 * Z + j], mulv[b * 2 * Z + Z + j]);
      }
      const record = [recSum / (L * valid) + (klWeight * klSum) / valid, recSum / (L * valid), klSum / valid];
      expectClose([ref.loss, ref.recMean, ref.klMean], record, { atol: 0, rtol: 1e-13 }, 'loss record');
      expectClose([ref.klPerDim.reduce((a, v) => a + v, 0)], [ref.klMean], { atol: 0, rtol: 1e-14 }, 'klMean = sum of klPerDim');
    });
  }

  it('free bits with two dims below and two above the floor: d loss / d mulv by central differences', () => {
    // mu scaled per dimension so the dimensions' KLs are well apart.
    const mulv = makeMulv(B, Z, 13);
    for (let b = 0; b < B; b++) for (let j = 0; j < Z; j++) mulv[b * 2 * Z + j] *= 0.2 + 0.5 * j;
    const input = { batch: B, samples: L, latent: Z, validRows: valid, rec, klWeight: 0.7 };
    const { klPerDim } = elboObjectiveRef({ ...input, mulv, freeBits: 0 });
    const sorted = Array.from(klPerDim).sort((a, b) => a - b);
    const freeBits = 0.5 * (sorted[1] + sorted[2]);
    // A perturbation of h moves a dimension's KL by ~h; keep every dimension far from the kink.
    for (const k of klPerDim) expect(Math.abs(k - freeBits)).toBeGreaterThan(1e-3);
    const below = Array.from(klPerDim, (k) => k < freeBits);
    expect(below.filter(Boolean).length).toBe(2);

    const ref = elboObjectiveRef({ ...input, mulv, freeBits });
    expectClose(ref.dmulvDirect, centralDiff((m) => elboObjectiveRef({ ...input, mulv: m, freeBits }).loss, mulv), FD_TOL, 'd loss / d mulv');
    // Below the floor the gradient is exactly zero, on mu and logvar alike.
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < Z; j++) {
        if (below[j]) expect([ref.dmulvDirect[b * 2 * Z + j], ref.dmulvDirect[b * 2 * Z + Z + j]]).toEqual([0, 0]);
      }
    }
    const floored = Array.from(klPerDim, (k) => Math.max(k, freeBits)).reduce((a, v) => a + v, 0);
    expectClose([ref.loss], [ref.recMean + 0.7 * floored], { atol: 0, rtol: 1e-14 }, 'loss with the floor');
    expect(ref.klMean).toBeLessThan(floored);
  });

  it('negative control: one flipped gradient entry fails the same comparison', () => {
    const mulv = makeMulv(B, Z, 12);
    const input = { batch: B, samples: L, latent: Z, validRows: valid, rec, klWeight: 1, freeBits: 0 };
    const fd = centralDiff((m) => elboObjectiveRef({ ...input, mulv: m }).loss, mulv);
    const grad = elboObjectiveRef({ ...input, mulv }).dmulvDirect;
    expect(mismatches(grad, fd, FD_TOL)).toEqual([]);
    const i = argMaxAbs(grad);
    grad[i] = -grad[i];
    expect(mismatches(grad, fd, FD_TOL).length).toBeGreaterThan(0);
  });
});

/** A differentiable stand-in for the decoder: rec_{k,b} = sum_j (a_j z_kbj - c_bj)^2 / 2 + 3. */
function toyDecoder(z: ArrayLike<number>, d: ReparamDims, a: ArrayLike<number>, c: ArrayLike<number>) {
  const { batch: B, samples: K, latent: Z } = d;
  const rec = new Float64Array(K * B), drec = new Float64Array(K * B * Z);
  for (let k = 0; k < K; k++) {
    for (let b = 0; b < B; b++) {
      rec[k * B + b] = 3;
      for (let j = 0; j < Z; j++) {
        const e = sampleIndex(d, k, b, j), u = a[j] * z[e] - c[b * Z + j];
        rec[k * B + b] += 0.5 * u * u;
        drec[e] = a[j] * u;
      }
    }
  }
  return { rec, drec };
}

describe('iwaeObjectiveRef', () => {
  const B = 4, Z = 3, valid = 3; // example 3 is padding
  const a = testData(Z, 21, 0.5, 1.5), c = testData(B * Z, 22, -1, 1);

  /** The IWAE loss and its full gradient in mulv: the direct parts plus the decoder's dz through the sampler. */
  function iwaeWithDecoder(mulv: Float64Array, eps: Float64Array, K: number, flip?: number) {
    const d: ReparamDims = { batch: B, samples: K, latent: Z };
    const { z } = reparamForwardRef(mulv, eps, d);
    const { rec, drec } = toyDecoder(z, d, a, c);
    const ref = iwaeObjectiveRef({ batch: B, samples: K, latent: Z, validRows: valid, mulv, eps, rec });
    // The likelihood's gradient of row r is scaled by the row's weight before the decoder's backward pass.
    const dzDec = Float64Array.from(drec, (g, e) => g * ref.rowWeights[Math.floor(e / Z)]);
    const dmulvDirect = Float64Array.from(ref.dmulvDirect);
    if (flip !== undefined) dmulvDirect[flip] = -dmulvDirect[flip];
    const grad = objectiveThroughSamplerRef({ batch: B, samples: K, latent: Z, mulv, eps, dmulvDirect, dzDec, dzDirect: ref.dzDirect });
    return { ref, rec, z, grad };
  }

  for (const K of [1, 5, 50]) {
    it(`K=${K}: d loss / d mulv through a toy decoder by central differences`, () => {
      const mulv = makeMulv(B, Z, 23 + K), eps = testData(K * B * Z, 24 + K, -2, 2);
      const { ref, rec, z, grad } = iwaeWithDecoder(mulv, eps, K);
      expectClose(grad, centralDiff((m) => iwaeWithDecoder(m, eps, K).ref.loss, mulv), FD_TOL, `K=${K} d loss / d mulv`);

      // Each valid example's weights are a softmax; row weights carry 1/n, padding none.
      for (let b = 0; b < B; b++) {
        let sum = 0, rowSum = 0;
        for (let k = 0; k < K; k++) {
          sum += ref.normalizedWeights[k * B + b];
          rowSum += ref.rowWeights[k * B + b];
        }
        expectClose([sum, rowSum], [1, b < valid ? 1 / valid : 0], { atol: 1e-14, rtol: 0 }, `weights of example ${b}`);
      }
      expect(ref.perExample[valid]).toBe(0);
      expect(Array.from(grad.subarray(valid * 2 * Z))).toEqual(new Array(2 * Z).fill(0));

      if (K === 1) {
        // One sample: the single-sample ELBO estimate rec + log q(z|x) - log p(z), per valid example.
        let direct = 0;
        for (let b = 0; b < valid; b++) {
          direct += rec[b];
          for (let j = 0; j < Z; j++) {
            const e = sampleIndex({ batch: B, samples: 1, latent: Z }, 0, b, j);
            direct += 0.5 * z[e] * z[e] - 0.5 * eps[e] * eps[e] - 0.5 * mulv[b * 2 * Z + Z + j];
          }
        }
        expect(Math.abs(ref.loss - direct / valid)).toBeLessThan(1e-12);
      }
    });
  }

  it('K=1 averages to the closed-form ELBO: the Monte Carlo KL over many eps', () => {
    // One example copied into every row of a large batch, each with its own eps.
    const M = 20000, mu = [0.8, -0.3, 1.2], lv = [-1, 0.5, -0.2];
    const mulv = new Float64Array(M * 2 * Z);
    for (let b = 0; b < M; b++) for (let j = 0; j < Z; j++) [mulv[b * 2 * Z + j], mulv[b * 2 * Z + Z + j]] = [mu[j], lv[j]];
    const rng = gaussianDraws(31);
    const eps = Float64Array.from({ length: M * Z }, rng);
    const ref = iwaeObjectiveRef({ batch: M, samples: 1, latent: Z, validRows: M, mulv, eps, rec: new Float64Array(M) });
    const kl = mu.reduce((s, m, j) => s + klTermRef(m, lv[j]), 0);
    const mean = ref.loss;
    const se = Math.sqrt(ref.perExample.reduce((s, v) => s + (v - mean) ** 2, 0) / (M - 1) / M);
    expect(Math.abs(mean - kl)).toBeLessThan(4 * se);
    expect(Math.abs(ref.klMean - kl)).toBeLessThan(1e-12);
  });

  it('matches iwaeEstimateRef on the same draws (and padding stays 0)', () => {
    const model = bernoulliModel(2);
    const K = 7, Bm = 3, validM = 2, d: ReparamDims = { batch: Bm, samples: K, latent: 2 };
    const mulv = Float64Array.of(0.4, -0.2, -1.2, -0.7, -0.5, 0.3, 0.1, -0.4, 1, 1, 0, 0);
    // eps of example b from its own generator, sample by sample, dimension by dimension.
    const eps = new Float64Array(K * Bm * 2);
    for (let b = 0; b < Bm; b++) {
      const rng = gaussianDraws(40 + b);
      for (let k = 0; k < K; k++) for (let j = 0; j < 2; j++) eps[sampleIndex(d, k, b, j)] = rng();
    }
    const { z } = reparamForwardRef(mulv, eps, d);
    const rec = Float64Array.from({ length: K * Bm }, (_, r) => -model.logLik(z.subarray(r * 2, r * 2 + 2)));
    const ref = iwaeObjectiveRef({ batch: Bm, samples: K, latent: 2, validRows: validM, mulv, eps, rec });
    const estimates = [0, 1].map((b) => iwaeEstimateRef(model.logJoint, mulv.slice(b * 4, b * 4 + 2), mulv.slice(b * 4 + 2, b * 4 + 4), K, gaussianDraws(40 + b)));
    expectClose(ref.perExample, [-estimates[0], -estimates[1], 0], { atol: 1e-12, rtol: 0 }, 'perExample = -estimate');
    expectClose([ref.loss], [-(estimates[0] + estimates[1]) / 2], { atol: 1e-12, rtol: 0 }, 'loss');
  });

  it('negative control: one flipped direct gradient entry fails the same comparison', () => {
    const K = 5, mulv = makeMulv(B, Z, 28), eps = testData(K * B * Z, 29, -2, 2);
    const fd = centralDiff((m) => iwaeWithDecoder(m, eps, K).ref.loss, mulv);
    expect(mismatches(iwaeWithDecoder(mulv, eps, K).grad, fd, FD_TOL)).toEqual([]);
    // The logvar entry of example 0 is -1/(2n), never 0.
    expect(mismatches(iwaeWithDecoder(mulv, eps, K, Z).grad, fd, FD_TOL).length).toBeGreaterThan(0);
  });

  it('log-weights near -1e4 (rec about 1e4) stay finite and exact', () => {
    // mu = 0 and logvar = 0 make z = eps, so the prior and proposal terms cancel: log w = -rec.
    const K = 4, offsets = [0, 0.5, 1, 2], Zs = 2;
    const eps = testData(K * Zs, 51, -2, 2);
    const rec = Float64Array.from(offsets, (o) => 1e4 + o);
    const ref = iwaeObjectiveRef({ batch: 1, samples: K, latent: Zs, validRows: 1, mulv: new Float64Array(2 * Zs), eps, rec });
    const tail = offsets.reduce((s, o) => s + Math.exp(-o), 0);
    const lse = -1e4 + Math.log(tail);
    expectClose(ref.logWeights, offsets.map((o) => -1e4 - o), { atol: 1e-11, rtol: 0 }, 'log w');
    expectClose([logSumExpRef(ref.logWeights)], [lse], { atol: 1e-11, rtol: 0 }, 'logsumexp');
    expectClose([ref.loss], [-(lse - Math.log(K))], { atol: 1e-11, rtol: 0 }, 'loss');
    expectClose(ref.normalizedWeights, offsets.map((o) => Math.exp(-o) / tail), { atol: 1e-15, rtol: 1e-12 }, 'softmax');
    for (const v of [...ref.dzDirect, ...ref.dmulvDirect]) expect(Number.isFinite(v)).toBe(true);
  });
});

describe('logSumExpRef', () => {
  it('is -Infinity when every term is, and does not overflow', () => {
    expect(logSumExpRef([-Infinity, -Infinity])).toBe(-Infinity);
    expect(logSumExpRef([])).toBe(-Infinity);
    expect(logSumExpRef([-Infinity, 0])).toBe(0);
    expectClose([logSumExpRef([1000, 1000])], [1000 + Math.log(2)], { atol: 1e-12, rtol: 0 }, 'logsumexp(1000, 1000)');
    expectClose([logSumExpRef([-1e4, -1e4 - 1])], [-1e4 + Math.log1p(Math.exp(-1))], { atol: 1e-11, rtol: 0 }, 'logsumexp near -1e4');
  });
});

const PIXELS = [1, 0, 1, 1, 0, 0];

/** log Bernoulli(x; sigmoid(l)) = x l - log(1 + e^l), the softplus written so it cannot overflow. */
const bernoulliLogLik = (l: number, x: number) => x * l - (Math.max(l, 0) + Math.log1p(Math.exp(-Math.abs(l))));

/** A fixed decoder with D = 6 binary pixels: p(x|z) = prod_d Bernoulli(x_d; sigmoid(w_d . z + c_d)). */
function bernoulliModel(latent: 1 | 2) {
  const D = PIXELS.length;
  const w = testData(D * latent, 7 + latent, -2.5, 2.5), c = testData(D, 9 + latent, -1, 1);
  const logLik = (z: ArrayLike<number>) => {
    let s = 0;
    for (let d = 0; d < D; d++) {
      let logit = c[d];
      for (let j = 0; j < latent; j++) logit += w[d * latent + j] * z[j];
      s += bernoulliLogLik(logit, PIXELS[d]);
    }
    return s;
  };
  return { logLik, logJoint: (z: ArrayLike<number>) => logLik(z) + logStdNormalRef(z) };
}

/** The posterior mode by grid search, refined 4x per round around the best point, and the Laplace log-variance per axis there. */
function laplaceProposal(logJoint: (z: Float64Array) => number, latent: 1 | 2) {
  let mode = new Float64Array(latent), best = logJoint(mode), step = 0.5;
  for (let round = 0; round < 6; round++) {
    const centre = Float64Array.from(mode), span = round === 0 ? 8 : 4;
    for (let i = -span; i <= span; i++) {
      for (let k = latent === 2 ? -span : 0; k <= (latent === 2 ? span : 0); k++) {
        const z = latent === 1 ? Float64Array.of(centre[0] + i * step) : Float64Array.of(centre[0] + i * step, centre[1] + k * step);
        const v = logJoint(z);
        if (v > best) [best, mode] = [v, z];
      }
    }
    step /= 4;
  }
  // logvar = -log(-d^2 log p(x, z) / dz_j^2), the diagonal of the Laplace approximation.
  const h = 1e-3;
  const logvar = Float64Array.from(mode, (_, j) => {
    const up = Float64Array.from(mode), down = Float64Array.from(mode);
    up[j] += h;
    down[j] -= h;
    return -Math.log(-(logJoint(up) - 2 * best + logJoint(down)) / (h * h));
  });
  return { mu: mode, logvar };
}

/** Mean and standard error of the mean. */
function meanAndSe(values: ArrayLike<number>) {
  const n = values.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i] / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  return { mean, se: Math.sqrt(ss / (n - 1) / n) };
}

describe('log p(x) of tiny models: quadrature and importance sampling', () => {
  it('quadrature matches a linear-Gaussian model in closed form, with log p(x|z) near -1000', () => {
    // x ~ N(a . z + b, s^2) with z ~ N(0, I) has log p(x) = log N(x; b, |a|^2 + s^2). The offset
    // makes every likelihood e^{-1000}, which underflows to 0 outside log space.
    const x = 0.9, b = -0.4, s = 0.3, offset = -1000;
    for (const a of [[1.5], [1.5, -1]]) {
      const logLik = (z: Float64Array) => offset - 0.5 * Math.log(2 * Math.PI * s * s) - (x - b - a.reduce((t, aj, j) => t + aj * z[j], 0)) ** 2 / (2 * s * s);
      const v = s * s + a.reduce((t, aj) => t + aj * aj, 0);
      const exact = offset - 0.5 * Math.log(2 * Math.PI * v) - (x - b) ** 2 / (2 * v);
      expectClose([exactLogLikelihoodRef(logLik, a.length as 1 | 2)], [exact], { atol: 1e-10, rtol: 0 }, `latent ${a.length}`);
    }
  });

  it('quadrature is converged: refining the grid changes nothing', () => {
    const one = bernoulliModel(1).logLik, two = bernoulliModel(2).logLik;
    expect(Math.abs(exactLogLikelihoodRef(one, 1, { points: 400 }) - exactLogLikelihoodRef(one, 1, { points: 800 }))).toBeLessThan(1e-8);
    expect(Math.abs(exactLogLikelihoodRef(two, 2, { points: 200 }) - exactLogLikelihoodRef(two, 2, { points: 300 }))).toBeLessThan(1e-8);
    // And the box is wide enough.
    expect(Math.abs(exactLogLikelihoodRef(one, 1, { halfWidth: 10, points: 500 }) - exactLogLikelihoodRef(one, 1))).toBeLessThan(1e-8);
  });

  for (const latent of [1, 2] as const) {
    it(`latent ${latent}: IWAE with K = 20000 matches the exact log p(x) within 3 standard errors`, () => {
      const { logLik, logJoint } = bernoulliModel(latent);
      const exact = exactLogLikelihoodRef(logLik, latent);
      const { mu, logvar } = laplaceProposal(logJoint, latent);
      const repeats = Array.from({ length: 10 }, (_, r) => iwaeEstimateRef(logJoint, mu, logvar, 20000, gaussianDraws(100 + r)));
      const { mean, se } = meanAndSe(repeats);
      // Precise enough for the comparison to mean something.
      expect(se).toBeLessThan(5e-3);
      expect(Math.abs(mean - exact), `mean ${mean} exact ${exact} se ${se}`).toBeLessThan(3 * se);
    });

    it(`latent ${latent}: ELBO < mean of the K = 50 estimate < exact log p(x)`, () => {
      const { logLik, logJoint } = bernoulliModel(latent);
      const exact = exactLogLikelihoodRef(logLik, latent);
      // The Laplace proposal moved by one standard deviation per axis: a poorer proposal, so the
      // gaps (0.5 to 0.9 nats below exact for the ELBO, 0.03 to 0.05 for K = 50, 8 to 11 of its
      // standard errors) stand out from the noise.
      const laplace = laplaceProposal(logJoint, latent);
      const mu = Float64Array.from(laplace.mu, (m, j) => m + Math.exp(0.5 * laplace.logvar[j]));
      const logvar = laplace.logvar;

      // ELBO = E_q[log p(x|z)] - KL(q || p(z)), the expectation by sampling, the KL in closed form.
      const rng = gaussianDraws(61);
      const draws = Array.from({ length: 50000 }, () => logLik(Float64Array.from(mu, (m, j) => m + Math.exp(0.5 * logvar[j]) * rng())));
      const kl = Array.from(mu).reduce((s, m, j) => s + klTermRef(m, logvar[j]), 0);
      const elbo = meanAndSe(draws);
      elbo.mean -= kl;

      const rng50 = gaussianDraws(62);
      const k50 = meanAndSe(Array.from({ length: 4000 }, () => iwaeEstimateRef(logJoint, mu, logvar, 50, rng50)));
      const detail = `elbo ${elbo.mean} (se ${elbo.se}) K=50 ${k50.mean} (se ${k50.se}) exact ${exact}`;
      expect(elbo.mean + 3 * elbo.se, detail).toBeLessThan(exact);
      expect(elbo.mean + 3 * elbo.se, detail).toBeLessThan(k50.mean - 3 * k50.se);
      expect(k50.mean + 3 * k50.se, detail).toBeLessThan(exact);
    });
  }
});

describe('gaussianDraws', () => {
  it('is deterministic per seed and standard normal to sampling accuracy', () => {
    const take = (seed: number, n: number) => Array.from({ length: n }, gaussianDraws(seed));
    expect(take(3, 5)).toEqual(take(3, 5));
    expect(take(3, 5)).not.toEqual(take(4, 5));
    const N = 100000, v = take(5, N);
    const { mean } = meanAndSe(v);
    const variance = v.reduce((s, x) => s + x * x, 0) / N;
    let lag = 0;
    for (let i = 1; i < N; i++) lag += (v[i] * v[i - 1]) / N;
    expect(Math.abs(mean)).toBeLessThan(4 / Math.sqrt(N));
    expect(Math.abs(variance - 1)).toBeLessThan(4 * Math.sqrt(2 / N));
    expect(Math.abs(lag)).toBeLessThan(4 / Math.sqrt(N));
  });
});
