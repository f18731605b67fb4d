// Batch gathering (shaders/batch.ts): u8 pixels packed 4 per u32 (byte k of the dataset in bits
// 8 (k % 4) .. 8 (k % 4) + 7 of word k / 4), rows perm[batch_start + r] scaled by 1/255, and zero
// rows for batch padding and for slots past the end of the dataset.
import { describe, expect, it } from 'vitest';
import { gatherBatch, gatherLabels, gatherRows } from '../shaders/batch';
import { binarizedPixel } from '../src/data/binarize';
import { encodeStepParams, STREAM } from '../src/step-params';
import { expectClose, testData } from './helpers/compare';
import { runKernels, UNWRITTEN } from './helpers/gpu';

function params(batchStart: number, validRows: number, datasetCount: number): Uint32Array {
  return new Uint32Array(encodeStepParams({
    seed: 0, counter: 0, batchStart, validRows, historySlot: 0, stream: STREAM.train, datasetCount,
    lr: 0, beta1: 0.9, beta2: 0.999, adamEps: 1e-8, step: 0, weightDecay: 0, klWeight: 1,
  }));
}

/** Packs bytes little-endian, 4 per word, written out with shifts (independent of host byte order). */
function pack(bytes: Uint8Array): Uint32Array {
  const words = new Uint32Array(Math.ceil(bytes.length / 4));
  for (let k = 0; k < bytes.length; k++) words[k >> 2] |= bytes[k] << ((k & 3) * 8);
  return words;
}

/** count examples of D pixels: every grey level appears, including 0 and 255, and example i starts with byte i. */
function dataset(count: number, D: number, seed: number): Uint8Array {
  const bytes = Uint8Array.from(testData(count * D, seed, 0, 256), Math.floor);
  for (let i = 0; i < count; i++) bytes[i * D] = i;
  bytes[1] = 255;
  bytes[2] = 0;
  return bytes;
}

