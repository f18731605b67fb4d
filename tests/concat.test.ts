// Feature concatenation for conditional models (shaders/concat.ts) against a float64 reference.
//
// Forward: y[r] = [x[r], c[r mod B]], where x holds S samples of B examples (rows = S B) and c one
// condition row per example. Backward: dx[r] = the first F columns of dy[r]. Both kernels only
// move values, so the GPU must match the reference exactly. F and C are deliberately not
// multiples of 4 or of each other, so an index that assumes a vector width or swaps F and C goes
// wrong; S > 1 checks that every sample of example b picks up condition row b.
//
// Output buffers start filled with NaN (runKernels binds buffers by name, so passing a NaN-filled
// array under the output's name makes it the output buffer), and one spare element sits past the
// end: an element the kernel skips stays NaN and fails the comparison, and one it writes past the
// end overwrites the spare.
import { describe, expect, it } from 'vitest';
import { concatBackward, concatForward, type ConcatParams } from '../shaders/concat';
import { expectClose, mismatches, testData } from './helpers/compare';
import { roundF16, runHalfKernel } from './helpers/f16';
import { gpu, runKernels } from './helpers/gpu';
import { concatBackwardRef, concatRef } from './reference/concat';

const EXACT = { atol: 0, rtol: 0 };
const SPARE = 1;

const nanFilled = (n: number) => new Float32Array(n).fill(NaN);

/** Distinct values everywhere (x positive, c negative), so any misplaced element is a mismatch. */
function inputs(rows: number, F: number, C: number, B: number, seed: number) {
  const x = Float32Array.from(testData(rows * F, seed, 1, 2));
  const c = Float32Array.from(testData(B * C, seed + 1, -2, -1));
  return { x, c };
}

async function forward(S: number, B: number, F: number, C: number, seed: number) {
  const rows = S * B;
  const p: ConcatParams = { rows, features: F, extra: C, conditionRows: B };
  const { x, c } = inputs(rows, F, C, B, seed);
  const out = await runKernels([concatForward(p)], { x, c, y: nanFilled(rows * (F + C) + SPARE) }, {});
  return { x, c, rows, y: out.y };
}

// Shapes: one sample (rows = B) and three (rows = 3 B), unaligned F and C, a single example (all
// rows share one condition row), a single condition column, and one shape spanning many
// workgroups of 256.
const SHAPES: [S: number, B: number, F: number, C: number][] = [
  [1, 5, 13, 3],
  [3, 5, 13, 3],
  [3, 1, 7, 10],
  [1, 4, 1, 1],
  [3, 37, 101, 10],
];

describe.each(SHAPES)('concat S=%i B=%i F=%i C=%i', (S, B, F, C) => {
  it('forward matches the reference and writes every element once', async () => {
    const { x, c, rows, y } = await forward(S, B, F, C, S * 100 + F);
    const n = rows * (F + C);
    expectClose(y.subarray(0, n), concatRef(x, c, rows, F, C, B), EXACT, 'forward');
    expect(Number.isNaN(y[n]), 'the spare element past the end stays NaN').toBe(true);
  });

  it('backward takes the first F columns of each row', async () => {
    const rows = S * B;
    const dy = Float32Array.from(testData(rows * (F + C), S * 10 + C, -3, 3));
    const out = await runKernels([concatBackward({ rows, features: F, extra: C, conditionRows: B })], { dy, dx: nanFilled(rows * F + SPARE) }, {});
    expectClose(out.dx.subarray(0, rows * F), concatBackwardRef(dy, rows, F, C), EXACT, 'backward');
    expect(Number.isNaN(out.dx[rows * F]), 'the spare element past the end stays NaN').toBe(true);
  });
});

