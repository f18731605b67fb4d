// The GPU dSprites rasterizer (shaders/dsprites.ts) against the CPU renderer of src/data, its
// reference: the same pictures, except where a sample lies within f32 rounding of a shape's edge,
// which can only change a pixel whose reference count is 7 or 8 of its 16 samples. Padding rows
// (indices out of range) are zero; output starts NaN-filled, so an unwritten pixel fails.
import { describe, expect, it } from 'vitest';
import { dspritesRaster } from '../shaders/dsprites';
import { DSPRITES_COUNT, dspriteCoverage, dspritesIndex } from '../src/data/dsprites';
import { DSPRITES_COLOR_COUNT, renderColorDsprites } from '../src/data/dsprites-color';
import { runKernels } from './helpers/gpu';

const PIXELS = 4096;
const PAD = 0xffffffff;

/** `n` indices: every shape at its extremes of scale, rotation and position first, then random ones. */
function someIndices(n: number, seed: number, count = DSPRITES_COUNT): number[] {
  const out: number[] = [];
  for (let shape = 0; shape < 3; shape++) {
    for (const [scale, orientation, posX, posY] of [[0, 0, 0, 0], [5, 39, 31, 31], [5, 13, 0, 31], [2, 7, 17, 3]]) {
      out.push(dspritesIndex({ shape, scale, orientation, posX, posY }));
    }
  }
  let s = seed >>> 0;
  while (out.length < n) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(Math.floor((s / 2 ** 32) * count));
  }
  return out.slice(0, n);
}

/** Compares one grey picture, returning the pixels that differ and whether all are edge pixels. */
function compareGrey(got: Float32Array, index: number): { differ: number; lit: number; offEdge: string[] } {
  const coverage = dspriteCoverage(index);
  let differ = 0;
  let lit = 0;
  const offEdge: string[] = [];
  coverage.forEach((hits, p) => {
    const want = hits >= 8 ? 1 : 0;
    lit += want;
    if (got[p] === want) return;
    differ++;
    if (!(hits === 7 || hits === 8) || !(got[p] === 0 || got[p] === 1)) offEdge.push(`index ${index} pixel ${p}: got ${got[p]}, reference count ${hits}`);
  });
  return { differ, lit, offEdge };
}

describe('dspritesRaster', () => {
  for (const rows of [1, 5, 40]) {
    it(`renders ${rows} grey rows as the CPU renderer does, up to f32 edge samples`, async () => {
      const indices = someIndices(rows, rows);
      const { x } = await runKernels([dspritesRaster({ rows })], { indices: Uint32Array.from(indices) }, { x: rows * PIXELS });
      let differ = 0;
      let lit = 0;
      indices.forEach((index, r) => {
        const c = compareGrey(x.subarray(r * PIXELS, (r + 1) * PIXELS), index);
        expect(c.offEdge).toEqual([]);
        differ += c.differ;
        lit += c.lit;
      });
      expect(differ).toBeLessThanOrEqual(Math.max(2, lit / 200)); // at most 0.5% of the shapes' pixels
    });
  }

  it('writes zero rows for padding indices and leaves nothing unwritten', async () => {
    const indices = Uint32Array.of(123_456, PAD, DSPRITES_COUNT, 7);
    const { x } = await runKernels([dspritesRaster({ rows: 4 })], { indices }, { x: 4 * PIXELS });
    expect(x.every((v) => v === 0 || v === 1)).toBe(true);
    for (const r of [1, 2]) expect(x.subarray(r * PIXELS, (r + 1) * PIXELS).every((v) => v === 0)).toBe(true);
    expect(x.subarray(0, PIXELS).some((v) => v === 1)).toBe(true);
  });

  it('renders colour rows planar: shape hue where the shape is, background hue elsewhere', async () => {
    const rows = 7;
    const indices = someIndices(rows, 3, DSPRITES_COLOR_COUNT);
    indices[rows - 1] = PAD;
    const { x } = await runKernels([dspritesRaster({ rows, colour: true })], { indices: Uint32Array.from(indices) }, { x: rows * 3 * PIXELS });
    const reference = renderColorDsprites(indices.slice(0, rows - 1));
    let differ = 0;
    for (let r = 0; r < rows - 1; r++) {
      const coverage = dspriteCoverage(indices[r] % DSPRITES_COUNT);
      for (let p = 0; p < PIXELS; p++) {
        for (let c = 0; c < 3; c++) {
          const want = reference[(3 * r + c) * PIXELS + p] / 255;
          const got = x[(3 * r + c) * PIXELS + p];
          // Written as `!(... <= ...)` so that a NaN (a pixel no invocation wrote) counts as a mismatch.
          if (!(Math.abs(got - want) <= 1e-7)) {
            differ++;
            expect(coverage[p] === 7 || coverage[p] === 8, `row ${r} pixel ${p} channel ${c}: got ${got * 255}, want ${want * 255}`).toBe(true);
          }
        }
      }
    }
    // Edge pixels where f32 and float64 may decide 7 or 8 covered samples apart: 0 of them on Dawn,
    // while lighting pixels at 7 of 16 samples instead of 8 changes 12 values here.
    expect(differ).toBeLessThanOrEqual(4);
    expect(x.every(Number.isFinite), 'every channel of every pixel written').toBe(true);
    expect(x.subarray((rows - 1) * 3 * PIXELS).every((v) => v === 0)).toBe(true);
  });
});
