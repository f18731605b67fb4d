// The likelihood kernel (shaders/likelihood.ts) against the float64 references in
// tests/reference/likelihood.ts: per-row NLL and gradients for every likelihood, both reduction
// widths, unaligned pixel counts, batch padding, per-row weights (the IWAE's), and the Bernoulli
// likelihood at huge logits. The references themselves are checked with float64 finite differences.
import { describe, expect, it } from 'vitest';
import { decoderMean, type GaussianScale, type LikelihoodRowsParams, likelihoodRows } from '../shaders/likelihood';
import { encodeStepParams, type StepParams } from '../src/step-params';
import { expectClose, expectScaled, f32, mismatches, scaledMismatches, testData } from './helpers/compare';
import { runKernels, UNWRITTEN } from './helpers/gpu';
import { likelihoodLossRef, likelihoodRowsRef, logSigmaGradRef, logSigmaOf, type LikelihoodRefInput, rowScaleRef } from './reference/likelihood';

const params = (p: Partial<StepParams>) => new Uint32Array(encodeStepParams(p));

const LOGITS = [50, -50, 100, -100, 0, 1e-3, -20, 20, 1e4, -1e4];
const TARGETS = [0, 0.3, 1];
/** Spare elements past each output, which must stay zero (bounds checks). */
const PAD = 4;

interface RowCase extends LikelihoodRowsParams {
  validRows: number;
  /** The learned global log-sigma (default -0.4; outside [-7, 2] to test the clamp). */
  globalLogSigma?: number;
}

/** Targets: {0, 0.3, 1} and grey levels; outputs: logits with extremes mixed in, or Gaussian means; row weights in [0, 0.5]. */
function makeData(c: RowCase, seed: number) {
  const { batch: B, samples: L, dim: D } = c;
  const x = f32(testData(B * D, seed, 0, 1).map((v, i) => (i % 4 < 3 ? TARGETS[i % 4] : Math.round(v * 255) / 255)));
  const gauss = c.likelihood === 'gaussian';
  const out = f32(testData(L * B * D, seed + 1, gauss ? -0.5 : -6, gauss ? 1.5 : 6).map((v, i) => (!gauss && i % 3 === 0 ? LOGITS[(i / 3) % LOGITS.length] : v)));
  let logsigma: Float64Array | undefined;
  if (c.scale === 'learned-global') logsigma = Float64Array.of(Math.fround(c.globalLogSigma ?? -0.4));
  if (c.scale === 'learned-pixel') {
    logsigma = f32(testData(D, seed + 2, -2, 1));
    logsigma[0] = Math.fround(-3); // a sharp pixel: e^{-2s} = e^6
    // Past both ends of the clamp: the likelihood uses -7 and 2, and these pixels get no gradient.
    logsigma[1] = Math.fround(-9.5);
    logsigma[2] = Math.fround(3.25);
  }
  // Padding rows get weights too: the kernel must ignore them.
  const rowWeight = c.rowWeights ? f32(testData(L * B, seed + 3, 0, 0.5)) : undefined;
  return { x, out, logsigma, rowWeight };
}

/** Per-element magnitudes of the gradient terms, for scale-relative tolerances. */
function gradScales(p: LikelihoodRefInput) {
  const { batch: B, samples: L, dim: D } = p;
  const rows = L * B;
  const doutScale = new Float64Array(rows * D);
  const dlsScale = new Float64Array(p.scale === 'learned-pixel' ? rows * D : rows);
  for (let r = 0; r < rows; r++) {
    const b = r % B;
    const gscale = rowScaleRef(p, r);
    for (let d = 0; d < D; d++) {
      const t = p.x[b * D + d], o = p.out[r * D + d];
      if (p.likelihood === 'bernoulli') { doutScale[r * D + d] = (1 + Math.abs(t)) * gscale; continue; }
      const s = logSigmaOf(p, d, r);
      const iv = Math.exp(-2 * s), a = Math.abs(o) + Math.abs(t);
      doutScale[r * D + d] = a * iv * gscale;
      const g = (1 + a * a * iv) * gscale;
      if (p.scale === 'learned-pixel') dlsScale[r * D + d] = g;
      else dlsScale[r] += g;
    }
  }
  return { doutScale, dlsScale };
}

