// Stand-alone activation kernels (shaders/activation.ts) against the float64 references in
// tests/reference/dense.ts: forward y = act(x), backward dx = dy act'(x) computed from y.
import { describe, expect, it } from 'vitest';
import { ACTIVATIONS, activationBackward, activationForward, type Activation } from '../shaders/activation';
import { MAX_WORKGROUPS_PER_DIM } from '../shaders/common';
import { centralDiff, expectClose, f32, testData } from './helpers/compare';
import { runKernels, UNWRITTEN } from './helpers/gpu';
import { actDerivRef, actRef } from './reference/dense';

/** Saturation, overflow and underflow points of the activations, and the softplus switch near y = 1e-3. */
const EXTREMES = [
  0, -0, 50, -50, 100, -100, 1e-30, -1e-30, 1e-7, -1e-7, 3e-4, -3e-4, 1, -1, 14.9, -14.9, 15, -15, 15.5, -15.5,
  20, -20, 30, -30, 88, -88, 89, -89, 1e4, -1e4, -6.9, -6.91, -6.95, -7, 0.5, -0.5,
];

/** x: the extremes first, then uniform values in [-8, 8]. */
function inputs(count: number, seed: number): Float64Array {
  const x = f32(testData(count, seed, -8, 8));
  for (let i = 0; i < Math.min(count, EXTREMES.length); i++) x[i] = Math.fround(EXTREMES[i]);
  return x;
}

const fwdTol = { atol: 2e-7, rtol: 2e-6 };
const bwdTol = { atol: 5e-7, rtol: 1e-5 };
/** Spare output elements past `count` must keep their NaN fill (the bounds check). */
const PAD = 3;

async function checkForward(kind: Activation, count: number, seed: number) {
  const x = inputs(count, seed);
  const { y } = await runKernels([activationForward({ kind, count })], { x }, { y: count + PAD });
  expectClose(y.subarray(0, count), Array.from(x, (v) => actRef(kind, v)), fwdTol, `forward ${kind} n=${count}`);
  expect(Array.from(y.subarray(count)), 'padding past count').toEqual(new Array(PAD).fill(UNWRITTEN));
}

async function checkBackward(kind: Activation, count: number, seed: number) {
  const x = inputs(count, seed);
  // y as the forward pass would store it (f32), dy arbitrary.
  const y = f32(Array.from(x, (v) => actRef(kind, v)));
  const dy = f32(testData(count, seed + 1, -2, 2));
  const { dx } = await runKernels([activationBackward({ kind, count })], { y, dy }, { dx: count + PAD });
  const ref = Array.from(x, (v, i) => dy[i] * actDerivRef(kind, v));
  expectClose(dx.subarray(0, count), ref, bwdTol, `backward ${kind} n=${count}`);
  expect(Array.from(dx.subarray(count)), 'padding past count').toEqual(new Array(PAD).fill(UNWRITTEN));
}

describe.each(ACTIVATIONS)('activation %s', (kind) => {
  it('forward and backward on extreme inputs (n = 1000)', async () => {
    await checkForward(kind, 1000, 1);
    await checkBackward(kind, 1000, 2);
  });

  it('forward sized by its binding: one source for every count, against the reference', async () => {
    expect(activationForward({ kind, count: 7, sizedByBinding: true }).code).toBe(activationForward({ kind, count: 1000, sizedByBinding: true }).code);
    for (const count of [7, 1000]) {
      const x = inputs(count, 4);
      const { y } = await runKernels([activationForward({ kind, count, sizedByBinding: true })], { x }, { y: count });
      expectClose(y, Array.from(x, (v) => actRef(kind, v)), fwdTol, `forward ${kind} sized by its binding, n=${count}`);
    }
  });

  it('forward and backward stay finite where y saturates', async () => {
    const count = EXTREMES.length;
    const x = inputs(count, 3);
    const { y } = await runKernels([activationForward({ kind, count })], { x }, { y: count });
    const { dx } = await runKernels([activationBackward({ kind, count })], { y, dy: new Float32Array(count).fill(1) }, { dx: count });
    for (let i = 0; i < count; i++) {
      expect(Number.isFinite(y[i]), `y(${x[i]}) = ${y[i]}`).toBe(true);
      expect(Number.isFinite(dx[i]) && dx[i] >= 0, `act'(${x[i]}) = ${dx[i]}`).toBe(true);
    }
  });
});

describe('activation sizes (ragged tails)', () => {
  for (const kind of ['softplus', 'leaky_relu', 'elu'] as const) {
    for (const count of [1, 7, 33, 129]) {
      it(`${kind} n=${count}`, async () => {
        await checkForward(kind, count, count);
        await checkBackward(kind, count, count + 10);
      });
    }
  }
});

