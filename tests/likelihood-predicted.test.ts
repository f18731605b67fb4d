// The Gaussian likelihood with a predicted per-pixel scale (a decoder row holds D means, then D
// raw log-scales, clamped to LOG_SCALE_RANGE) and the decoderMean kernel that turns decoder
// outputs into pictures, against the float64 references in tests/reference/likelihood.ts. Raw
// log-scales run past both ends of the clamp, so the zero gradient outside it is exercised.
import { describe, expect, it } from 'vitest';
import { decoderMean, decoderOutputWidth, likelihoodRows, LOG_SCALE_RANGE } from '../shaders/likelihood';
import { encodeStepParams } from '../src/step-params';
import { expectClose, expectScaled, f32, scaledMismatches, testData } from './helpers/compare';
import { runKernels, untouched } from './helpers/gpu';
import { likelihoodLossRef, likelihoodRowsRef, type LikelihoodRefInput, LOG_SCALE_RANGE_REF, rowScaleRef, sigmoidRef } from './reference/likelihood';

const PAD = 4;

interface Case { batch: number; samples: number; dim: number; validRows: number; threadsPerRow: number; rowWeights?: boolean }

function makeData(c: Case, seed: number) {
  const { batch: B, samples: L, dim: D } = c;
  const x = f32(testData(B * D, seed, 0, 1));
  const means = testData(L * B * D, seed + 1, -0.5, 1.5);
  // Raw log-scales from -10 to 5 straddle the clamp [-7, 2]; a few sit exactly on its ends.
  const raw = testData(L * B * D, seed + 2, -10, 5);
  raw[0] = LOG_SCALE_RANGE_REF.min;
  if (raw.length > 1) raw[1] = LOG_SCALE_RANGE_REF.max;
  const out = new Float64Array(L * B * 2 * D);
  for (let r = 0; r < L * B; r++) {
    out.set(means.subarray(r * D, (r + 1) * D), r * 2 * D);
    out.set(raw.subarray(r * D, (r + 1) * D), r * 2 * D + D);
  }
  const rowWeight = c.rowWeights ? f32(testData(L * B, seed + 3, 0, 0.5)) : undefined;
  return { x, out: f32(out), rowWeight };
}

/** |dout| scale per element: the largest term that enters it, so a sharp pixel's e^14 is not an error. */
function doutScale(p: LikelihoodRefInput): Float64Array {
  const { batch: B, samples: L, dim: D } = p;
  const scale = new Float64Array(L * B * 2 * D);
  for (let r = 0; r < L * B; r++) {
    const w = rowScaleRef(p, r);
    for (let d = 0; d < D; d++) {
      const raw = p.out[r * 2 * D + D + d];
      const s = Math.min(Math.max(raw, LOG_SCALE_RANGE_REF.min), LOG_SCALE_RANGE_REF.max);
      const a = Math.abs(p.out[r * 2 * D + d]) + Math.abs(p.x[(r % B) * D + d]);
      scale[r * 2 * D + d] = a * Math.exp(-2 * s) * w;
      scale[r * 2 * D + D + d] = (1 + a * a * Math.exp(-2 * s)) * w;
    }
  }
  return scale;
}

async function run(c: Case, seed: number) {
  const { batch: B, samples: L, dim: D } = c;
  const rows = L * B;
  const k = likelihoodRows({ ...c, likelihood: 'gaussian', scale: 'predicted', gradients: true });
  expect(k.name).toBe(`likelihood_rows_gaussian_predicted${c.rowWeights ? '_grad_weighted' : '_grad'}`);
  const { x, out, rowWeight } = makeData(c, seed);
  const inputs: Record<string, ArrayLike<number> | Uint32Array> = { params: new Uint32Array(encodeStepParams({ validRows: c.validRows })), x, out };
  if (rowWeight) inputs.row_weight = rowWeight;
  const got = await runKernels([k], inputs, { rec: rows + PAD, dout: rows * 2 * D + PAD });
  expect(untouched(got.rec.subarray(rows)), 'rec past the end').toBe(true);
  expect(untouched(got.dout.subarray(rows * 2 * D)), 'dout past the end').toBe(true);
  const refIn: LikelihoodRefInput = { ...c, likelihood: 'gaussian', scale: 'predicted', x, out, rowWeight };
  return { got, refIn, ref: likelihoodRowsRef(refIn) };
}