async function runRows(c: RowCase, seed: number) {
  const { batch: B, samples: L, dim: D } = c;
  const rows = L * B;
  const k = likelihoodRows(c);
  const learned = c.likelihood === 'gaussian' && typeof c.scale === 'string';
  const perPixel = c.scale === 'learned-pixel';
  const weighted = c.gradients && !!c.rowWeights;
  // The binding list and the name follow the variant.
  expect(k.bindings.map((b) => b.name)).toEqual([
    'params', 'x', 'out', 'rec', ...(weighted ? ['row_weight'] : []), ...(c.gradients ? ['dout'] : []),
    ...(learned ? ['logsigma'] : []), ...(learned && c.gradients ? ['dls'] : []),
  ]);
  const scaleName = learned ? (perPixel ? '_learned_pixel' : '_learned_global') : '';
  expect(k.name).toBe(`likelihood_rows_${c.likelihood}${scaleName}${c.gradients ? (weighted ? '_grad_weighted' : '_grad') : ''}`);
  const { x, out, logsigma, rowWeight } = makeData(c, seed);
  const inputs: Record<string, ArrayLike<number> | Uint32Array> = { params: params({ validRows: c.validRows }), x, out };
  if (logsigma) inputs.logsigma = logsigma;
  if (weighted) inputs.row_weight = rowWeight!;
  const outputs: Record<string, number> = { rec: rows + PAD };
  if (c.gradients) outputs.dout = rows * D + PAD;
  if (learned && c.gradients) outputs.dls = (perPixel ? rows * D : rows) + PAD;
  const got = await runKernels([k], inputs, outputs);
  for (const name of Object.keys(outputs)) {
    expect(Array.from(got[name].subarray(outputs[name] - PAD)), `${name}: past the end`).toEqual(new Array(PAD).fill(UNWRITTEN));
  }
  const refIn: LikelihoodRefInput = { ...c, x, out, logsigma, rowWeight: weighted ? rowWeight : undefined };
  return { got, refIn, ref: likelihoodRowsRef(refIn), name: k.name, learned };
}

async function checkRows(c: RowCase, seed: number) {
  const { batch: B, samples: L, dim: D } = c;
  const rows = L * B;
  const { got, refIn, ref, name, learned } = await runRows(c, seed);
  expectScaled(got.rec.subarray(0, rows), ref.rec, ref.magnitude, 1e-5, `${name} rec`);
  if (!c.gradients) return;
  const { doutScale, dlsScale } = gradScales(refIn);
  expectScaled(got.dout.subarray(0, rows * D), ref.dout, doutScale, 1e-5, `${name} dout`);
  // Padding rows: exactly zero gradient, whatever their row weight.
  for (let r = 0; r < rows; r++) {
    if (r % B < c.validRows) continue;
    expect(got.dout.subarray(r * D, (r + 1) * D).every((v) => v === 0), `dout row ${r} is padding`).toBe(true);
  }
  if (learned) expectScaled(got.dls.subarray(0, ref.dls.length), ref.dls, dlsScale, 1e-5, `${name} dls`);
}

const fixed = (s: number): GaussianScale => ({ fixedLogSigma: s });

