// What the outline of a dSprites sprite is worth to a Bernoulli reconstruction, in nats: over the
// test pictures of the dSprites quality runs, the cross-entropy of each picture against
//   itself                              the floor: no model does better;
//   the mean of its 3 shapes            the best a decoder can do that knows every factor but shape;
//   the mean of its 40 orientations     ... every factor but orientation;
//   the mean of its 120 variants        ... every factor but shape and orientation;
//   the same, each variant drawn at the picture's area and centroid (factor-recovery.ts's
//                                       drawMatched)  ... but its outline: a model below this
//                                       row holds more of shape or orientation than the size
//                                       and place of its blob (at one scale a square covers 2.5
//                                       times an ellipse's pixels, so size alone says something).
// The mean is the optimal prediction under log loss when those factors are unknown and uniform,
// so a model whose test reconstruction term is below a row's figure must carry some of what that
// row leaves out. The test pictures are the runs' own: the first `--n` of the seeded split.
//
//   npx tsx bench/quality/factor-worth.ts [--data=dsprites|dsprites-color] [--n=1000] [--seed=0]
import { pathToFileURL } from 'node:url';
import { splitGenerated } from '../../src/data/index-permutation';
import { DSPRITES_COUNT, DSPRITES_SIDE, DSPRITES_VALUES, dspritesFactors, dspritesIndex, renderDspriteInto, renderDsprites } from '../../src/data/dsprites';
import { DSPRITES_COLOR_COUNT, dspritesColor, dspritesColorFactors, dspritesColorIndex, renderColorDsprites } from '../../src/data/dsprites-color';
import { centroid, drawMatched } from '../../src/model/factor-recovery';

const ORIENTATIONS = Array.from({ length: 40 }, (_, i) => i);
const PIXELS = DSPRITES_SIDE * DSPRITES_SIDE;
export const WORTH_ROWS = ['floor', 'shape unknown', 'orientation unknown', 'shape and orientation unknown', 'outline unknown, area and centroid known'] as const;
export type FactorWorth = Record<(typeof WORTH_ROWS)[number], number>;

const crossEntropy = (x: number, m: number) => {
  const p = Math.min(Math.max(m, 1e-7), 1 - 1e-7);
  return -(x * Math.log(p) + (1 - x) * Math.log(1 - p));
};

/** Mean nats per picture of each row (see the header) over the dSprites (or colour dSprites) `indices`. */
export function factorWorth(indices: ArrayLike<number>, colour: boolean): FactorWorth {
  const values = (colour ? 3 : 1) * PIXELS;
  const render = (list: number[]) => (colour ? renderColorDsprites(list) : renderDsprites(list));
  /**
   * The per-pixel means (0..1) of the picture's variants with shape unknown, orientation unknown
   * and both, from one rendering of its 120 shape x orientation variants (the other two are
   * subsets of them).
   */
  const variantMeans = (index: number) => {
    const own = colour ? dspritesColorFactors(index) : dspritesFactors(index);
    const variants = [0, 1, 2].flatMap((shape) => ORIENTATIONS.map((orientation) => (colour
      ? dspritesColorIndex({ ...(own as ReturnType<typeof dspritesColorFactors>), shape, orientation })
      : dspritesIndex({ ...own, shape, orientation }))));
    const pictures = render(variants);
    const mean = (keep: (shape: number, orientation: number) => boolean) => {
      const picked = variants.map((_, v) => v).filter((v) => keep(Math.floor(v / ORIENTATIONS.length), v % ORIENTATIONS.length));
      const out = new Float64Array(values);
      for (const v of picked) for (let p = 0; p < values; p++) out[p] += pictures[v * values + p] / 255 / picked.length;
      return out;
    };
    return [mean((_, o) => o === own.orientation), mean((s) => s === own.shape), mean(() => true)];
  };
  /** Per-pixel mean of the 120 outlines drawn at the picture's area and centroid, in its hues. */
  const matchedMeanOf = (index: number) => {
    const f = dspritesFactors(index % DSPRITES_COUNT), mask = new Uint8Array(PIXELS), coverage = new Float64Array(PIXELS);
    renderDspriteInto(index % DSPRITES_COUNT, mask);
    const target = centroid(mask, DSPRITES_VALUES.posX(f.posX), DSPRITES_VALUES.posY(f.posY));
    for (let shape = 0; shape < 3; shape++) {
      for (const orientation of ORIENTATIONS) {
        drawMatched({ shape, orientation }, f, target, mask);
        for (let p = 0; p < PIXELS; p++) coverage[p] += (mask[p] ? 1 : 0) / 120;
      }
    }
    const hues = colour ? dspritesColorFactors(index) : null;
    const [on, off] = hues ? [dspritesColor(hues.shapeHue, true), dspritesColor(hues.backgroundHue, false)] : [[255], [0]];
    const mean = new Float64Array(values);
    for (let c = 0; c < on.length; c++) for (let p = 0; p < PIXELS; p++) mean[c * PIXELS + p] = (coverage[p] * on[c] + (1 - coverage[p]) * off[c]) / 255;
    return mean;
  };
  const totals = WORTH_ROWS.map(() => 0);
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i], x = render([index]);
    const means = [null, ...variantMeans(index), matchedMeanOf(index)];
    means.forEach((mean, r) => {
      for (let p = 0; p < values; p++) totals[r] += crossEntropy(x[p] / 255, mean ? mean[p] : x[p] / 255);
    });
  }
  return Object.fromEntries(WORTH_ROWS.map((name, r) => [name, totals[r] / indices.length])) as FactorWorth;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const option = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
  const data = option('data', 'dsprites');
  if (data !== 'dsprites' && data !== 'dsprites-color') throw new Error(`--data must be dsprites or dsprites-color, got '${data}'`);
  const colour = data === 'dsprites-color';
  const n = Number(option('n', colour ? '500' : '1000')), seed = Number(option('seed', '0'));
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`--n must be a positive whole number, got '${option('n', '')}'`);
  // The split's test part does not depend on the training count (index-permutation.ts); 1 will do.
  const { test } = splitGenerated(colour ? DSPRITES_COLOR_COUNT : DSPRITES_COUNT, 1, n, seed);
  const worth = factorWorth(test, colour);
  console.log(JSON.stringify({ data, pictures: test.length, seed, nats_per_picture: Object.fromEntries(Object.entries(worth).map(([k, v]) => [k, Number(v.toFixed(2))])) }));
}
