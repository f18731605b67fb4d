// ELBO kernels (shaders/elbo.ts) against the float64 references in tests/reference/elbo.ts:
// per-row NLL and gradients for every likelihood, both reduction widths, batch padding, the
// Bernoulli likelihood at huge logits, and the batch reduction into the history ring and the
// running accumulator. The references themselves are checked with float64 finite differences.
import { describe, expect, it } from 'vitest';
import { bindKernel } from '../shaders/common';
import { elboReduce, elboRows, type ElboRowsParams, type GaussianScale } from '../shaders/elbo';
import { encodeStepParams, STREAM, type StepParams } from '../src/step-params';
import { expectClose, f32, testData } from './helpers/compare';
import { runKernels } from './helpers/gpu';
import { elboRecLossRef, elboReduceRef, elboRowsRef, logSigmaGradRef, type ElboRefInput } from './reference/elbo';

function params(p: Partial<StepParams>): Uint32Array {
  return new Uint32Array(encodeStepParams({
    seed: 1, counter: 0, batchStart: 0, validRows: 0, historySlot: 0, stream: STREAM.train, datasetCount: 0,
    lr: 0, beta1: 0.9, beta2: 0.999, adamEps: 1e-8, step: 0, weightDecay: 0, klBeta: 1, ...p,
  }));
}

/** |got - ref| <= tol * scale element-wise (scale 0 means the value must match to tol absolutely). */
function expectScaled(got: ArrayLike<number>, ref: ArrayLike<number>, scale: ArrayLike<number>, tol: number, label: string) {
  const s = (i: number) => scale[i] || 1;
  expectClose(Array.from(got, (v, i) => v / s(i)), Array.from(ref, (v, i) => v / s(i)), { atol: tol, rtol: 0 }, label);
}

const LOGITS = [50, -50, 100, -100, 0, 1e-3, -20, 20, 1e4, -1e4];
const TARGETS = [0, 0.3, 1];

/** Targets: {0, 0.3, 1} and grey levels; outputs: logits with extremes mixed in, or Gaussian means. */
function makeData(c: ElboRowsParams, seed: number) {
  const { batch: B, samples: L, dim: D } = c;
  const x = f32(testData(B * D, seed, 0, 1).map((v, i) => (i % 4 < 3 ? TARGETS[i % 4] : Math.round(v * 255) / 255)));
  const gauss = c.likelihood === 'gaussian';
  const out = f32(testData(L * B * D, seed + 1, gauss ? -0.5 : -6, gauss ? 1.5 : 6).map((v, i) => (!gauss && i % 3 === 0 ? LOGITS[(i / 3) % LOGITS.length] : v)));
  let logsigma: Float64Array | undefined;
  if (c.scale === 'learned-global') logsigma = Float64Array.of(Math.fround(-0.4));
  if (c.scale === 'learned-pixel') {
    logsigma = f32(testData(D, seed + 2, -2, 1));
    logsigma[0] = Math.fround(-3); // a sharp pixel: e^{-2s} = e^6
  }
  return { x, out, logsigma };
}

/** Per-element magnitudes of the gradient terms, for scale-relative tolerances. */
function gradScales(p: ElboRefInput) {
  const { batch: B, samples: L, dim: D } = p;
  const rows = L * B;
  const doutScale = new Float64Array(rows * D);
  const dlsScale = new Float64Array(p.scale === 'learned-pixel' ? rows * D : rows);
  for (let r = 0; r < rows; r++) {
    const b = r % B;
    const gscale = b < p.validRows ? 1 / (L * Math.max(p.validRows, 1)) : 0;
    for (let d = 0; d < D; d++) {
      const t = p.x[b * D + d], o = p.out[r * D + d];
      if (p.likelihood === 'bernoulli') { doutScale[r * D + d] = (1 + Math.abs(t)) * gscale; continue; }
      const s = typeof p.scale === 'string' ? p.logsigma![p.scale === 'learned-pixel' ? d : 0] : (p.scale?.fixedLogSigma ?? 0);
      const iv = Math.exp(-2 * s), a = Math.abs(o) + Math.abs(t);
      doutScale[r * D + d] = a * iv * gscale;
      const g = (1 + a * a * iv) * gscale;
      if (p.scale === 'learned-pixel') dlsScale[r * D + d] = g;
      else dlsScale[r] += g;
    }
  }
  return { doutScale, dlsScale };
}