const rowCases: RowCase[] = [
  { likelihood: 'bernoulli', gradients: true, threadsPerRow: 1, batch: 7, samples: 1, dim: 33, validRows: 5 },
  // One invocation a row, D a multiple of 4: the pixels 4 at a time.
  { likelihood: 'bernoulli', gradients: true, threadsPerRow: 1, batch: 5, samples: 2, dim: 36, validRows: 3 },
  { likelihood: 'bernoulli', gradients: false, threadsPerRow: 1, batch: 4, samples: 1, dim: 784, validRows: 4 },
  { likelihood: 'bernoulli', gradients: true, rowWeights: true, threadsPerRow: 1, batch: 3, samples: 2, dim: 40, validRows: 2 },
  { likelihood: 'bernoulli', gradients: true, threadsPerRow: 64, batch: 5, samples: 2, dim: 784, validRows: 3 },
  { likelihood: 'bernoulli', gradients: false, threadsPerRow: 64, batch: 4, samples: 1, dim: 13, validRows: 4 },
  { likelihood: 'bernoulli', gradients: false, threadsPerRow: 1, batch: 5, samples: 3, dim: 37, validRows: 2 },
  { likelihood: 'bernoulli', gradients: true, rowWeights: true, threadsPerRow: 1, batch: 5, samples: 3, dim: 37, validRows: 4 },
  { likelihood: 'bernoulli', gradients: true, rowWeights: true, threadsPerRow: 64, batch: 3, samples: 5, dim: 13, validRows: 2 },
  { likelihood: 'gaussian', scale: fixed(-0.7), gradients: true, threadsPerRow: 1, batch: 7, samples: 2, dim: 33, validRows: 6 },
  { likelihood: 'gaussian', scale: fixed(0.4), gradients: true, threadsPerRow: 64, batch: 3, samples: 3, dim: 13, validRows: 3 },
  { likelihood: 'gaussian', gradients: false, threadsPerRow: 64, batch: 3, samples: 2, dim: 784, validRows: 3 },
  { likelihood: 'gaussian', scale: fixed(-0.7), gradients: true, rowWeights: true, threadsPerRow: 1, batch: 4, samples: 3, dim: 37, validRows: 3 },
  { likelihood: 'gaussian', scale: 'learned-global', gradients: true, threadsPerRow: 64, batch: 7, samples: 2, dim: 33, validRows: 5 },
  { likelihood: 'gaussian', scale: 'learned-global', gradients: true, threadsPerRow: 1, batch: 5, samples: 1, dim: 784, validRows: 5 },
  { likelihood: 'gaussian', scale: 'learned-global', gradients: false, threadsPerRow: 64, batch: 3, samples: 1, dim: 33, validRows: 2 },
  { likelihood: 'gaussian', scale: 'learned-global', gradients: true, rowWeights: true, threadsPerRow: 64, batch: 5, samples: 2, dim: 37, validRows: 4 },
  { likelihood: 'gaussian', scale: 'learned-global', globalLogSigma: -8.5, gradients: true, threadsPerRow: 64, batch: 5, samples: 2, dim: 37, validRows: 4 },
  { likelihood: 'gaussian', scale: 'learned-global', globalLogSigma: 2.5, gradients: true, threadsPerRow: 1, batch: 3, samples: 1, dim: 33, validRows: 3 },
  { likelihood: 'gaussian', scale: 'learned-pixel', gradients: true, threadsPerRow: 64, batch: 5, samples: 2, dim: 784, validRows: 4 },
  { likelihood: 'gaussian', scale: 'learned-pixel', gradients: true, threadsPerRow: 1, batch: 7, samples: 1, dim: 33, validRows: 7 },
  { likelihood: 'gaussian', scale: 'learned-pixel', gradients: false, threadsPerRow: 1, batch: 3, samples: 2, dim: 13, validRows: 1 },
  { likelihood: 'gaussian', scale: 'learned-pixel', gradients: true, rowWeights: true, threadsPerRow: 1, batch: 3, samples: 3, dim: 13, validRows: 2 },
];

const describeScale = (s?: GaussianScale) => (s === undefined ? '' : typeof s === 'string' ? ` ${s}` : ` logsigma=${s.fixedLogSigma}`);

