import { describe, expect, it } from 'vitest';
import { DSPRITES_COUNT, DSPRITES_VALUES, dspritesDataset, dspritesIndex, drawSpriteInto } from '../src/data/dsprites';
import { dspritesRadius } from '../shaders/dsprites';
import { DSPRITES_COLOR_COUNT, dspritesColor, dspritesColorDataset, dspritesColorIndex } from '../src/data/dsprites-color';
import { describeRecovery, factorRecovery, RECOVERED_FACTORS, SHAPE_AREA } from '../src/model/factor-recovery';

// Pictures spread over the whole set by a multiplicative step, so every shape and many scales
// and orientations appear.
const spread = (count: number, n: number) => Array.from({ length: n }, (_, i) => Math.floor((((i + 1) * 2654435761) % 2 ** 32) / 2 ** 32 * count));
const asUnit = (bytes: Uint8Array) => Float32Array.from(bytes, (v) => v / 255);

describe('factor recovery by drawing', () => {
  for (const colour of [false, true]) {
    const kind = colour ? 'colour' : 'grey';
    const N = 12;
    const data = colour ? dspritesColorDataset(spread(DSPRITES_COLOR_COUNT, N)) : dspritesDataset(spread(DSPRITES_COUNT, N));
    const width = colour ? 7 : 5, shapeAt = colour ? 2 : 0;
    // The same sprites drawn with one factor moved to its next value (the last to the first).
    const redrawn = (factor: number, values: number) => {
      const other = Uint8Array.from(data.factors);
      for (let p = 0; p < N; p++) other[p * width + factor] = (other[p * width + factor] + 1) % values;
      const indices = Array.from({ length: N }, (_, p) => {
        const [shapeHue, backgroundHue, shape, scale, orientation, posX, posY] = colour ? other.subarray(p * 7, p * 7 + 7) : [0, 0, ...other.subarray(p * 5, p * 5 + 5)];
        const grey = { shape, scale, orientation, posX, posY };
        return colour ? dspritesColorIndex({ shapeHue, backgroundHue, ...grey }) : dspritesIndex(grey);
      });
      const drawn = colour ? dspritesColorDataset(indices) : dspritesDataset(indices);
      expect(Array.from(drawn.factors)).toEqual(Array.from(other));
      return asUnit(drawn.images);
    };

    it(`${kind}: the pictures themselves keep every factor`, () => {
      const r = factorRecovery(asUnit(data.images), data.factors, N);
      expect(r.map((f) => f.factor)).toEqual([...RECOVERED_FACTORS]);
      expect(r.map((f) => f.values)).toEqual([3, 6, 40]);
      expect(r.map((f) => f.kept)).toEqual([1, 1, 1]);
    });

    it(`${kind}: sprites drawn as the next shape of the same area keep no shape`, () => {
      const recon = new Float32Array(data.images.length), mask = new Uint8Array(4096);
      const size = data.images.length / N;
      for (let p = 0; p < N; p++) {
        const [shapeHue, backgroundHue, shape, scale, orientation, posX, posY] = colour ? data.factors.subarray(p * 7, p * 7 + 7) : [0, 0, ...data.factors.subarray(p * 5, p * 5 + 5)];
        const next = (shape + 1) % 3;
        drawSpriteInto(next, dspritesRadius(scale) * Math.sqrt(SHAPE_AREA[shape] / SHAPE_AREA[next]), orientation, DSPRITES_VALUES.posX(posX), DSPRITES_VALUES.posY(posY), mask);
        const on = colour ? dspritesColor(shapeHue, true) : [255], off = colour ? dspritesColor(backgroundHue, false) : [0];
        for (let c = 0; c < on.length; c++) for (let i = 0; i < 4096; i++) recon[p * size + c * 4096 + i] = (mask[i] ? on[c] : off[c]) / 255;
      }
      const [shape] = factorRecovery(recon, data.factors, N);
      expect(shape.kept).toBe(0);
      expect(shape.keptByValue.every((v) => v === 0 || Number.isNaN(v))).toBe(true);
      expect(describeRecovery(shape)).toMatch(/^shape 0% \(chance about 33%; square (0%|-), ellipse (0%|-), heart (0%|-)\)$/);
    });

    it(`${kind}: sprites drawn one scale larger (the largest as the smallest) keep no scale`, () => {
      const r = factorRecovery(redrawn(shapeAt + 1, 6), data.factors, N);
      expect(r[1].kept).toBe(0);
      expect(describeRecovery(r[1])).toBe('scale 0% (chance about 17%)');
    });

    it(`${kind}: a picture-wide mean keeps shape no better than a guess`, () => {
      // Every pixel at the mean level of its picture: the same nearest drawing for every picture
      // of a size, whatever its own shape.
      const size = data.images.length / N;
      const flat = new Float32Array(data.images.length);
      for (let p = 0; p < N; p++) {
        let s = 0;
        for (let i = 0; i < size; i++) s += data.images[p * size + i] / 255;
        flat.fill(s / size, p * size, (p + 1) * size);
      }
      const [shape] = factorRecovery(flat, data.factors, N);
      expect(shape.kept).toBeLessThan(0.7);
      expect(shape.keptByValue.filter((v) => v > 0.5).length).toBeLessThanOrEqual(1);
    });
  }

  it('a rotation onto the same drawing (a square by 90 degrees, an ellipse by 180) ties, and counts as kept', () => {
    const at = (shape: number, orientation: number, n: number) => dspritesIndex({ shape, scale: n % 6, orientation, posX: (7 * n) % 32, posY: (11 * n) % 32 });
    const pictures = Array.from({ length: 9 }, (_, n) => at(n % 3, (3 * n) % 40, n));
    // Squares turned 10 of the 40 steps (90 degrees), ellipses and hearts 20 (180 degrees).
    const turned = Array.from({ length: 9 }, (_, n) => at(n % 3, ((3 * n) % 40 + (n % 3 === 0 ? 10 : 20)) % 40, n));
    const orientationKept = (which: (n: number) => boolean) => {
      const picked = Array.from({ length: 9 }, (_, n) => n).filter(which);
      const data = dspritesDataset(picked.map((n) => pictures[n]));
      return factorRecovery(asUnit(dspritesDataset(picked.map((n) => turned[n])).images), data.factors, picked.length)[2].kept;
    };
    expect(orientationKept((n) => n % 3 !== 2)).toBe(1);
    // Hearts have no such symmetry: turned by 180 degrees, they lose their orientation.
    expect(orientationKept((n) => n % 3 === 2)).toBe(0);
  });

  it('refuses sizes that do not belong to dSprites, naming what it got', () => {
    const data = dspritesDataset([0, 1]);
    const x = asUnit(data.images);
    expect(() => factorRecovery(x, data.factors.subarray(0, 8), 2)).toThrow(/8 factor bytes for 2 pictures; dSprites pictures have 5 factors \(colour: 7\)/);
    expect(() => factorRecovery(x.subarray(0, 100), data.factors, 2)).toThrow(/100 reconstructed values for 2 dSprites pictures of 4096 values each/);
  });
});