describe('concat checks', () => {
  it('forward then backward gives x back', async () => {
    // The gradient of the concatenation with respect to x is the slice backward takes, so
    // feeding the forward output to backward must return x exactly.
    const S = 3, B = 5, F = 13, C = 3;
    const { x, rows, y } = await forward(S, B, F, C, 42);
    const p: ConcatParams = { rows, features: F, extra: C, conditionRows: B };
    const out = await runKernels([concatBackward(p)], { dy: y.subarray(0, rows * (F + C)), dx: nanFilled(rows * F) }, {});
    expectClose(out.dx, x, EXACT, 'round trip');
  });

  it('the comparison would catch a wrong condition row or a skipped element', async () => {
    // Negative controls: with S = 3, taking condition row floor(r / S) instead of r mod B puts
    // the wrong condition on most rows, and the untouched NaN buffer fails everywhere.
    const S = 3, B = 5, F = 13, C = 3;
    const { x, c, rows, y } = await forward(S, B, F, C, 7);
    const n = rows * (F + C);
    const wrong = concatRef(x, c, rows, F, C, B);
    for (let r = 0; r < rows; r++) for (let j = 0; j < C; j++) wrong[r * (F + C) + F + j] = c[Math.floor(r / S) * C + j];
    expect(mismatches(y.subarray(0, n), wrong, EXACT).length).toBeGreaterThan(0);
    expect(mismatches(nanFilled(n), concatRef(x, c, rows, F, C, B), EXACT).length).toBeGreaterThan(0);
    // The same output passes against the right reference, so the failures above are the references'.
    expect(mismatches(y.subarray(0, n), concatRef(x, c, rows, F, C, B), EXACT)).toEqual([]);
  });

  it('sized by its binding: one source for every row count, against the reference; an f16 y is refused', async () => {
    const source = (S: number, B: number) => concatForward({ rows: S * B, features: 13, extra: 3, conditionRows: B, sizedByBinding: true }).code;
    // One source per samples-per-example (a model's constant) for every batch.
    expect(source(1, 5)).toBe(source(1, 37));
    expect(source(3, 5)).toBe(source(3, 37));
    for (const [S, B] of [[1, 5], [3, 37]]) {
      const rows = S * B, F = 13, C = 3;
      const { x, c } = inputs(rows, F, C, B, rows);
      const out = await runKernels([concatForward({ rows, features: F, extra: C, conditionRows: B, sizedByBinding: true })], { x, c }, { y: rows * (F + C) });
      expectClose(out.y, concatRef(x, c, rows, F, C, B), EXACT, `${S} samples of ${B} rows`);
      // A condition buffer longer than its rows (a pool's or a harness's padding) changes nothing:
      // the condition's rows are counted from y's.
      const padded = new Float32Array(c.length + 5 * C).fill(Number.NaN);
      padded.set(c);
      const fromPadded = await runKernels([concatForward({ rows, features: F, extra: C, conditionRows: B, sizedByBinding: true })], { x, c: padded }, { y: rows * (F + C) });
      expectClose(fromPadded.y, concatRef(x, c, rows, F, C, B), EXACT, `${S} samples of ${B} rows, c padded by 5 rows`);
    }
    expect(() => concatForward({ rows: 7, features: 2, extra: 3, conditionRows: 2, sizedByBinding: true })).toThrow(/rows \(7\) must be a multiple of conditionRows \(2\)/);
    expect(() => concatForward({ rows: 4, features: 2, extra: 3, conditionRows: 2, f16: ['y'], sizedByBinding: true })).toThrow(/sizedByBinding reads the rows from y's length, and an f16 y packs two values to a word/);
  });

  it('rejects non-positive or fractional shapes', () => {
    expect(() => concatForward({ rows: 4, features: 0, extra: 3, conditionRows: 2 })).toThrow(/concat_forward: features=0/);
    expect(() => concatForward({ rows: 4, features: 2, extra: 3, conditionRows: 1.5 })).toThrow(/conditionRows=1.5/);
    expect(() => concatBackward({ rows: -1, features: 2, extra: 3, conditionRows: 1 })).toThrow(/concat_backward: rows=-1/);
  });
});

// ---- f16 storage (a conv model with precision 'f16' keeps its flattened features as f16) ----

describe('concat forward with f16 storage', async () => {
  const { device } = await gpu();
  const [S, B, F, C] = [3, 5, 13, 3]; // 195 x values and 240 y values: odd word counts
  const rows = S * B;
  const x = Float64Array.from(testData(rows * F, 31, -2, 2)), c = Float64Array.from(testData(B * C, 32, 0, 1));
  it.runIf(device.features.has('shader-f16')).each([[['x', 'y']], [['x']], [['y']]])('f16 %j: features copied exactly, labels rounded once where y is f16', async (half) => {
    const k = concatForward({ rows, features: F, extra: C, conditionRows: B, f16: half });
    const xs = half.includes('x') ? x.map(roundF16) : Float64Array.from(Float32Array.from(x));
    const got = await runHalfKernel(k, { x: xs, c }, 'y', rows * (F + C));
    const cs = Float64Array.from(Float32Array.from(c));
    expectClose(got, concatRef(xs, cs, rows, F, C, B).map((v) => (half.includes('y') ? roundF16(v) : v)), EXACT, `f16 ${half}`);
  });

  it('keeps the labels and the gradients f32', () => {
    expect(() => concatForward({ rows, features: F, extra: C, conditionRows: B, f16: ['c'] })).toThrow(/the condition \(one-hot labels\) is f32/);
    expect(() => concatBackward({ rows, features: F, extra: C, conditionRows: B, f16: ['dx'] })).toThrow(/gradients are f32/);
  });
});
