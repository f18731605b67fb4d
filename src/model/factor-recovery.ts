// Which dSprites factors reconstructions keep, judged by drawing. dSprites pictures carry their
// generating factors, so for each test picture the data set can draw other sprites at the
// picture's place (and in its hues) and ask which one the reconstruction is nearest to (squared
// error over every channel):
//   shape        each of the 3 shapes at the picture's area (its radius scaled by the ratio of
//                the shapes' areas) and centroid, each at its best of the 40 orientations: kept
//                when the picture's own shape is nearest. Matching area and centroid matters: at
//                one scale a square covers 2.5 times an ellipse's pixels, and a heart's centroid
//                sits off its centre, so without them a round blob would be called a square for
//                its size, or a heart for its place.
//   scale        the 6 scales, the other factors at the picture's own values;
//   orientation  the 40 orientations, likewise. Both hold the picture's own shape, so a
//                reconstruction of the wrong shape can lose them too.
// Drawings that coincide, as a square's orientations 90 degrees apart do, tie, and a tie with the
// nearest counts as kept. With no information about a factor a reconstruction keeps it about
// once in as many values as it has (more for orientation, whose symmetric shapes tie).
//
// This is the number behind "every sprite comes back as a round blob": shape kept near chance.
import { DSPRITES_FACTOR_NAMES, DSPRITES_FACTOR_SIZES, DSPRITES_SHAPES, DSPRITES_SIDE, DSPRITES_VALUES, dspritesIndex, drawSpriteInto, renderDspriteInto } from '../data/dsprites';
import { DSPRITES_COLOR_FACTOR_NAMES, dspritesColor } from '../data/dsprites-color';
import { dspritesRadius } from '../../shaders/dsprites';

/** The factors judged, in the order of a grey factor row. */
export const RECOVERED_FACTORS = ['shape', 'scale', 'orientation'] as const;

export interface FactorRecovery {
  factor: string;
  /** How many values the factor takes. */
  values: number;
  pictures: number;
  /** Share of pictures whose nearest drawing has the picture's own value. */
  kept: number;
  /** Share kept among the pictures of each true value (NaN where none had it). */
  keptByValue: number[];
}

const PIXELS = DSPRITES_SIDE * DSPRITES_SIDE;
const [SHAPES, SCALES, ORIENTATIONS] = [0, 1, 2].map((f) => DSPRITES_FACTOR_SIZES[f]);

/** Each shape's drawn area per squared radius, from a large drawing. */
export const SHAPE_AREA = (() => {
  const mask = new Uint8Array(PIXELS), r = 20;
  return Array.from({ length: SHAPES }, (_, shape) => {
    drawSpriteInto(shape, r, 0, DSPRITES_SIDE / 2, DSPRITES_SIDE / 2, mask);
    return mask.reduce((n, v) => n + (v ? 1 : 0), 0) / (r * r);
  });
})();

/** The centre of a drawing's lit pixels, in the coordinates of drawSpriteInto's centre; (cx, cy) if none is lit. */
export function centroid(mask: Uint8Array, cx: number, cy: number): [number, number] {
  let n = 0, x = 0, y = 0;
  for (let i = 0; i < PIXELS; i++) {
    if (!mask[i]) continue;
    n++;
    x += (i % DSPRITES_SIDE) + 0.5;
    y += Math.floor(i / DSPRITES_SIDE) + 0.5;
  }
  return n ? [x / n, y / n] : [cx, cy];
}

/**
 * Draws `shape` at turn `orientation` with the area of the picture's own sprite (`own`: its shape
 * and scale) and its lit pixels centred on the picture's centroid `target`: the picture as it
 * would be with another outline. A heart's centroid sits off its centre, hence the second draw.
 */
export function drawMatched(
  { shape, orientation }: { shape: number; orientation: number },
  own: { shape: number; scale: number; posX: number; posY: number }, target: [number, number], mask: Uint8Array,
): void {
  const radius = dspritesRadius(own.scale) * Math.sqrt(SHAPE_AREA[own.shape] / SHAPE_AREA[shape]);
  const cx = DSPRITES_VALUES.posX(own.posX), cy = DSPRITES_VALUES.posY(own.posY);
  drawSpriteInto(shape, radius, orientation, cx, cy, mask);
  const [mx, my] = centroid(mask, cx, cy);
  drawSpriteInto(shape, radius, orientation, cx + target[0] - mx, cy + target[1] - my, mask);
}

