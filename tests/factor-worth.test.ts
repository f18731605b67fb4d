// bench/quality/factor-worth.ts: its figures are the cross-entropy of each picture against the mean
// of its variants, so over a picture's own variants they must equal the mean picture's entropy.
import { describe, expect, it } from 'vitest';
import { DSPRITES_COUNT, dspritesFactors, dspritesIndex, renderDsprites } from '../src/data/dsprites';
import { DSPRITES_COLOR_COUNT, renderColorDsprites } from '../src/data/dsprites-color';
import { factorWorth } from '../bench/quality/factor-worth';

/** Nats of a Bernoulli whose probability is the picture's own value at every pixel (its entropy). */
function entropy(values: ArrayLike<number>): number {
  let h = 0;
  for (let i = 0; i < values.length; i++) {
    const p = values[i];
    if (p > 0 && p < 1) h -= p * Math.log(p) + (1 - p) * Math.log(1 - p);
  }
  return h;
}

/** The picture's variants over the given shapes and orientations, the other factors held. */
const variants = (index: number, shapes: number[], orientations: number[]) =>
  shapes.flatMap((shape) => orientations.map((orientation) => dspritesIndex({ ...dspritesFactors(index), shape, orientation })));

/** Per-pixel mean of binary grey pictures, 0..1. */
function meanPicture(indices: number[]): Float64Array {
  const pictures = renderDsprites(indices), mean = new Float64Array(4096);
  for (let v = 0; v < indices.length; v++) for (let p = 0; p < 4096; p++) mean[p] += pictures[v * 4096 + p] / 255 / indices.length;
  return mean;
}

describe('what shape and orientation are worth to a Bernoulli reconstruction (bench/quality/factor-worth.ts)', () => {
  const sprite = 300_000 + 12_345; // an ellipse at the second-smallest scale

  it('averaged over a picture\'s own shape variants, "shape unknown" is the entropy of their mean picture', () => {
    // For binary pictures, E over the variants v of -log m(x_v) is the binary entropy of m at each pixel.
    const shapes = variants(sprite, [0, 1, 2], [dspritesFactors(sprite).orientation]);
    expect(new Set(shapes).size).toBe(3);
    const worth = factorWorth(shapes, false);
    expect(worth.floor).toBeLessThan(1e-2);
    expect(worth['shape unknown']).toBeCloseTo(entropy(meanPicture(shapes)), 2); // the clamp at 1e-7 adds up to 4e-4 nats over 4096 pixels
    expect(worth['shape unknown']).toBeGreaterThan(20);
  });

  it('and likewise over its 40 orientations for "orientation unknown" and its 120 variants for both', () => {
    const orientations = variants(sprite, [dspritesFactors(sprite).shape], Array.from({ length: 40 }, (_, i) => i));
    expect(factorWorth(orientations, false)['orientation unknown']).toBeCloseTo(entropy(meanPicture(orientations)), 2);
    const both = variants(sprite, [0, 1, 2], Array.from({ length: 40 }, (_, i) => i));
    expect(factorWorth(both, false)['shape and orientation unknown']).toBeCloseTo(entropy(meanPicture(both)), 2);
  });

  it('knowing more never costs more on average, and a colour picture\'s floor is its own entropy', () => {
    const spread = Array.from({ length: 6 }, (_, i) => Math.floor(((i + 1) * 0.618034 % 1) * DSPRITES_COUNT));
    const grey = factorWorth(spread, false);
    expect(grey['shape and orientation unknown']).toBeGreaterThan(grey['shape unknown']);
    expect(grey['shape and orientation unknown']).toBeGreaterThan(grey['orientation unknown']);
    // Knowing the sprite's area and centroid leaves less unknown, but not nothing.
    expect(grey['outline unknown, area and centroid known']).toBeLessThan(grey['shape and orientation unknown'] - 10);
    expect(grey['outline unknown, area and centroid known']).toBeGreaterThan(grey.floor + 10);
    const colourIndex = 17 * DSPRITES_COUNT + sprite;
    expect(colourIndex).toBeLessThan(DSPRITES_COLOR_COUNT);
    const colour = factorWorth([colourIndex], true);
    expect(colour.floor).toBeCloseTo(entropy(Float64Array.from(renderColorDsprites([colourIndex]), (v) => v / 255)), 2);
    expect(colour.floor).toBeGreaterThan(1000);
    expect(colour['shape unknown']).toBeGreaterThan(colour.floor + 20);
    expect(colour['outline unknown, area and centroid known']).toBeGreaterThan(colour.floor + 10);
    expect(colour['outline unknown, area and centroid known']).toBeLessThan(colour['shape and orientation unknown']);
  });
});