interface RowCase extends ElboRowsParams { validRows: number }

async function checkRows(c: RowCase, seed: number) {
  const { batch: B, samples: L, dim: D } = c;
  const rows = L * B;
  const k = bindKernel(elboRows(c), { rows });
  const learned = c.likelihood === 'gaussian' && typeof c.scale === 'string';
  const perPixel = c.scale === 'learned-pixel';
  // The binding list follows the variant.
  expect(k.bindings.map((b) => b.name)).toEqual([
    'params', 'x', 'out', 'rec', ...(c.gradients ? ['dout'] : []), ...(learned ? ['logsigma'] : []), ...(learned && c.gradients ? ['dls'] : []),
  ]);
  const { x, out, logsigma } = makeData(c, seed);
  const inputs: Record<string, ArrayLike<number>> = { params: params({ validRows: c.validRows }), x, out };
  if (logsigma) inputs.logsigma = logsigma;
  const outputs: Record<string, number> = { rec: rows };
  if (c.gradients) outputs.dout = rows * D;
  if (learned && c.gradients) outputs.dls = perPixel ? rows * D : rows;
  const got = await runKernels([k], inputs, outputs);

  const refIn: ElboRefInput = { ...c, x, out, logsigma };
  const ref = elboRowsRef(refIn);
  expectScaled(got.rec, ref.rec, ref.magnitude, 1e-5, `${k.name} rec`);
  if (!c.gradients) return;
  const { doutScale, dlsScale } = gradScales(refIn);
  expectScaled(got.dout, ref.dout, doutScale, 1e-5, `${k.name} dout`);
  // Padding rows: exactly zero gradient.
  for (let r = 0; r < rows; r++) {
    if (r % B < c.validRows) continue;
    expect(got.dout.subarray(r * D, (r + 1) * D).every((v) => v === 0), `dout row ${r} is padding`).toBe(true);
  }
  if (learned) expectScaled(got.dls, ref.dls, dlsScale, 1e-5, `${k.name} dls`);
}

const fixed = (s: number): GaussianScale => ({ fixedLogSigma: s });

const rowCases: RowCase[] = [
  { likelihood: 'bernoulli', gradients: true, threadsPerRow: 1, batch: 7, samples: 1, dim: 33, validRows: 5 },
  { likelihood: 'bernoulli', gradients: true, threadsPerRow: 64, batch: 5, samples: 2, dim: 784, validRows: 3 },
  { likelihood: 'bernoulli', gradients: false, threadsPerRow: 64, batch: 4, samples: 1, dim: 33, validRows: 4 },
  { likelihood: 'gaussian', scale: fixed(-0.7), gradients: true, threadsPerRow: 1, batch: 7, samples: 2, dim: 33, validRows: 6 },
  { likelihood: 'gaussian', gradients: false, threadsPerRow: 64, batch: 3, samples: 2, dim: 784, validRows: 3 },
  { likelihood: 'gaussian', scale: 'learned-global', gradients: true, threadsPerRow: 64, batch: 7, samples: 2, dim: 33, validRows: 5 },
  { likelihood: 'gaussian', scale: 'learned-global', gradients: true, threadsPerRow: 1, batch: 5, samples: 1, dim: 784, validRows: 5 },
  { likelihood: 'gaussian', scale: 'learned-global', gradients: false, threadsPerRow: 64, batch: 3, samples: 1, dim: 33, validRows: 2 },
  { likelihood: 'gaussian', scale: 'learned-pixel', gradients: true, threadsPerRow: 64, batch: 5, samples: 2, dim: 784, validRows: 4 },
  { likelihood: 'gaussian', scale: 'learned-pixel', gradients: true, threadsPerRow: 1, batch: 7, samples: 1, dim: 33, validRows: 7 },
  { likelihood: 'gaussian', scale: 'learned-pixel', gradients: false, threadsPerRow: 1, batch: 3, samples: 2, dim: 33, validRows: 1 },
];

const describeScale = (s?: GaussianScale) => (s === undefined ? '' : typeof s === 'string' ? ` ${s}` : ` logsigma=${s.fixedLogSigma}`);

