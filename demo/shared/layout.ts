// Geometry of the image grids, shared by the worker (which sizes the canvases and draws) and the
// page (which maps clicks to tiles and sizes the elements). Sizes are whole multiples of the
// image size so every image pixel is a crisp square.
import type { ViewName } from './protocol';

export interface GridSpec {
  cols: number;
  rows: number;
  /** Image size in pixels. */
  imgW: number;
  imgH: number;
  /** Canvas pixels per image pixel. */
  scale: number;
  /** Canvas pixels between tiles (and around the edge). */
  gap: number;
}

/** Samples: 8x8 (a conditional model: 8 per class, one row per class). Reconstructions: 4 pairs of rows (originals above, reconstructions below). */
export const GRID_TILES: Record<ViewName, { cols: number; rows: number; scale: number; gap: number }> = {
  samples: { cols: 8, rows: 8, scale: 2, gap: 2 },
  reconstructions: { cols: 8, rows: 8, scale: 2, gap: 2 },
  manifold: { cols: 20, rows: 20, scale: 1, gap: 0 },
  interpolation: { cols: 10, rows: 1, scale: 2, gap: 2 },
  // One row per latent dimension (see gridSpec); an odd count of steps puts the base z in the middle.
  traversal: { cols: 9, rows: 1, scale: 2, gap: 2 },
};

/** Test images shown in the reconstructions view (half its tiles). */
export const RECON_COUNT = GRID_TILES.reconstructions.cols * (GRID_TILES.reconstructions.rows / 2);
/** Decoded steps between (and including) the two endpoints of the interpolation strip. */
export const INTERP_STEPS = GRID_TILES.interpolation.cols - 2;

/** Classes shown in a conditional model's samples view (one row each); further ones are left out. */
export const MAX_CLASS_ROWS = 16;
/** Latent dimensions shown in the traversal view (one row each, most KL first); further ones are left out. */
export const MAX_TRAVERSAL_ROWS = 32;
/**
 * The longest side a grid's canvas may have: a WebGPU canvas's texture can be no larger than the
 * device's maxTextureDimension2D, and the demo's device has the default, 8192, since it asks for
 * no more.
 */
export const MAX_CANVAS_SIDE = 8192;
/** Steps of a traversal row, and how far (in prior standard deviations) it sweeps either side of the base z. */
export const TRAVERSAL_STEPS = GRID_TILES.traversal.cols;
export const TRAVERSAL_RANGE = 3;

/**
 * The grid of `view`; `classes` (a conditional model's class count) shapes the samples view,
 * `latent` (the model's latent size) the traversal view, and `tests` (the test pictures there
 * are) the reconstructions view: a few pictures (a small folder of the user's) get a grid of
 * their size rather than a corner of the 8x8 one.
 */
export function gridSpec(view: ViewName, imgW: number, imgH: number, classes = 0, latent = 1, tests = RECON_COUNT): GridSpec {
  const spec = { ...GRID_TILES[view], imgW, imgH };
  if (view === 'samples' && classes > 0) spec.rows = Math.min(classes, MAX_CLASS_ROWS);
  if (view === 'traversal') spec.rows = traversalRows(latent, imgH);
  if (view === 'reconstructions') {
    const shown = Math.max(1, Math.min(RECON_COUNT, tests));
    spec.cols = Math.min(spec.cols, shown);
    spec.rows = 2 * Math.ceil(shown / spec.cols);
  }
  return spec;
}

/**
 * Rows of the traversal view: one per latent dimension, at most MAX_TRAVERSAL_ROWS, and only as
 * many as fit in MAX_CANVAS_SIDE (large pictures leave out the dimensions with least KL).
 */
export function traversalRows(latent: number, imgH: number): number {
  const { scale, gap } = GRID_TILES.traversal;
  const fit = Math.floor((MAX_CANVAS_SIDE - gap) / (imgH * scale + gap));
  return Math.max(1, Math.min(latent, MAX_TRAVERSAL_ROWS, fit));
}

export function canvasSize(g: GridSpec): { width: number; height: number } {
  return {
    width: g.cols * (g.imgW * g.scale + g.gap) + g.gap,
    height: g.rows * (g.imgH * g.scale + g.gap) + g.gap,
  };
}

/** The tile under canvas pixel (x, y), or null over a gap. */
export function tileAt(g: GridSpec, x: number, y: number): { col: number; row: number } | null {
  const cw = g.imgW * g.scale + g.gap, ch = g.imgH * g.scale + g.gap;
  const col = Math.floor((x - g.gap) / cw), row = Math.floor((y - g.gap) / ch);
  if (col < 0 || row < 0 || col >= g.cols || row >= g.rows) return null;
  return { col, row };
}

/** Canvas pixel at the centre of image pixel (px, py) of tile (col, row); used by the tests. */
export function pixelCentre(g: GridSpec, col: number, row: number, px: number, py: number): { x: number; y: number } {
  return {
    x: g.gap + col * (g.imgW * g.scale + g.gap) + (px + 0.5) * g.scale,
    y: g.gap + row * (g.imgH * g.scale + g.gap) + (py + 0.5) * g.scale,
  };
}
