// Stand-alone activation kernels (shaders/activation.ts) against the float64 references in
// tests/reference/dense.ts: forward y = act(x), backward dx = dy act'(x) computed from y (from x
// itself for the activations in GRAD_FROM_INPUT: gelu).
import { describe, expect, it } from 'vitest';
import { ACTIVATIONS, activationBackward, activationForward, gradFromInput, type Activation } from '../shaders/activation';
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
  // y as the forward pass would store it (f32), or x itself where act_grad reads the pre-activation; dy arbitrary.
  const y = gradFromInput(kind) ? x : f32(Array.from(x, (v) => actRef(kind, v)));
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
    const { dx } = await runKernels([activationBackward({ kind, count })], { y: gradFromInput(kind) ? Float32Array.from(x) : y, dy: new Float32Array(count).fill(1) }, { dx: count });
    for (let i = 0; i < count; i++) {
      expect(Number.isFinite(y[i]), `y(${x[i]}) = ${y[i]}`).toBe(true);
      // gelu is not monotonic: its slope is negative below x = -0.75 (down to about -0.13).
      expect(Number.isFinite(dx[i]) && dx[i] >= (kind === 'gelu' ? -0.2 : 0), `act'(${x[i]}) = ${dx[i]}`).toBe(true);
    }
  });
});

describe('activation sizes (ragged tails)', () => {
  for (const kind of ['softplus', 'leaky_relu', 'elu', 'gelu'] as const) {
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

// The absolute tolerances above pass any value under 2e-7; here small outputs must keep their
// digits, where the naive formulas lose them: tanh near 0 (SwiftShader's tanh(1e-6) is 2% off),
// softplus's log(1 + e^x) below x = -1 (0 below -16.6, and a zero gradient from it), its gradient
// 1 - e^-y, and elu's e^x - 1 near 0. Down to f32's smallest normal output (GPUs flush less to 0).
describe('small outputs keep their relative precision', () => {
  const logSpaced = (from: number, to: number, count: number) => Array.from({ length: count }, (_, i) => Math.fround(10 ** (from + ((to - from) * i) / (count - 1))));
  const tiny = logSpaced(-9, Math.log10(0.6), 60);
  const below = (lo: number) => Array.from({ length: 120 }, (_, i) => Math.fround(lo + ((-0.05 - lo) * i) / 119));
  // exp's own error far below 0 is some 4e-6 on SwiftShader, hence 1e-5 for softplus.
  const cases: [string, Activation, 'forward' | 'backward', number[], (x: number) => number, number][] = [
    ['tanh near 0', 'tanh', 'forward', [...tiny, ...tiny.map((v) => -v)], Math.tanh, 2e-6],
    ['softplus far below 0', 'softplus', 'forward', below(-87), (x) => Math.log1p(Math.exp(x)), 1e-5],
    ['softplus gradient far below 0', 'softplus', 'backward', below(-87), (x) => 1 / (1 + Math.exp(-x)), 1e-5],
    ['elu just below 0', 'elu', 'forward', tiny.map((v) => -v), Math.expm1, 2e-6],
    // gelu(x) = x sigmoid(2u): near 0 about x / 2, far below 0 a tail that 0.5 x (1 + tanh(u)) would cancel to 0.
    ['gelu near 0', 'gelu', 'forward', [...tiny, ...tiny.map((v) => -v)], (x) => actRef('gelu', x), 2e-6],
    ['gelu far below 0', 'gelu', 'forward', below(-9), (x) => actRef('gelu', x), 1e-5],
    ['gelu gradient far below 0', 'gelu', 'backward', below(-9), (x) => actDerivRef('gelu', x), 2e-5],
  ];
  it.each(cases)('%s', async (_what, kind, pass, xs, want, rtol) => {
    const count = xs.length;
    const y = gradFromInput(kind) ? Float32Array.from(xs) : f32(xs.map((x) => actRef(kind, x)));
    const got = pass === 'forward'
      ? (await runKernels([activationForward({ kind, count })], { x: Float32Array.from(xs) }, { y: count })).y
      : (await runKernels([activationBackward({ kind, count })], { y, dy: new Float32Array(count).fill(1) }, { dx: count })).dx;
    expectClose(got, xs.map(want), { atol: 0, rtol }, `${pass} ${kind}`);
  });
});