describe('likelihoodRows, Gaussian with a predicted per-pixel scale', () => {
  const cases: Case[] = [
    { batch: 7, samples: 1, dim: 33, validRows: 5, threadsPerRow: 1 },
    { batch: 5, samples: 2, dim: 784, validRows: 4, threadsPerRow: 64 },
    { batch: 3, samples: 3, dim: 13, validRows: 3, threadsPerRow: 64 },
    { batch: 4, samples: 3, dim: 37, validRows: 2, threadsPerRow: 1, rowWeights: true },
  ];
  cases.forEach((c, i) => {
    it(`T=${c.threadsPerRow} B=${c.batch} L=${c.samples} D=${c.dim} valid=${c.validRows}${c.rowWeights ? ' row weights' : ''}`, async () => {
      const { got, refIn, ref } = await run(c, 20 + 7 * i);
      const rows = c.batch * c.samples, D = c.dim;
      expectScaled(got.rec.subarray(0, rows), ref.rec, ref.magnitude, 1e-5, 'rec');
      expectScaled(got.dout.subarray(0, rows * 2 * D), ref.dout, doutScale(refIn), 1e-5, 'dout (means, then log-scales)');
      // Outside the clamp the log-scale gets exactly zero gradient.
      for (let r = 0; r < rows; r++) {
        for (let d = 0; d < D; d++) {
          const raw = refIn.out[r * 2 * D + D + d];
          if (raw < LOG_SCALE_RANGE.min || raw > LOG_SCALE_RANGE.max) expect(got.dout[r * 2 * D + D + d]).toBe(0);
        }
      }
    });
  });

  it('negative control: a reference without the clamp is detected', async () => {
    const c: Case = { batch: 3, samples: 1, dim: 33, validRows: 3, threadsPerRow: 1 };
    const { got, refIn } = await run(c, 3);
    const clamped = likelihoodRowsRef(refIn);
    // Recompute the log-scale part as if the gradient passed the clamp everywhere.
    const D = c.dim, wrong = Float64Array.from(clamped.dout);
    for (let r = 0; r < c.batch; r++) {
      for (let d = 0; d < D; d++) {
        const raw = refIn.out[r * 2 * D + D + d];
        const s = Math.min(Math.max(raw, -7), 2), m = refIn.out[r * 2 * D + d], t = refIn.x[r * D + d];
        wrong[r * 2 * D + D + d] = (1 - (t - m) ** 2 * Math.exp(-2 * s)) * rowScaleRef(refIn, r);
      }
    }
    expect(scaledMismatches(got.dout.subarray(0, c.batch * 2 * D), wrong, doutScale(refIn), 1e-5).length).toBeGreaterThan(0);
  });

  it('the reference gradient matches float64 central differences', () => {
    const c: Case = { batch: 3, samples: 2, dim: 5, validRows: 2, threadsPerRow: 1, rowWeights: true };
    const { x, out, rowWeight } = makeData(c, 9);
    // Moderate log-scales (a float64 difference of e^14-sized terms would lose the digits), with
    // every third one beyond an end of the clamp; none on its corners, where the loss has a kink.
    const D = c.dim;
    for (let r = 0; r < c.samples * c.batch; r++) {
      for (let d = 0; d < D; d++) {
        const i = r * 2 * D + D + d;
        out[i] = i % 3 === 0 ? (i % 2 ? -9 : 4) : -1.5 + (out[i] + 10) / 5;
        // A clamped-sharp pixel (sigma = e^-7) gets a mean near its target, so its loss stays O(1).
        if (out[i] === -9) out[r * 2 * D + d] = x[(r % c.batch) * D + d] + 1e-3;
      }
    }
    const base: LikelihoodRefInput = { ...c, likelihood: 'gaussian', scale: 'predicted', x, out, rowWeight };
    const h = 1e-6;
    const fd = Array.from(out, (_, i) => {
      const plus = Float64Array.from(out), minus = Float64Array.from(out);
      plus[i] += h;
      minus[i] -= h;
      return (likelihoodLossRef({ ...base, out: plus }) - likelihoodLossRef({ ...base, out: minus })) / (2 * h);
    });
    expectClose(fd, likelihoodRowsRef(base).dout, { atol: 1e-6, rtol: 1e-5 }, 'd loss / d out');
  });

  it('decoderOutputWidth doubles the row only for the predicted scale', () => {
    expect(decoderOutputWidth(784, 'predicted')).toBe(1568);
    expect(decoderOutputWidth(784, 'learned-pixel')).toBe(784);
    expect(decoderOutputWidth(784)).toBe(784);
  });
});

describe('decoderMean', () => {
  it('Bernoulli: sigmoid of logits, +-50 included, on an unaligned size', async () => {
    const rows = 3, D = 37;
    const out = f32(testData(rows * D, 4, -8, 8));
    out[0] = 50;
    out[1] = -50;
    const got = await runKernels([decoderMean({ rows, dim: D, likelihood: 'bernoulli' })], { out }, { images: rows * D + PAD });
    expectClose(got.images.subarray(0, rows * D), Array.from(out, sigmoidRef), { atol: 1e-7, rtol: 1e-6 }, 'sigmoid');
    expect(untouched(got.images.subarray(rows * D))).toBe(true);
  });

  it('Gaussian, predicted scale: the means of each 2D-wide row', async () => {
    const rows = 5, D = 13;
    const out = f32(testData(rows * 2 * D, 5, -1, 2));
    const got = await runKernels([decoderMean({ rows, dim: D, likelihood: 'gaussian', scale: 'predicted' })], { out }, { images: rows * D + PAD });
    const ref = Array.from({ length: rows * D }, (_, i) => out[Math.floor(i / D) * 2 * D + (i % D)]);
    expectClose(got.images.subarray(0, rows * D), ref, { atol: 0, rtol: 0 }, 'means');
    expect(untouched(got.images.subarray(rows * D))).toBe(true);
  });

  it('sized by its binding: one source for every row count, and the same pictures', async () => {
    const source = (rows: number) => decoderMean({ rows, dim: 13, likelihood: 'gaussian', scale: 'predicted', sizedByBinding: true }).code;
    expect(source(2)).toBe(source(301));
    for (const likelihood of ['bernoulli', 'gaussian'] as const) {
      for (const rows of [2, 301]) {
        const D = 13, O = likelihood === 'bernoulli' ? D : 2 * D, scale = likelihood === 'gaussian' ? 'predicted' as const : undefined;
        const out = f32(testData(rows * O, rows, -8, 8));
        const run = (sizedByBinding: boolean) => runKernels([decoderMean({ rows, dim: D, likelihood, scale, sizedByBinding })], { out }, { images: rows * D });
        expect((await run(true)).images, `${likelihood}, ${rows} rows`).toEqual((await run(false)).images);
      }
    }
  });

  it('refuses a Gaussian whose output already is the mean', () => {
    expect(() => decoderMean({ rows: 1, dim: 4, likelihood: 'gaussian', scale: 'learned-pixel' })).toThrow(/own mean/);
  });
});
