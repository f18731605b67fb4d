// dSprites, generated in code: the beta-VAE disentanglement benchmark of 3 shapes x 6 scales x 40
// rotations x 32 x 32 positions = 737,280 binary 64x64 pictures, each fixed by its five factors.
// Nothing is stored: any example is rendered from its index on demand, so training can draw
// batches of factor indices without the 3 GB the full set would take as bytes.
//
// Index: factors in the order [shape, scale, orientation, posX, posY], posY fastest:
//   index = (((shape * 6 + scale) * 40 + orientation) * 32 + posX) * 32 + posY
// Geometry (pixel units; the picture spans [0, 64) on both axes, y grows downwards):
//   centre  cx = 16.5 + posX, cy = 16.5 + posY (one pixel per position step)
//   size    R = 11 * (0.5 + 0.1 * scale), so scales 0.5, 0.6, ..., 1.0 of R = 11 px
//   angle   theta = 2 pi orientation / 40 (40 distinct angles; the original data set's linspace
//           repeats 0 and 2 pi), cos and sin rounded to multiples of 2^-20 so that any engine's
//           Math.cos gives the same table
//   a point (x, y) maps to shape coordinates u = (dx cos + dy sin) / R, v = (dy cos - dx sin) / R
//   with dx = x - cx, dy = y - cy, and lies inside when
//     square:  |u| <= 1 and |v| <= 1
//     ellipse: u^2 + (2v)^2 <= 1                    (semi-axes R and R/2)
//     heart:   with s = 1.15 u, t = 0.1 - 1.15 v:  (s^2 + t^2 - 1)^3 - s^2 t^3 <= 0
//              (the classic implicit heart, point downwards, within the square |u|, |v| <= 1,
//              so no farther out than the square's corners; its farthest point is 1.17 R out)
// Rasterization: a pixel (i, j) is sampled at the 16 points (i + (a + 0.5) / 4, j + (b + 0.5) / 4),
// a, b in 0..3; it is 255 when at least 8 of them are inside, else 0. Every step is a fixed
// sequence of IEEE double operations on exact table values, so the pictures are reproducible bit
// for bit; and since the sample offsets from the centre are exact, moving posX or posY by one
// shifts the picture by exactly one pixel. The tables and the shape tests are shared with the GPU
// rasterizer (shaders/dsprites.ts), which this renderer is the reference of.
import { DSPRITES_COS, DSPRITES_SIDE, DSPRITES_SIN, dspritesRadius } from '../../shaders/dsprites';
import { DataError } from './idx';
import type { Dataset } from './mnist';

export { DSPRITES_SIDE };
export const DSPRITES_SHAPES = ['square', 'ellipse', 'heart'] as const;
export const DSPRITES_FACTOR_NAMES = ['shape', 'scale', 'orientation', 'posX', 'posY'] as const;
/** Number of values of each factor, in DSPRITES_FACTOR_NAMES order. */
export const DSPRITES_FACTOR_SIZES = [3, 6, 40, 32, 32] as const;
export const DSPRITES_COUNT = DSPRITES_FACTOR_SIZES.reduce((a, b) => a * b, 1); // 737,280
const PIXELS = DSPRITES_SIDE * DSPRITES_SIDE;

/** Factor indices of one example. */
export interface DspritesFactors {
  shape: number;
  scale: number;
  orientation: number;
  posX: number;
  posY: number;
}

/** The value each factor index stands for: scale as a fraction, orientation in radians, position in pixels. */
export const DSPRITES_VALUES = {
  scale: (k: number) => 0.5 + 0.1 * k,
  orientation: (k: number) => (2 * Math.PI * k) / 40,
  posX: (k: number) => 16.5 + k,
  posY: (k: number) => 16.5 + k,
};

const COS = DSPRITES_COS;
const SIN = DSPRITES_SIN;

function checkIndex(index: number, count: number, what: string): void {
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new DataError(`${what} index must be an integer from 0 to ${count - 1}, got ${index}.`);
  }
}

export function dspritesFactors(index: number): DspritesFactors {
  checkIndex(index, DSPRITES_COUNT, 'dSprites');
  const posY = index % 32;
  const posX = Math.floor(index / 32) % 32;
  const orientation = Math.floor(index / 1024) % 40;
  const scale = Math.floor(index / 40960) % 6;
  const shape = Math.floor(index / 245760);
  return { shape, scale, orientation, posX, posY };
}

export function dspritesIndex(f: DspritesFactors): number {
  const values = [f.shape, f.scale, f.orientation, f.posX, f.posY];
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0 || v >= DSPRITES_FACTOR_SIZES[i]) {
      throw new DataError(`dSprites factor ${DSPRITES_FACTOR_NAMES[i]} must be an integer from 0 to ${DSPRITES_FACTOR_SIZES[i] - 1}, got ${v}.`);
    }
  });
  return (((f.shape * 6 + f.scale) * 40 + f.orientation) * 32 + f.posX) * 32 + f.posY;
}

/** Whether shape-space point (u, v) is inside `shape`. */
function inside(shape: number, u: number, v: number): boolean {
  if (shape === 0) return Math.abs(u) <= 1 && Math.abs(v) <= 1;
  if (shape === 1) return u * u + 4 * v * v <= 1;
  const s = 1.15 * u;
  const t = 0.1 - 1.15 * v;
  const q = s * s + t * t - 1;
  return q * q * q - s * s * t * t * t <= 0;
}