/** Squared distance from the picture of `recon` at `offset` to `mask` painted in `hues` (shape, background), or white on black. */
function distanceToMask(recon: Float32Array, offset: number, mask: Uint8Array, hues: [number, number] | null): number {
  const on = hues ? dspritesColor(hues[0], true) : [255];
  const off = hues ? dspritesColor(hues[1], false) : [0];
  let s = 0;
  for (let c = 0; c < on.length; c++) {
    const fg = on[c] / 255, bg = off[c] / 255, plane = offset + c * PIXELS;
    for (let i = 0; i < PIXELS; i++) {
      const d = recon[plane + i] - (mask[i] ? fg : bg);
      s += d * d;
    }
  }
  return s;
}

/**
 * How often the reconstructions (`recon`, one picture of [0, 1] values after another, as the
 * decoder returns them) keep shape, scale and orientation, for the `pictures` whose factor rows
 * are `factors` (grey dSprites: 5 bytes each, colour: 7, in the data set's factor order).
 */
export function factorRecovery(recon: Float32Array, factors: Uint8Array, pictures: number): FactorRecovery[] {
  const width = factors.length / pictures;
  if (width !== DSPRITES_FACTOR_NAMES.length && width !== DSPRITES_COLOR_FACTOR_NAMES.length) {
    throw new Error(`factorRecovery: ${factors.length} factor bytes for ${pictures} pictures; dSprites pictures have ${DSPRITES_FACTOR_NAMES.length} factors (colour: ${DSPRITES_COLOR_FACTOR_NAMES.length})`);
  }
  const colour = width === DSPRITES_COLOR_FACTOR_NAMES.length;
  const size = (colour ? 3 : 1) * PIXELS;
  if (recon.length !== pictures * size) {
    throw new Error(`factorRecovery: ${recon.length} reconstructed values for ${pictures} ${colour ? 'colour ' : ''}dSprites pictures of ${size} values each`);
  }
  const sizes = [SHAPES, SCALES, ORIENTATIONS];
  const kept = sizes.map((n) => new Array<number>(n).fill(0)), seen = sizes.map((n) => new Array<number>(n).fill(0));
  const mask = new Uint8Array(PIXELS);
  for (let p = 0; p < pictures; p++) {
    const row = Array.from(factors.subarray(p * width, (p + 1) * width));
    const hues: [number, number] | null = colour ? [row[0], row[1]] : null;
    const [shape, scale, orientation, posX, posY] = colour ? row.slice(2) : row;
    const offset = p * size;
    const byIndex = (f: { shape: number; scale: number; orientation: number }) => {
      renderDspriteInto(dspritesIndex({ ...f, posX, posY }), mask);
      return distanceToMask(recon, offset, mask, hues);
    };
    const cx = DSPRITES_VALUES.posX(posX), cy = DSPRITES_VALUES.posY(posY);
    renderDspriteInto(dspritesIndex({ shape, scale, orientation, posX, posY }), mask);
    const [tx, ty] = centroid(mask, cx, cy);
    const byShape = Array.from({ length: SHAPES }, (_, s) => {
      let best = Infinity;
      for (let o = 0; o < ORIENTATIONS; o++) {
        drawMatched({ shape: s, orientation: o }, { shape, scale, posX, posY }, [tx, ty], mask);
        best = Math.min(best, distanceToMask(recon, offset, mask, hues));
      }
      return best;
    });
    const byScale = Array.from({ length: SCALES }, (_, k) => byIndex({ shape, scale: k, orientation }));
    const byOrientation = Array.from({ length: ORIENTATIONS }, (_, o) => byIndex({ shape, scale, orientation: o }));
    [[byShape, shape], [byScale, scale], [byOrientation, orientation]].forEach(([distances, own], i) => {
      const d = distances as number[], v = own as number;
      seen[i][v]++;
      // Identical drawings give bit-identical sums, so a tie is an exact equality.
      if (d[v] <= Math.min(...d)) kept[i][v]++;
    });
  }
  return RECOVERED_FACTORS.map((factor, i) => ({
    factor, values: sizes[i], pictures,
    kept: kept[i].reduce((a, b) => a + b, 0) / pictures,
    keptByValue: kept[i].map((k, v) => k / seen[i][v]),
  }));
}

/** One line per factor, e.g. "shape 61% (chance about 33%; square 70%, ellipse 55%, heart 58%)". */
export function describeRecovery(r: FactorRecovery): string {
  const pct = (v: number) => (Number.isNaN(v) ? '-' : `${Math.round(100 * v)}%`);
  const byShape = r.factor === 'shape' ? `; ${DSPRITES_SHAPES.map((s, v) => `${s} ${pct(r.keptByValue[v])}`).join(', ')}` : '';
  return `${r.factor} ${pct(r.kept)} (chance about ${pct(1 / r.values)}${byShape})`;
}