/** A fixed shuffle of 0..count-1 (Fisher-Yates driven by testData). */
function permutation(count: number, seed: number): Uint32Array {
  const perm = Uint32Array.from({ length: count }, (_, i) => i);
  const u = testData(count, seed, 0, 1);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(u[i] * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  return perm;
}

/** x[r, d] = bytes[perm[start + r] D + d] / 255 for r < valid and start + r < count, else 0. */
function gatherRef(bytes: Uint8Array, perm: Uint32Array, D: number, rows: number, start: number, valid: number, count: number): Float64Array {
  const x = new Float64Array(rows * D);
  for (let r = 0; r < Math.min(rows, valid); r++) {
    if (start + r >= count) continue;
    for (let d = 0; d < D; d++) x[r * D + d] = bytes[perm[start + r] * D + d] / 255;
  }
  return x;
}

/** Exact-value tolerance up to WGSL's division accuracy (2.5 ULP). */
const tol = { atol: 0, rtol: 3e-7 };
/** Spare elements past rows * D that must keep their NaN fill. */
const PAD = 4;

describe('pack (test helper)', () => {
  it('puts byte k in bits 8 (k % 4) of word k / 4, as a little-endian Uint32Array view does', () => {
    expect(Array.from(pack(Uint8Array.of(1, 2, 3, 4, 5)))).toEqual([0x04030201, 0x05]);
    const bytes = dataset(11, 5, 1);
    const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
    padded.set(bytes);
    if (new Uint8Array(Uint32Array.of(1).buffer)[0] === 1) expect(pack(bytes)).toEqual(new Uint32Array(padded.buffer));
  });
});

describe('gatherBatch', () => {
  // D = 5: rows start at every byte offset within a word and straddle words.
  const cases: { name: string; D: number; count: number; rows: number; start: number; valid: number }[] = [
    { name: 'full batch', D: 5, count: 11, rows: 8, start: 0, valid: 8 },
    { name: 'valid_rows < rows inside the dataset', D: 5, count: 11, rows: 8, start: 1, valid: 5 },
    { name: 'last partial batch (slots past dataset_count)', D: 5, count: 11, rows: 8, start: 8, valid: 3 },
    { name: 'slots past dataset_count even when valid_rows = rows', D: 5, count: 11, rows: 8, start: 6, valid: 8 },
    { name: 'MNIST width', D: 784, count: 10, rows: 4, start: 3, valid: 4 },
    { name: 'MNIST width, last partial batch', D: 784, count: 10, rows: 4, start: 8, valid: 2 },
  ];
  for (const c of cases) {
    it(`${c.name}: D=${c.D} count=${c.count} rows=${c.rows} batch_start=${c.start} valid_rows=${c.valid}`, async () => {
      const bytes = dataset(c.count, c.D, c.D);
      const perm = permutation(c.count, c.count + c.D);
      const k = gatherBatch({ rows: c.rows, dim: c.D });
      const { x } = await runKernels([k], { params: params(c.start, c.valid, c.count), pixels: pack(bytes), perm }, { x: c.rows * c.D + PAD });
      const ref = gatherRef(bytes, perm, c.D, c.rows, c.start, c.valid, c.count);
      expectClose(x.subarray(0, c.rows * c.D), ref, tol, 'x');
      expect(Array.from(x.subarray(c.rows * c.D)), 'past rows * D').toEqual(new Array(PAD).fill(UNWRITTEN));
      // Each gathered row starts with its example's index, so the order is checked exactly too.
      for (let r = 0; r < c.rows; r++) {
        const real = r < c.valid && c.start + r < c.count;
        expect(Math.round(x[r * c.D] * 255), `row ${r}`).toBe(real ? perm[c.start + r] : 0);
        if (!real) expect(x.subarray(r * c.D, (r + 1) * c.D).every((v) => v === 0), `row ${r} is zero`).toBe(true);
      }
    });
  }

  it('maps grey levels 0..255 to v / 255 (every level, in every byte lane)', async () => {
    const D = 256, count = 4, rows = 4;
    // Example i holds levels rotated by i, so each level sits in each of the 4 byte lanes.
    const bytes = Uint8Array.from({ length: count * D }, (_, k) => (k + Math.floor(k / D)) % 256);
    const perm = Uint32Array.of(3, 0, 2, 1);
    const k = gatherBatch({ rows, dim: D });
    const { x } = await runKernels([k], { params: params(0, rows, count), pixels: pack(bytes), perm }, { x: rows * D });
    expectClose(x, gatherRef(bytes, perm, D, rows, 0, rows, count), tol, 'grey levels');
    expect(x[3 * D + 255 - 1]).toBeCloseTo(1, 6); // example 1 has level 255 at d = 254
  });
});

describe('gatherRows (f32 rows as they are)', () => {
  /** x[r, d] = values[perm[start + r] D + d] for r < valid and start + r < count, else 0. */
  function rowsRef(values: Float32Array, perm: Uint32Array, D: number, rows: number, start: number, valid: number, count: number): Float64Array {
    const x = new Float64Array(rows * D);
    for (let r = 0; r < Math.min(rows, valid); r++) {
      if (start + r < count) for (let d = 0; d < D; d++) x[r * D + d] = values[perm[start + r] * D + d];
    }
    return x;
  }
  // D = 13 gathers one value an invocation, D = 8 one vec4; values far from [0, 1], of both signs.
  const cases = [
    { D: 13, count: 11, rows: 8, start: 0, valid: 8 },
    { D: 13, count: 11, rows: 8, start: 8, valid: 3 },
    { D: 8, count: 11, rows: 8, start: 1, valid: 5 },
    { D: 8, count: 11, rows: 8, start: 6, valid: 8 },
  ];
  for (const c of cases) {
    it(`D=${c.D} count=${c.count} rows=${c.rows} batch_start=${c.start} valid_rows=${c.valid}: exact values, zero padding`, async () => {
      const values = Float32Array.from(testData(c.count * c.D, c.D + 5, -3e4, 3e4));
      for (let i = 0; i < c.count; i++) values[i * c.D] = i; // each row names its example
      const perm = permutation(c.count, c.D + c.count);
      const { x } = await runKernels([gatherRows({ rows: c.rows, dim: c.D })], { params: params(c.start, c.valid, c.count), data: values, perm }, { x: c.rows * c.D + PAD });
      expectClose(x.subarray(0, c.rows * c.D), rowsRef(values, perm, c.D, c.rows, c.start, c.valid, c.count), { atol: 0, rtol: 0 }, 'x');
      expect(Array.from(x.subarray(c.rows * c.D)), 'past rows * D').toEqual(new Array(PAD).fill(UNWRITTEN));
    });
  }
});

describe('binarized gathering (the binarized-MNIST protocol)', () => {
  const D = 12, count = 9, rows = 6;
  const bytes = dataset(count, D, 7);
  const perm = permutation(count, 3);
  const pixels = pack(bytes);
  const seed = 12345;
  /** A training step's gather (stream train, counter `counter`), or with `stream` another graph's. */
  const run = async (binarize: 'dynamic' | 'fixed', counter: number, stream: number = STREAM.train, dim = D) => {
    const p = new Uint32Array(encodeStepParams({ seed, batchStart: 2, validRows: 5, datasetCount: count, counter, stream }));
    const { x } = await runKernels([gatherBatch({ rows, dim, binarize })], { params: p, pixels, perm }, { x: rows * dim });
    return x;
  };
  const twin = (key: number, stream: number = STREAM.binarize, dim = D) => {
    const x = new Float64Array(rows * dim);
    for (let r = 0; r < 5; r++) {
      if (2 + r >= count) continue;
      const i = perm[2 + r];
      for (let d = 0; d < dim; d++) x[r * dim + d] = binarizedPixel(seed, key, i, d, bytes[i * dim + d], stream);
    }
    return x;
  };

  it('matches the TypeScript twin bit for bit (per-word path, D % 4 == 0)', async () => {
    expect(Array.from(await run('dynamic', 3))).toEqual(Array.from(twin(3)));
    expect(Array.from(await run('fixed', 3))).toEqual(Array.from(twin(0)));
  });

  it('matches the twin on the per-pixel path (D = 13) and keeps grey 0 at 0 and 255 at 1', async () => {
    const D13 = 13;
    const b13 = dataset(count, D13, 7);
    const p = new Uint32Array(encodeStepParams({ seed, batchStart: 2, validRows: 5, datasetCount: count, counter: 1 }));
    const { x } = await runKernels([gatherBatch({ rows, dim: D13, binarize: 'dynamic' })], { params: p, pixels: pack(b13), perm }, { x: rows * D13 });
    const want = new Float64Array(rows * D13);
    for (let r = 0; r < 5 && 2 + r < count; r++) {
      const i = perm[2 + r];
      for (let d = 0; d < D13; d++) want[r * D13 + d] = binarizedPixel(seed, 1, i, d, b13[i * D13 + d]);
    }
    expect(Array.from(x)).toEqual(Array.from(want));
    for (let r = 0; r < 5 && 2 + r < count; r++) {
      for (let d = 0; d < D13; d++) {
        const g = b13[perm[2 + r] * D13 + d];
        if (g === 0) expect(x[r * D13 + d]).toBe(0);
        if (g === 255) expect(x[r * D13 + d]).toBe(1);
      }
    }
  });

  it('dynamic draws change with the step counter, fixed ones do not, and P(1) follows the grey level', async () => {
    const a = await run('dynamic', 1), b = await run('dynamic', 2);
    expect(Array.from(a)).not.toEqual(Array.from(b));
    expect(Array.from(await run('fixed', 1))).toEqual(Array.from(await run('fixed', 2)));
    // Over many keys, the twin's mean for grey 64 is 64/255 within 4 standard errors.
    const n = 4000, pr = 64 / 255;
    let ones = 0;
    for (let key = 0; key < n; key++) ones += binarizedPixel(seed, key, 5, 7, 64);
    expect(Math.abs(ones / n - pr)).toBeLessThan(4 * Math.sqrt((pr * (1 - pr)) / n));
  });

  it('an evaluation (any stream but training\'s) draws key 0 of its own stream, whatever the counter; fixed draws the training set\'s', async () => {
    const evaluated = await run('dynamic', 5, STREAM.eval);
    expect(Array.from(evaluated)).toEqual(Array.from(twin(0, STREAM.binarizeEval)));
    expect(Array.from(await run('dynamic', 9, STREAM.iwae))).toEqual(Array.from(evaluated));
    expect(Array.from(evaluated), 'not the training draw of counter 0').not.toEqual(Array.from(await run('dynamic', 0)));
    expect(Array.from(await run('fixed', 5, STREAM.eval))).toEqual(Array.from(twin(0)));
  });
});

/** condition[r, k] = 1 where example perm[start + r] has label k, for real rows; 0 elsewhere (padding, slots past the data). */
function labelsRef(labels: Uint32Array, perm: Uint32Array, C: number, rows: number, start: number, valid: number, count: number): Float64Array {
  const c = new Float64Array(rows * C);
  for (let r = 0; r < Math.min(rows, valid); r++) if (start + r < count) c[r * C + labels[perm[start + r]]] = 1;
  return c;
}

describe('gatherLabels', () => {
  // 13 examples of 10 classes, one row per class at least; an unaligned C (3) and the batch's edges.
  const cases: { C: number; count: number; rows: number; start: number; valid: number }[] = [
    { C: 10, count: 13, rows: 8, start: 0, valid: 8 },
    { C: 10, count: 13, rows: 8, start: 8, valid: 5 },
    { C: 3, count: 13, rows: 8, start: 2, valid: 6 },
    { C: 3, count: 13, rows: 8, start: 9, valid: 8 },
  ];
  for (const c of cases) {
    it(`one-hot rows of the permuted examples' labels: C=${c.C} count=${c.count} rows=${c.rows} batch_start=${c.start} valid_rows=${c.valid}`, async () => {
      const labels = Uint32Array.from({ length: c.count }, (_, i) => (i * 7 + 3) % c.C);
      const perm = permutation(c.count, 40 + c.C);
      const k = gatherLabels({ rows: c.rows, classes: c.C });
      const { condition } = await runKernels([k], { params: params(c.start, c.valid, c.count), labels, perm }, { condition: c.rows * c.C + PAD });
      const ref = labelsRef(labels, perm, c.C, c.rows, c.start, c.valid, c.count);
      expect(Array.from(condition.subarray(0, c.rows * c.C))).toEqual(Array.from(ref));
      expect(Array.from(condition.subarray(c.rows * c.C)), 'past rows * C').toEqual(new Array(PAD).fill(UNWRITTEN));
      // Negative control: the labels in data order (the permutation left out) are another batch.
      const unpermuted = labelsRef(labels, Uint32Array.from({ length: c.count }, (_, i) => i), c.C, c.rows, c.start, c.valid, c.count);
      expect(Array.from(unpermuted)).not.toEqual(Array.from(ref));
    });
  }
});