/** Renders example `index` as 64x64 bytes (0 or 255) into `out` at `offset`. */
export function renderDspriteInto(index: number, out: Uint8Array, offset = 0): void {
  coverageInto(index, out, offset);
  toPixels(out, offset);
}

/** A picture's coverage counts to its pixels: lit (255) where at least half the 16 samples are inside. */
function toPixels(out: Uint8Array, offset: number): void {
  for (let p = offset; p < offset + PIXELS; p++) out[p] = out[p] >= 8 ? 255 : 0;
}

/** How many of each pixel's 16 samples are inside the shape (0..16), 64x64 bytes. */
export function dspriteCoverage(index: number): Uint8Array {
  const out = new Uint8Array(PIXELS);
  coverageInto(index, out, 0);
  return out;
}

function coverageInto(index: number, out: Uint8Array, offset: number): void {
  const { shape, scale, orientation, posX, posY } = dspritesFactors(index);
  spriteCoverageInto(shape, dspritesRadius(scale), orientation, DSPRITES_VALUES.posX(posX), DSPRITES_VALUES.posY(posY), out, offset);
}

/** Coverage (0..16 samples) of `shape` at any radius R in pixels (the data set's are dspritesRadius), turned by orientation index, centred at (cx, cy). */
function spriteCoverageInto(shape: number, r: number, orientation: number, cx: number, cy: number, out: Uint8Array, offset: number): void {
  const c = COS[orientation];
  const s = SIN[orientation];
  out.fill(0, offset, offset + PIXELS);
  // Every shape lies within radius R sqrt(2) of its centre: only pixels near it can be inside.
  const reach = Math.ceil(r * Math.SQRT2) + 1;
  const lo = (z: number) => Math.max(0, Math.floor(z - reach));
  const hi = (z: number) => Math.min(DSPRITES_SIDE - 1, Math.ceil(z + reach));
  for (let j = lo(cy); j <= hi(cy); j++) {
    for (let i = lo(cx); i <= hi(cx); i++) {
      let hits = 0;
      for (let b = 0; b < 4; b++) {
        const dy = j + (b + 0.5) / 4 - cy;
        for (let a = 0; a < 4; a++) {
          const dx = i + (a + 0.5) / 4 - cx;
          if (inside(shape, (dx * c + dy * s) / r, (dy * c - dx * s) / r)) hits++;
        }
      }
      out[offset + j * DSPRITES_SIDE + i] = hits;
    }
  }
}

/**
 * Draws `shape` as the data set does (0 or 255, 64x64) but at any radius R in pixels, for
 * comparisons between shapes of equal area (src/model/factor-recovery.ts); orientation is an
 * index of the 40 and (cx, cy) a centre in pixels (DSPRITES_VALUES.posX/posY of an index).
 */
export function drawSpriteInto(shape: number, radius: number, orientation: number, cx: number, cy: number, out: Uint8Array): void {
  spriteCoverageInto(shape, radius, orientation, cx, cy, out, 0);
  toPixels(out, 0);
}

/** Renders the examples `indices` (any subset, any order, repeats allowed): 4096 bytes each. */
export function renderDsprites(indices: ArrayLike<number>, out = new Uint8Array(indices.length * PIXELS)): Uint8Array {
  if (out.length < indices.length * PIXELS) {
    throw new DataError(`output holds ${out.length} bytes, fewer than the ${indices.length * PIXELS} that ${indices.length} dSprites need.`);
  }
  for (let n = 0; n < indices.length; n++) renderDspriteInto(indices[n], out, n * PIXELS);
  return out;
}

/** Factor indices of the examples, 5 bytes each in DSPRITES_FACTOR_NAMES order. */
export function dspritesFactorLabels(indices: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(indices.length * 5);
  for (let n = 0; n < indices.length; n++) {
    const f = dspritesFactors(indices[n]);
    out.set([f.shape, f.scale, f.orientation, f.posX, f.posY], 5 * n);
  }
  return out;
}

/**
 * The shape (0 square, 1 ellipse, 2 heart: the class of a conditional model) of each grey or
 * colour picture index; a colour index keeps the grey index in its low part (index mod the grey count).
 */
export function dspritesShapes(indices: ArrayLike<number>): Uint8Array {
  const perShape = DSPRITES_COUNT / DSPRITES_SHAPES.length;
  return Uint8Array.from({ length: indices.length }, (_, n) => Math.floor((indices[n] % DSPRITES_COUNT) / perShape));
}

/**
 * A Dataset of grey or colour pictures `indices` that holds no pixels, only the count, the shape
 * labels and the picture size: for a training set the GPU draws at each step (VAE.generateSprites).
 */
export function dspritesDrawnLater(indices: ArrayLike<number>, colour: boolean, name: string): Dataset & { labels: Uint8Array } {
  return { images: new Uint8Array(0), count: indices.length, labels: dspritesShapes(indices), channels: colour ? 3 : 1, rows: DSPRITES_SIDE, cols: DSPRITES_SIDE, name };
}

/** A rendered Dataset of the given examples (labels = shape, 3 classes), with their factors. */
export function dspritesDataset(indices: ArrayLike<number>, name = 'dsprites'): Dataset & { labels: Uint8Array; factors: Uint8Array } {
  const factors = dspritesFactorLabels(indices);
  const labels = Uint8Array.from({ length: indices.length }, (_, n) => factors[5 * n]);
  return { images: renderDsprites(indices), labels, factors, count: indices.length, channels: 1, rows: DSPRITES_SIDE, cols: DSPRITES_SIDE, name };
}