// The backward tests compare with actDerivRef; that derivative is itself checked here against central
// differences of actRef, so a reference whose two halves disagree cannot pass the kernels.
describe('reference derivatives against central differences of the references (float64)', () => {
  // Points away from the kinks of relu and leaky_relu at 0 (elu's derivative is continuous there).
  const xs = Float64Array.from([...testData(200, 7, -8, 8), -20, -6.9, -1e-3, 1e-3, 0.3, -0.3, 5]);
  for (const kind of ACTIVATIONS) {
    it(kind, () => {
      const fd = Array.from(xs, (x) => centralDiff((v) => actRef(kind, v[0]), Float64Array.of(x), 1e-6)[0]);
      expectClose(fd, Array.from(xs, (x) => actDerivRef(kind, x)), { atol: 1e-8, rtol: 1e-6 }, `d ${kind}/dx`);
    });
  }
  it('elu is continuous with slope 1 at 0 (alpha 1)', () => {
    // The second derivative jumps at 0 (0 above, 1 below), so the central difference is 1 - h/4.
    const fd = centralDiff((v) => actRef('elu', v[0]), Float64Array.of(0), 1e-6)[0];
    expectClose([fd], [1], { atol: 1e-6, rtol: 0 }, 'central difference of elu at 0');
    expectClose([actRef('elu', -1e-12), actRef('elu', -50)], [-1e-12, Math.expm1(-50)], { atol: 0, rtol: 1e-12 }, 'elu just and far below 0');
  });
});

describe('activation on a 2-D grid', () => {
  it('splits more than 65535 workgroups over x and y and covers every element', async () => {
    const count = MAX_WORKGROUPS_PER_DIM * 256 + 1000;
    const k = activationForward({ kind: 'none', count });
    expect(k.workgroups[1]).toBeGreaterThan(1);
    const x = new Float32Array(count);
    for (let i = 0; i < count; i++) x[i] = i + 1; // exact in f32 up to 2^24, and never the NaN fill
    const { y } = await runKernels([k], { x }, { y: count + PAD });
    let wrong = 0, first = -1;
    for (let i = 0; i < count; i++) {
      if (y[i] !== x[i]) { wrong++; if (first < 0) first = i; }
    }
    expect(wrong, `first wrong element ${first}`).toBe(0);
    expect(Array.from(y.subarray(count))).toEqual(new Array(PAD).fill(UNWRITTEN));
  });
});

describe('softplus backward where y is tiny', () => {
  it('keeps its relative precision: act\' = sigmoid(x) from y = softplus(x) down to x = -25', async () => {
    // The absolute tolerance of the other tests passes any dx under 5e-7; here sigmoid(x) is 1e-3 to
    // 1e-11, on both sides of the switch to the series at y = 1e-3 (x about -6.9).
    const xs = [-6.5, -7.5, -8.5, -9.2, -10, -11, -12, -16, -20, -25];
    const y = new Float32Array(xs.map((x) => Math.log1p(Math.exp(x))));
    const got = await runKernels([activationBackward({ kind: 'softplus', count: xs.length })], { y, dy: new Float32Array(xs.length).fill(1) }, { dx: xs.length });
    xs.forEach((x, i) => {
      const s = 1 / (1 + Math.exp(-x));
      expect(Math.abs(got.dx[i] - s) / s, `x = ${x}: ${got.dx[i]} against ${s}`).toBeLessThan(1e-4);
    });
  });
});

describe('elu forward near 0', () => {
  it('keeps its relative precision where exp(x) - 1 would lose it (the series above x = -0.01)', async () => {
    // The absolute tolerance of the other tests passes any y under 2e-7; e^x - 1 in f32 at x = -1e-7 is 19% off.
    const xs = [-1e-7, -3e-6, -3e-4, -2e-3, -0.009, -0.011, -0.5];
    const x = new Float32Array(xs);
    const { y } = await runKernels([activationForward({ kind: 'elu', count: xs.length })], { x }, { y: xs.length });
    xs.forEach((_, i) => {
      const want = Math.expm1(x[i]);
      // Below -0.01, exp(x) - 1 itself: one f32 rounding of e^x near 1, relative to |x|, up to 1e-5 there.
      const rtol = x[i] > -0.01 ? 1e-6 : 2e-5;
      expect(Math.abs(y[i] - want) / Math.abs(want), `x = ${x[i]}: ${y[i]} against ${want}`).toBeLessThan(rtol);
    });
  });
});
