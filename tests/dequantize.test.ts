// Uniform dequantization in the batch gather (shaders/batch.ts): grey level g becomes (g + u) / 256
// with u from Philox, matched bit for bit by its TypeScript twin (dequantizedPixel), on both the
// per-word (D % 4 == 0) and the per-pixel path, with padding rows zero.
import { describe, expect, it } from 'vitest';
import { gatherBatch } from '../shaders/batch';
import { dequantizedPixel } from '../src/data/binarize';
import { encodeStepParams, STREAM } from '../src/step-params';
import { testData } from './helpers/compare';
import { runKernels } from './helpers/gpu';

const pack = (bytes: Uint8Array) => {
  const words = new Uint32Array(Math.ceil(bytes.length / 4));
  for (let k = 0; k < bytes.length; k++) words[k >> 2] |= bytes[k] << ((k & 3) * 8);
  return words;
};

describe('dequantized gathering', () => {
  const count = 7, rows = 5, seed = 777, batchStart = 1, validRows = 4;
  const perm = Uint32Array.of(4, 2, 6, 0, 5, 1, 3);

  for (const D of [12, 13]) {
    it(`matches the twin bit for bit (D = ${D}) and stays inside each level's bin`, async () => {
      const bytes = Uint8Array.from(testData(count * D, D, 0, 256), Math.floor);
      bytes[0] = 0;
      bytes[1] = 255;
      const run = async (counter: number, stream: number = STREAM.train) => {
        const params = new Uint32Array(encodeStepParams({ seed, batchStart, validRows, datasetCount: count, counter, stream }));
        return (await runKernels([gatherBatch({ rows, dim: D, dequantize: true })], { params, pixels: pack(bytes), perm }, { x: rows * D })).x;
      };
      const x = await run(3);
      const want = new Float64Array(rows * D);
      for (let r = 0; r < validRows; r++) {
        const i = perm[batchStart + r];
        for (let d = 0; d < D; d++) want[r * D + d] = dequantizedPixel(seed, 3, i, d, bytes[i * D + d]);
      }
      expect(Array.from(x)).toEqual(Array.from(want));
      for (let r = 0; r < validRows; r++) {
        const i = perm[batchStart + r];
        for (let d = 0; d < D; d++) {
          const g = bytes[i * D + d], v = x[r * D + d] * 256;
          expect(v > g && v < g + 1, `level ${g} -> ${v / 256}`).toBe(true);
        }
      }
      // The padding row is zero, and another step draws other noise.
      expect(Array.from(x.subarray(validRows * D)).every((v) => v === 0)).toBe(true);
      expect(Array.from(await run(4))).not.toEqual(Array.from(x));
      // An evaluation draws key 0 of its own stream, whatever its counter: never a training step's noise.
      const evaluated = await run(7, STREAM.eval);
      for (let r = 0; r < validRows; r++) {
        const i = perm[batchStart + r];
        for (let d = 0; d < D; d++) want[r * D + d] = dequantizedPixel(seed, 0, i, d, bytes[i * D + d], STREAM.dequantizeEval);
      }
      expect(Array.from(evaluated)).toEqual(Array.from(want));
      expect(Array.from(evaluated)).not.toEqual(Array.from(await run(0)));
    });
  }

  it('the noise is uniform: the twin mean of u over many steps is 1/2 within 4 standard errors', () => {
    const n = 4000;
    let sum = 0;
    for (let key = 0; key < n; key++) sum += dequantizedPixel(1, key, 3, 5, 100) * 256 - 100;
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(4 * Math.sqrt(1 / 12 / n));
  });

  it('refuses dequantization together with binarization', () => {
    expect(() => gatherBatch({ rows: 1, dim: 4, binarize: 'dynamic', dequantize: true })).toThrow(/binarization/);
  });
});
