// Orientation in dSprites, measured where it is defined. The data set turns every shape through the
// same 40 angles, but a square looks the same after a quarter turn and an ellipse after a half
// turn, and an angle means nothing to the picture apart from its shape: a dimension that turns
// the ellipse perfectly shows almost no correlation ratio with the raw angle over all pictures,
// because the squares and hearts at that angle pull its per-angle means toward the middle.
// orientationWithinShapes therefore measures the correlation ratio within each shape, with the
// angles folded by that shape's period, and corrects it for the number of angle groups (with 40
// groups among a few hundred pictures of one shape the plain ratio is biased up by about 0.1).
import { DSPRITES_SHAPES } from '../data/dsprites';

/** Orientation index steps (of 40 per turn) after which each shape's picture repeats: a quarter, a half and a whole turn. */
export const DSPRITES_ORIENTATION_PERIODS: Record<(typeof DSPRITES_SHAPES)[number], number> = { square: 10, ellipse: 20, heart: 40 };

export interface OrientationShare {
  /** Over all shapes: the within-shape variance the folded angle explains, pooled. */
  pooled: number;
  /** The same within each shape, in DSPRITES_SHAPES order (0 for a shape with no pictures). */
  byShape: number[];
}

interface Sums { n: number; sum: number; sumSq: number }

const add = (s: Sums, v: number) => { s.n++; s.sum += v; s.sumSq += v * v; };
/** The sum of squared deviations from the group's own mean. */
const spread = (s: Sums) => (s.n > 0 ? Math.max(0, s.sumSq - (s.sum * s.sum) / s.n) : 0);

/**
 * For each latent dimension j: epsilon^2 = 1 - (SS_within / (n - k)) / (SS_total / (n - s)), the
 * share of mu_j's variance within shapes that the folded angle explains, corrected for its k
 * groups (Kelley's epsilon squared; 0 where the correction makes it negative). `shapeColumn` and
 * `orientationColumn` index the factors of each row (`factorCount` per row).
 */
export function orientationWithinShapes(mu: Float32Array, latent: number, factors: Uint8Array, factorCount: number, shapeColumn: number, orientationColumn: number): OrientationShare[] {
  const rows = mu.length / latent;
  if (factors.length < rows * factorCount) throw new Error(`orientationWithinShapes: ${rows} rows need ${rows * factorCount} factor values, got ${factors.length}`);
  const periods = DSPRITES_SHAPES.map((name) => DSPRITES_ORIENTATION_PERIODS[name]);
  const epsilon = (ssWithin: number, ssTotal: number, n: number, groups: number, totals: number) =>
    n > groups && ssTotal > 0 ? Math.max(0, 1 - (ssWithin / (n - groups)) / (ssTotal / (n - totals))) : 0;
  return Array.from({ length: latent }, (_, j) => {
    const shapes = periods.map(() => ({ all: { n: 0, sum: 0, sumSq: 0 } as Sums, groups: new Map<number, Sums>() }));
    for (let r = 0; r < rows; r++) {
      const shape = factors[r * factorCount + shapeColumn];
      if (shape >= periods.length) throw new Error(`orientationWithinShapes: row ${r} has shape ${shape}; dSprites has ${periods.length}`);
      const angle = factors[r * factorCount + orientationColumn] % periods[shape];
      const v = mu[r * latent + j];
      const s = shapes[shape];
      add(s.all, v);
      let g = s.groups.get(angle);
      if (!g) s.groups.set(angle, (g = { n: 0, sum: 0, sumSq: 0 }));
      add(g, v);
    }
    let within = 0, total = 0, n = 0, groups = 0, present = 0;
    const byShape = shapes.map((s) => {
      const w = [...s.groups.values()].reduce((a, g) => a + spread(g), 0), t = spread(s.all);
      if (s.all.n > 0) present++;
      within += w; total += t; n += s.all.n; groups += s.groups.size;
      return epsilon(w, t, s.all.n, s.groups.size, 1);
    });
    return { pooled: epsilon(within, total, n, groups, present), byShape };
  });
}
