// The latent traversal view: for each latent dimension a row in which only that coordinate of
// one fixed z moves, from -TRAVERSAL_RANGE to +TRAVERSAL_RANGE prior standard deviations. This is
// the picture beta-VAE users read on dSprites: a disentangled model changes one factor (position,
// scale, shape, hue) per row. With test data, z is the posterior mean of the first test image and
// the rows are ordered by each dimension's mean KL over the first test images, so the dimensions
// the model uses come first and collapsed ones (KL ~ 0, a constant row) last. On dSprites, whose
// test pictures carry their generating factors, each used row is also labelled with the factor
// that explains most of its posterior mean (factorVarianceExplained). The same maths as the CLI's
// `traverse` (src/model/traversal.ts); the decoded rows are drawn from the GPU buffer.
import type { VAE } from '../../src/index';
import { dspritesFactorNames, factorVarianceExplained, klPerDimension, traversalGrid, USED_KL } from '../../src/model/traversal';
import { gridSpec, MAX_TRAVERSAL_ROWS, TRAVERSAL_RANGE, TRAVERSAL_STEPS, traversalRows } from '../shared/layout';
import { GridRenderer } from './grid-renderer';

/**
 * Test images whose posteriors estimate the per-dimension KL: enough to rank the dimensions,
 * few enough that a conv encoder on a software GPU does not hold training up.
 */
export const TRAVERSAL_KL_EXAMPLES = 128;

export interface TraversalRows {
  /** Latent dimension of each row, top to bottom. */
  dims: number[];
  /** Mean test KL of each row's dimension (nats), or null without test data. */
  kl: number[] | null;
  /** dSprites: the factor explaining most of each used row's posterior mean (null for an unused row), else null. */
  factors: ({ name: string; share: number } | null)[] | null;
}

/** Test images as the views hold them: [count, D] floats in [0, 1] and their labels. */
export interface TraversalData {
  x: Float32Array;
  labels: Uint8Array;
  count: number;
  /** Generating factors of the pictures, a fixed number per picture (dSprites: 5, colour: 7), if known. */
  factors?: Uint8Array;
}

/** Dimensions by falling KL (ties by index), the first `rows` of them. */
export function traversalOrder(kl: readonly number[], rows = MAX_TRAVERSAL_ROWS): number[] {
  return kl.map((v, dim) => ({ v, dim })).sort((a, b) => b.v - a.v || a.dim - b.dim).slice(0, rows).map((d) => d.dim);
}

/** Decodes the traversal rows of `vae` and draws them with `grid` (shaped by gridSpec('traversal', ...)). */
export async function drawTraversal(vae: VAE, grid: GridRenderer, test: TraversalData | null): Promise<TraversalRows> {
  const Z = vae.config.latent, D = vae.config.inputDim, [imgH, imgW] = vae.config.imageShape;
  const rows = traversalRows(Z, imgH);
  let base: Float32Array = new Float32Array(Z);
  let kl: number[] | null = null;
  let label = 0;
  let eta: number[][] | null = null, names: readonly string[] = [];
  if (test && test.count > 0) {
    const n = Math.min(TRAVERSAL_KL_EXAMPLES, test.count);
    const labels = vae.config.classes ? test.labels.subarray(0, n) : undefined;
    const q = await vae.encode(test.x.subarray(0, n * D), labels);
    label = Math.min(test.labels[0], Math.max(0, vae.config.classes - 1));
    // A model whose parameters went bad (a loaded NaN checkpoint) has no codes to sweep around:
    // its rows are drawn around z = 0 in index order, as without test pictures.
    if (q.mu.every(Number.isFinite) && q.logvar.every(Number.isFinite)) {
      kl = klPerDimension(q.mu, q.logvar, Z);
      base = q.mu.slice(0, Z);
      names = test.factors ? dspritesFactorNames(test.factors.length / test.count) : [];
      if (names.length) eta = factorVarianceExplained(q.mu, Z, test.factors!.subarray(0, n * names.length), names.length);
    }
  }
  const dims = kl ? traversalOrder(kl, rows) : Array.from({ length: rows }, (_, j) => j);
  const z = traversalGrid(base, dims, TRAVERSAL_STEPS, TRAVERSAL_RANGE);
  const count = dims.length * TRAVERSAL_STEPS;
  // A conditional model decodes the whole picture as the base image's class.
  const out = await vae.decodeToBuffer(z, vae.config.classes ? new Uint32Array(count).fill(label) : undefined);
  grid.draw([out], GridRenderer.sequence(gridSpec('traversal', imgW, imgH, 0, Z), count));
  const topFactor = (d: number) => {
    if (!eta || kl![d] < USED_KL) return null;
    const f = eta[d].indexOf(Math.max(...eta[d]));
    return { name: names[f], share: eta[d][f] };
  };
  return { dims, kl: kl ? dims.map((d) => kl[d]) : null, factors: eta ? dims.map(topFactor) : null };
}