describe('likelihoodRows', () => {
  rowCases.forEach((c, i) => {
    const grads = c.gradients ? (c.rowWeights ? 'row weights' : 'grads') : 'no grads';
    const ls = c.globalLogSigma === undefined ? '' : `=${c.globalLogSigma}`;
    it(`${c.likelihood}${describeScale(c.scale)}${ls} ${grads} T=${c.threadsPerRow} B=${c.batch} L=${c.samples} D=${c.dim} valid=${c.validRows}`, async () => {
      await checkRows(c, 10 * i + 1);
    });
  });

  it('bernoulli with logits +-50, +-100 and targets {0, 0.3, 1} is finite and stable (T = 1 and 64)', async () => {
    // One row per (logit, target) pair over 4 logits x 3 targets, repeated with the pairs rotated.
    const base = [50, -50, 100, -100];
    const B = 6, D = 12;
    const x = new Float64Array(B * D), out = new Float64Array(B * D);
    for (let b = 0; b < B; b++) {
      for (let d = 0; d < D; d++) {
        const k = (d + b) % D;
        out[b * D + d] = base[k % 4];
        x[b * D + d] = Math.fround(TARGETS[Math.floor(k / 4)]);
      }
    }
    const ref = likelihoodRowsRef({ batch: B, samples: 1, dim: D, likelihood: 'bernoulli', x, out, validRows: B });
    // Every row holds the same 12 pairs; for each target t, softplus(l) - t l over l = 50, -50, 100, -100
    // is (50 - 50t) + 50t + (100 - 100t) + 100t = 150 up to e^-50.
    for (let b = 0; b < B; b++) expect(ref.rec[b]).toBeCloseTo(450, 9);
    for (const T of [1, 64]) {
      const k = likelihoodRows({ batch: B, samples: 1, dim: D, likelihood: 'bernoulli', gradients: true, threadsPerRow: T });
      const got = await runKernels([k], { params: params({ validRows: B }), x, out }, { rec: B, dout: B * D });
      expectClose(got.rec, ref.rec, { atol: 1e-4, rtol: 1e-6 }, `rec T=${T}`);
      expectClose(got.dout, ref.dout, { atol: 1e-7, rtol: 1e-6 }, `dout T=${T}`);
    }
  });

  it('bernoulli pixels predicted well (logit 3 to 50 on the target\'s side): NLL and gradient within 1e-5 relative (scalar, vec4, T = 64)', async () => {
    // log(1 + e) and 1 / (1 + e) - 1 lose every digit of e = exp(-|l|) there: the NLL and the
    // gradient of an on pixel were 0 from l = 17 (true 4e-8), 17% off at 15. Both sides, both targets.
    const logits = [3, 5, 8, 10, 12, 15, 17, 20, 30, 50];
    const pairs = [...logits.map((l) => [l, 1]), ...logits.map((l) => [-l, 0])];
    for (const [T, D] of [[1, 4], [1, 1], [64, 4]]) {
      const B = pairs.length;
      const out = Float64Array.from({ length: B * D }, (_, i) => pairs[Math.floor(i / D)][0]);
      const x = Float64Array.from({ length: B * D }, (_, i) => pairs[Math.floor(i / D)][1]);
      const ref = likelihoodRowsRef({ batch: B, samples: 1, dim: D, likelihood: 'bernoulli', x, out, validRows: B });
      const k = likelihoodRows({ batch: B, samples: 1, dim: D, likelihood: 'bernoulli', gradients: true, threadsPerRow: T });
      const got = await runKernels([k], { params: params({ validRows: B }), x, out }, { rec: B, dout: B * D });
      expectClose(got.rec, ref.rec, { atol: 0, rtol: 1e-5 }, `rec T=${T} D=${D}`);
      expectClose(got.dout, ref.dout, { atol: 0, rtol: 1e-5 }, `dout T=${T} D=${D}`);
    }
  });

  it('negative control: a reference that forgets the 1 / L of the samples is detected', async () => {
    const c: RowCase = { likelihood: 'bernoulli', gradients: true, threadsPerRow: 1, batch: 5, samples: 3, dim: 13, validRows: 4 };
    const { got, refIn, ref } = await runRows(c, 5);
    const { doutScale } = gradScales(refIn);
    const D = c.dim, rows = c.batch * c.samples;
    expect(scaledMismatches(got.dout.subarray(0, rows * D), ref.dout, doutScale, 1e-5)).toEqual([]);
    const wrong = ref.dout.map((v) => v * c.samples);
    expect(scaledMismatches(got.dout.subarray(0, rows * D), wrong, doutScale, 1e-5).length).toBeGreaterThan(0);
  });

  it('folds more row groups than one grid dimension holds into y, covering every row (T = 1 and 64)', async () => {
    // T = 1 takes 4 rows a workgroup, so 2 x 140000 rows need 70000 of them; T = 64 one per row.
    for (const [T, B, L] of [[1, 140_000, 2], [64, 70_000, 1]]) {
      const D = 1, rows = L * B;
      const x = f32(testData(B * D, T, 0, 1)), out = f32(testData(rows * D, T + 1, -6, 6));
      const k = likelihoodRows({ batch: B, samples: L, dim: D, likelihood: 'bernoulli', gradients: false, threadsPerRow: T });
      expect(Math.max(...k.workgroups)).toBeLessThanOrEqual(65535);
      expect(k.workgroups[1]).toBeGreaterThan(1);
      const got = await runKernels([k], { params: params({ validRows: B }), x, out }, { rec: rows + PAD });
      const ref = likelihoodRowsRef({ batch: B, samples: L, dim: D, likelihood: 'bernoulli', x, out, validRows: B });
      expectClose(got.rec.subarray(0, rows), ref.rec, { atol: 1e-5, rtol: 1e-5 }, `rec T=${T}`);
      expect(Array.from(got.rec.subarray(rows)).every(Number.isNaN), `T=${T}: past the last row`).toBe(true);
    }
  });

  it('rejects a threadsPerRow that is not a power of two', () => {
    expect(() => likelihoodRows({ batch: 1, samples: 1, dim: 4, likelihood: 'bernoulli', gradients: false, threadsPerRow: 48 })).toThrow(/power of two/);
  });

  it('refuses parameters it would ignore: a scale for a Bernoulli, row weights without gradients', () => {
    expect(() => likelihoodRows({ batch: 1, samples: 1, dim: 4, likelihood: 'bernoulli', scale: 'learned-pixel', gradients: true }))
      .toThrow(/likelihood_rows: scale belongs to the 'gaussian' likelihood; leave it out for 'bernoulli', or set likelihood: 'gaussian'/);
    expect(() => decoderMean({ rows: 1, dim: 4, likelihood: 'bernoulli', scale: { fixedLogSigma: 0 } })).toThrow(/decoder_mean: scale belongs to the 'gaussian' likelihood/);
    expect(() => likelihoodRows({ batch: 1, samples: 1, dim: 4, likelihood: 'gaussian', gradients: false, rowWeights: true }))
      .toThrow(/rowWeights weighs the gradients, and gradients is false/);
  });
});

