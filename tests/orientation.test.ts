// orientationWithinShapes against a float64 reference written the plain way (two passes, group
// means), and on dimensions whose answer is known: a dimension that turns with each shape's own
// symmetry, one that ignores orientation, one that turns the ellipses only, and one that follows
// the raw angle where the picture cannot tell it from its half turn.
import { describe, expect, it } from 'vitest';
import { DSPRITES_ORIENTATION_PERIODS, orientationWithinShapes } from '../src/model/orientation';
import { factorVarianceExplained } from '../src/model/traversal';
import { DSPRITES_SHAPES } from '../src/data/dsprites';
import { Philox } from '../src/rng';

const FACTORS = 5; // shape, scale, orientation, posX, posY
const PERIODS = DSPRITES_SHAPES.map((s) => DSPRITES_ORIENTATION_PERIODS[s]);

/** Every shape x orientation x 4 positions, as factor rows; dims(shape, angle, posX) gives each row's mu. */
function grid(dims: (shape: number, angle: number, posX: number, row: number) => number[]): { mu: Float32Array; factors: Uint8Array; latent: number } {
  const rows: number[][] = [], factors: number[] = [];
  for (let shape = 0; shape < 3; shape++) for (let angle = 0; angle < 40; angle++) for (let posX = 0; posX < 4; posX++) {
    rows.push(dims(shape, angle, posX, rows.length));
    factors.push(shape, 2, angle, posX, 7);
  }
  return { mu: Float32Array.from(rows.flat()), factors: Uint8Array.from(factors), latent: rows[0].length };
}

/** Kelley's epsilon squared of values grouped by key, two passes in float64. */
function epsilonReference(values: number[], keys: number[][]): number {
  const groups = new Map<string, number[]>();
  values.forEach((v, i) => { const k = keys[i].join(','); groups.set(k, [...(groups.get(k) ?? []), v]); });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // Total within shapes: deviations from each shape's mean (the first key).
  const shapes = new Map<number, number[]>();
  values.forEach((v, i) => shapes.set(keys[i][0], [...(shapes.get(keys[i][0]) ?? []), v]));
  let ssTotal = 0, ssWithin = 0;
  for (const xs of shapes.values()) { const m = mean(xs); ssTotal += xs.reduce((a, x) => a + (x - m) ** 2, 0); }
  for (const xs of groups.values()) { const m = mean(xs); ssWithin += xs.reduce((a, x) => a + (x - m) ** 2, 0); }
  const n = values.length;
  return Math.max(0, 1 - (ssWithin / (n - groups.size)) / (ssTotal / (n - shapes.size)));
}

describe('orientation within each shape', () => {
  it('matches the two-pass float64 reference on random codes, pooled and per shape', () => {
    const rng = new Philox(7, 0);
    const noise = () => rng.nextNormal();
    const { mu, factors, latent } = grid((shape, angle) => [noise(), Math.cos(angle / 3) + noise(), shape + 0.3 * noise()]);
    const got = orientationWithinShapes(mu, latent, factors, FACTORS, 0, 2);
    for (let j = 0; j < latent; j++) {
      const values: number[] = [], keys: number[][] = [];
      for (let r = 0; r < mu.length / latent; r++) {
        const shape = factors[r * FACTORS];
        values.push(mu[r * latent + j]);
        keys.push([shape, factors[r * FACTORS + 2] % PERIODS[shape]]);
      }
      expect(got[j].pooled).toBeCloseTo(epsilonReference(values, keys), 9);
      for (let s = 0; s < 3; s++) {
        const mine = values.map((_, i) => i).filter((i) => keys[i][0] === s);
        expect(got[j].byShape[s]).toBeCloseTo(epsilonReference(mine.map((i) => values[i]), mine.map((i) => keys[i])), 9);
      }
    }
  });

  it('is 1 for a dimension that turns with each shape\'s symmetry, 0 for one that does not turn', () => {
    const turn = (shape: number, angle: number) => Math.cos((2 * Math.PI * angle) / PERIODS[shape]);
    const { mu, factors, latent } = grid((shape, angle, posX) => [turn(shape, angle), posX]);
    const [turning, moving] = orientationWithinShapes(mu, latent, factors, FACTORS, 0, 2);
    expect(turning.pooled).toBeCloseTo(1, 6);
    for (const v of turning.byShape) expect(v).toBeCloseTo(1, 6);
    expect(moving.pooled).toBe(0);
    expect(moving.byShape).toEqual([0, 0, 0]);
  });

  it('credits an ellipse-only turn in full to the ellipses, where the raw-angle correlation ratio over all pictures does not', () => {
    const { mu, factors, latent } = grid((shape, angle) => [shape === 1 ? Math.cos((2 * Math.PI * angle) / 20) : 0]);
    const [within] = orientationWithinShapes(mu, latent, factors, FACTORS, 0, 2);
    expect(within.byShape[1]).toBeCloseTo(1, 6);
    expect(within.byShape[0]).toBe(0);
    expect(within.pooled).toBeCloseTo(1, 6);
    const [marginal] = factorVarianceExplained(mu, latent, factors, FACTORS);
    expect(marginal[2]).toBeLessThan(0.4); // orientation's share over all shapes at once
  });

  it('gives nothing for the raw angle of a shape whose half turn draws the same picture', () => {
    // An ellipse at angle k and at k + 20 is one picture; a code that told them apart (cos of the
    // whole turn) would be telling what the picture does not show, and folding cancels it.
    const { mu, factors, latent } = grid((shape, angle) => [shape === 1 ? Math.cos((2 * Math.PI * angle) / 40) : 0]);
    const [within] = orientationWithinShapes(mu, latent, factors, FACTORS, 0, 2);
    expect(within.byShape[1]).toBeCloseTo(0, 6);
  });

  it('refuses factors too short for the rows, and a shape dSprites does not have', () => {
    expect(() => orientationWithinShapes(new Float32Array(4), 2, new Uint8Array(5), 5, 0, 2)).toThrow(/2 rows need 10 factor values, got 5/);
    expect(() => orientationWithinShapes(new Float32Array(1), 1, Uint8Array.from([3, 0, 0, 0, 0]), 5, 0, 2)).toThrow(/row 0 has shape 3; dSprites has 3/);
  });
});
