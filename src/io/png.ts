// PNG grids of images (samples, reconstructions) for run reports: grey, or RGB from channel-major
// (planar, NCHW) examples of 3 channels.
// Pixel values in [0, 1] map to 0..255; tiles are separated by `pad` pixels of
// a mid-grey background so that black-background digits stay distinguishable.
import { encode } from 'fast-png';

export interface GridOptions {
  /** Background pixels between tiles and around the border (default 1). */
  pad?: number;
  /** Integer nearest-neighbour upscaling of each image pixel (default 1). */
  scale?: number;
  /** Background grey level in [0, 1] (default 0.5). */
  background?: number;
  /** 1 (grey, default) or 3: an image is then 3 planes of rows * cols (R, G, B), as NCHW stores it. */
  channels?: 1 | 3;
}

/** One grid row: a tile per column, null for an empty cell. */
type TileRow = (Float32Array | null)[];

function checkArgs(images: Float32Array, count: number, rows: number, cols: number, gridCols: number, what: string, channels = 1): void {
  for (const [name, v] of [['count', count], ['rows', rows], ['cols', cols], ['gridCols', gridCols]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${what}: ${name} must be a positive integer, got ${v}`);
  }
  if (channels !== 1 && channels !== 3) throw new RangeError(`${what}: channels must be 1 or 3, got ${channels}`);
  if (images.length < count * channels * rows * cols) {
    throw new RangeError(`${what}: ${count} images of ${channels}x${rows}x${cols} need ${count * channels * rows * cols} values, got ${images.length}`);
  }
}

function toByte(v: number): number {
  // NaN compares false both ways, so it falls through to 0 (black).
  return v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0;
}

/** Lays tile rows out top to bottom; `gapAfter(r)` adds background rows
 *  below grid row r (used to group rows into bands). */
function renderGrid(
  tileRows: TileRow[],
  rows: number,
  cols: number,
  opts: GridOptions,
  gapAfter: (r: number) => number = () => 0,
): Uint8Array {
  const pad = opts.pad ?? 1;
  const scale = opts.scale ?? 1;
  if (!Number.isInteger(pad) || pad < 0) throw new RangeError(`pad must be a non-negative integer, got ${pad}`);
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`scale must be a positive integer, got ${scale}`);
  const gridCols = Math.max(...tileRows.map((r) => r.length));
  const tileW = cols * scale;
  const tileH = rows * scale;
  const width = pad + gridCols * (tileW + pad);
  const rowTops: number[] = [];
  let y = pad;
  tileRows.forEach((_, r) => {
    rowTops.push(y);
    y += tileH + pad + (r < tileRows.length - 1 ? gapAfter(r) : 0);
  });
  const height = y;

  const C = opts.channels ?? 1, plane = rows * cols;
  const pixels = new Uint8Array(width * height * C).fill(toByte(opts.background ?? 0.5));
  tileRows.forEach((tiles, r) => {
    tiles.forEach((tile, c) => {
      if (!tile) return;
      const left = pad + c * (tileW + pad);
      for (let py = 0; py < tileH; py++) {
        const src = Math.floor(py / scale) * cols;
        const dst = ((rowTops[r] + py) * width + left) * C;
        for (let px = 0; px < tileW; px++) {
          for (let ch = 0; ch < C; ch++) pixels[dst + px * C + ch] = toByte(tile[ch * plane + src + Math.floor(px / scale)]);
        }
      }
    });
  });
  return encode({ width, height, data: pixels, channels: C, depth: 8 });
}

function tile(images: Float32Array, index: number, size: number): Float32Array {
  return images.subarray(index * size, (index + 1) * size);
}

/** One grid row: images start .. start + n - 1. */
function tilesFrom(images: Float32Array, start: number, n: number, size: number): TileRow {
  return Array.from({ length: n }, (_, i) => tile(images, start + i, size));
}

/**
 * PNG of `count` images (row-major, `channels * rows * cols` values each) in a grid
 * min(count, gridCols) tiles wide, filled row by row; a partial last row is
 * left as background. Size: pad + tiles * (cols * scale + pad) wide, likewise
 * tall.
 */
export function imageGridPng(
  images: Float32Array,
  count: number,
  rows: number,
  cols: number,
  gridCols: number,
  opts: GridOptions = {},
): Uint8Array {
  checkArgs(images, count, rows, cols, gridCols, 'imageGridPng', opts.channels);
  const tileRows: TileRow[] = [];
  for (let start = 0; start < count; start += gridCols) {
    tileRows.push(tilesFrom(images, start, Math.min(gridCols, count - start), (opts.channels ?? 1) * rows * cols));
  }
  return renderGrid(tileRows, rows, cols, opts);
}

/**
 * Originals beside their reconstructions, for eyeballing a VAE: the grid is
 * built from bands, each band being a row of up to `gridCols` originals with
 * the matching reconstructions directly below (same column = same example).
 * Bands are separated by an extra 2*pad+2 background rows, so pairs read as
 * units.
 */
export function pairsGridPng(
  originals: Float32Array,
  reconstructions: Float32Array,
  count: number,
  rows: number,
  cols: number,
  gridCols: number,
  opts: GridOptions = {},
): Uint8Array {
  checkArgs(originals, count, rows, cols, gridCols, 'pairsGridPng (originals)', opts.channels);
  checkArgs(reconstructions, count, rows, cols, gridCols, 'pairsGridPng (reconstructions)', opts.channels);
  const size = (opts.channels ?? 1) * rows * cols;
  const tileRows: TileRow[] = [];
  for (let start = 0; start < count; start += gridCols) {
    const n = Math.min(gridCols, count - start);
    tileRows.push(tilesFrom(originals, start, n, size), tilesFrom(reconstructions, start, n, size));
  }
  const bandGap = 2 * (opts.pad ?? 1) + 2;
  return renderGrid(tileRows, rows, cols, opts, (r) => (r % 2 === 1 ? bandGap : 0));
}