describe('likelihood references (float64 finite differences)', () => {
  const B = 3, L = 2, D = 4, validRows = 2;
  const scales: [string, 'bernoulli' | 'gaussian', GaussianScale | undefined][] = [
    ['bernoulli', 'bernoulli', undefined],
    ['gaussian fixed', 'gaussian', fixed(-0.3)],
    ['gaussian learned-global', 'gaussian', 'learned-global'],
    ['gaussian learned-pixel', 'gaussian', 'learned-pixel'],
  ];
  for (const [name, likelihood, scale] of scales) {
    for (const weighted of [false, true]) {
      it(`${name}${weighted ? ' with row weights' : ''}`, () => {
        const x = testData(B * D, 1, 0, 1);
        const out = testData(L * B * D, 2, -3, 3);
        if (likelihood === 'bernoulli') { out[0] = 50; out[1] = -50; out[2] = 100; out[3] = -100; }
        const logsigma = scale === 'learned-pixel' ? testData(D, 3, -1, 1) : scale === 'learned-global' ? Float64Array.of(0.2) : undefined;
        // Two pixels past the clamp's ends: the loss is flat there, and the analytic gradient 0.
        // Pixel 1's means sit near its targets so that its e^14 precision keeps the loss small
        // enough for finite differences.
        if (scale === 'learned-pixel') {
          logsigma![1] = -8;
          logsigma![2] = 2.5;
          for (let r = 0; r < L * B; r++) out[r * D + 1] = x[(r % B) * D + 1] + 1e-3 * (r + 1);
        }
        const rowWeight = weighted ? testData(L * B, 4, 0.1, 0.6) : undefined;
        const base: LikelihoodRefInput = { batch: B, samples: L, dim: D, likelihood, scale, x, out, logsigma, validRows, rowWeight };
        const h = 1e-5;
        const diff = (f: (delta: number) => number) => (f(h) - f(-h)) / (2 * h);

        const ref = likelihoodRowsRef(base);
        const fdOut = Array.from(out, (_, i) => diff((delta) => {
          const o = Float64Array.from(out);
          o[i] += delta;
          return likelihoodLossRef({ ...base, out: o });
        }));
        expectClose(fdOut, ref.dout, { atol: 1e-8, rtol: 1e-6 }, `${name}: d loss / d out`);
        // The padded example (b = 2) gets exactly zero gradient, and the loss ignores it.
        expect(fdOut.filter((_, i) => Math.floor(i / D) % B === 2).every((v) => v === 0)).toBe(true);

        if (likelihood === 'gaussian') {
          const analytic = logSigmaGradRef(base);
          const fdLs = typeof scale === 'object'
            ? [diff((delta) => likelihoodLossRef({ ...base, scale: fixed(scale.fixedLogSigma + delta) }))]
            : Array.from(logsigma!, (_, i) => diff((delta) => {
              const ls = Float64Array.from(logsigma!);
              ls[i] += delta;
              return likelihoodLossRef({ ...base, logsigma: ls });
            }));
          expectClose(fdLs, analytic, { atol: 1e-8, rtol: 1e-6 }, `${name}: d loss / d logsigma`);
        }
      });
    }
  }
});