describe('elboRows', () => {
  rowCases.forEach((c, i) => {
    it(`${c.likelihood}${describeScale(c.scale)} grads=${c.gradients} T=${c.threadsPerRow} B=${c.batch} L=${c.samples} D=${c.dim} valid=${c.validRows}`, async () => {
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
    const ref = elboRowsRef({ batch: B, samples: 1, dim: D, likelihood: 'bernoulli', x, out, validRows: B });
    // Every row holds the same 12 pairs; for each target t, softplus(l) - t l over l = 50, -50, 100, -100
    // is (50 - 50t) + 50t + (100 - 100t) + 100t = 150 up to e^-50.
    for (let b = 0; b < B; b++) expect(ref.rec[b]).toBeCloseTo(450, 9);
    for (const T of [1, 64]) {
      const k = bindKernel(elboRows({ batch: B, samples: 1, dim: D, likelihood: 'bernoulli', gradients: true, threadsPerRow: T }), { rows: B });
      const got = await runKernels([k], { params: params({ validRows: B }), x, out }, { rec: B, dout: B * D });
      expectClose(got.rec, ref.rec, { atol: 1e-4, rtol: 1e-6 }, `rec T=${T}`);
      expectClose(got.dout, ref.dout, { atol: 1e-7, rtol: 1e-6 }, `dout T=${T}`);
    }
  });

  it('rejects a threadsPerRow that is not a power of two', () => {
    expect(() => elboRows({ batch: 1, samples: 1, dim: 4, likelihood: 'bernoulli', gradients: false, threadsPerRow: 48 })).toThrow(/power of two/);
  });
});

describe('ELBO references (float64 finite differences)', () => {
  const B = 3, L = 2, D = 4, validRows = 2;
  const scales: [string, 'bernoulli' | 'gaussian', GaussianScale | undefined][] = [
    ['bernoulli', 'bernoulli', undefined],
    ['gaussian fixed', 'gaussian', fixed(-0.3)],
    ['gaussian learned-global', 'gaussian', 'learned-global'],
    ['gaussian learned-pixel', 'gaussian', 'learned-pixel'],
  ];
  for (const [name, likelihood, scale] of scales) {
    it(name, () => {
      const x = testData(B * D, 1, 0, 1);
      const out = testData(L * B * D, 2, -3, 3);
      if (likelihood === 'bernoulli') { out[0] = 50; out[1] = -50; out[2] = 100; out[3] = -100; }
      const logsigma = scale === 'learned-pixel' ? testData(D, 3, -1, 1) : scale === 'learned-global' ? Float64Array.of(0.2) : undefined;
      const base: ElboRefInput = { batch: B, samples: L, dim: D, likelihood, scale, x, out, logsigma, validRows };
      const h = 1e-5;
      const diff = (f: (delta: number) => number) => (f(h) - f(-h)) / (2 * h);

      const ref = elboRowsRef(base);
      const fdOut = Array.from(out, (_, i) => diff((delta) => {
        const o = Float64Array.from(out);
        o[i] += delta;
        return elboRecLossRef({ ...base, out: o });
      }));
      expectClose(fdOut, ref.dout, { atol: 1e-8, rtol: 1e-6 }, `${name}: d loss / d out`);
      // The padded example (b = 2) gets exactly zero gradient, and the loss ignores it.
      expect(fdOut.filter((_, i) => Math.floor(i / D) % B === 2).every((v) => v === 0)).toBe(true);

      if (likelihood === 'gaussian') {
        const analytic = logSigmaGradRef(base);
        const fdLs = typeof scale === 'object'
          ? [diff((delta) => elboRecLossRef({ ...base, scale: fixed(scale.fixedLogSigma + delta) }))]
          : Array.from(logsigma!, (_, i) => diff((delta) => {
            const ls = Float64Array.from(logsigma!);
            ls[i] += delta;
            return elboRecLossRef({ ...base, logsigma: ls });
          }));
        expectClose(fdLs, analytic, { atol: 1e-8, rtol: 1e-6 }, `${name}: d loss / d logsigma`);
      }
    });
  }
});

describe('elboReduce', () => {
  const SENTINEL = -7;

  it('writes history[slot] and accumulates over two dispatches and two steps (B=7, L=2)', async () => {
    const B = 7, L = 2, slots = 8;
    const k = bindKernel(elboReduce({ batch: B, samples: L }), undefined);
    const rec1 = f32(testData(L * B, 1, 0, 200)), kl1 = f32(testData(B, 2, 0, 30));
    const history0 = new Float32Array(slots * 4).fill(SENTINEL);
    const accum0 = Float32Array.of(1, 2, 3, 4);

    // Step 1: the same reduction dispatched twice in one pass adds its sums twice.
    const p1 = { validRows: 5, historySlot: 3, klBeta: 0.5 };
    const s1 = await runKernels([k, k], { params: params(p1), rec: rec1, kl: kl1, history: history0, accum: accum0 }, {});
    const r1 = elboReduceRef(rec1, kl1, B, L, p1.validRows, p1.klBeta);
    const want1 = r1.accum.map((v, i) => accum0[i] + 2 * v);
    expectClose(s1.history.subarray(12, 16), r1.history, { atol: 1e-5, rtol: 1e-6 }, 'history[3] after step 1');
    expectClose(s1.accum, want1, { atol: 1e-4, rtol: 1e-6 }, 'accum after step 1');
    expect(s1.history[15]).toBe(5);
    expect(Array.from(s1.history).filter((_, i) => Math.floor(i / 4) !== 3).every((v) => v === SENTINEL)).toBe(true);

    // Step 2: new data, slot and beta; accum keeps adding on top of step 1.
    const rec2 = f32(testData(L * B, 3, 0, 200)), kl2 = f32(testData(B, 4, 0, 30));
    const p2 = { validRows: 7, historySlot: 6, klBeta: 1 };
    const s2 = await runKernels([k], { params: params(p2), rec: rec2, kl: kl2, history: s1.history, accum: s1.accum }, {});
    const r2 = elboReduceRef(rec2, kl2, B, L, p2.validRows, p2.klBeta);
    expectClose(s2.history.subarray(24, 28), r2.history, { atol: 1e-5, rtol: 1e-6 }, 'history[6] after step 2');
    expect(Array.from(s2.history.subarray(12, 16))).toEqual(Array.from(s1.history.subarray(12, 16)));
    expectClose(s2.accum, want1.map((v, i) => v + r2.accum[i]), { atol: 1e-4, rtol: 1e-6 }, 'accum after step 2');
    expect([s2.accum[2], s2.accum[3]]).toEqual([3 + 2 * 5 + 7, 4 + 3]);
  });

  it('strides over more examples than threads, clamps valid_rows to the batch, and handles n = 0 (B=130, L=1)', async () => {
    const B = 130, L = 1;
    const k = bindKernel(elboReduce({ batch: B, samples: L }), undefined);
    const rec = f32(testData(B, 5, 50, 150)), kl = f32(testData(B, 6, 0, 20));
    for (const [validRows, slot] of [[129, 0], [500, 1], [0, 2]]) {
      const got = await runKernels([k], { params: params({ validRows, historySlot: slot, klBeta: 0.25 }), rec, kl, history: new Float32Array(12).fill(SENTINEL), accum: new Float32Array(4) }, {});
      const ref = elboReduceRef(rec, kl, B, L, validRows, 0.25);
      expectClose(got.history.subarray(4 * slot, 4 * slot + 4), ref.history, { atol: 1e-4, rtol: 1e-6 }, `history valid=${validRows}`);
      expectClose(got.accum, ref.accum, { atol: 1e-3, rtol: 1e-6 }, `accum valid=${validRows}`);
      expect(got.history[4 * slot + 3]).toBe(Math.min(validRows, B));
    }
  });

  it('chained after elboRows in one pass gives the batch -ELBO', async () => {
    const B = 7, L = 2, D = 33, validRows = 6, beta = 0.8;
    const c: ElboRowsParams = { batch: B, samples: L, dim: D, likelihood: 'bernoulli', gradients: true, threadsPerRow: 64 };
    const { x, out } = makeData(c, 77);
    const kl = f32(testData(B, 8, 0, 10));
    const got = await runKernels(
      [bindKernel(elboRows(c), { rows: L * B }), bindKernel(elboReduce({ batch: B, samples: L }), undefined)],
      { params: params({ validRows, historySlot: 1, klBeta: beta }), x, out, kl, history: new Float32Array(8), accum: new Float32Array(4) },
      { rec: L * B, dout: L * B * D },
    );
    const rec = elboRowsRef({ ...c, x, out, validRows }).rec;
    const want = elboReduceRef(rec, kl, B, L, validRows, beta).history;
    const recMean = elboRecLossRef({ ...c, x, out, validRows });
    expect(want[1]).toBeCloseTo(recMean, 9);
    expectClose(got.history.subarray(4, 8), want, { atol: 1e-3, rtol: 1e-5 }, 'history[1] = (loss, rec, kl, n)');
  });
});
