// Greyscale PNG grids of images (samples, reconstructions) for run reports.
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
}

/** One grid row: a tile per column, null for an empty cell. */
type TileRow = (Float32Array | null)[];

function checkArgs(images: Float32Array, count: number, rows: number, cols: number, gridCols: number, what: string): void {
  for (const [name, v] of [['count', count], ['rows', rows], ['cols', cols], ['gridCols', gridCols]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${what}: ${name} must be a positive integer, got ${v}`);
  }
  if (images.length < count * rows * cols) {
    throw new RangeError(`${what}: ${count} images of ${rows}x${cols} need ${count * rows * cols} values, got ${images.length}`);
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

  const pixels = new Uint8Array(width * height).fill(toByte(opts.background ?? 0.5));
  tileRows.forEach((tiles, r) => {
    tiles.forEach((tile, c) => {
      if (!tile) return;
      const left = pad + c * (tileW + pad);
      for (let py = 0; py < tileH; py++) {
        const src = Math.floor(py / scale) * cols;
        const dst = (rowTops[r] + py) * width + left;
        for (let px = 0; px < tileW; px++) pixels[dst + px] = toByte(tile[src + Math.floor(px / scale)]);
      }
    });
  });
  return encode({ width, height, data: pixels, channels: 1, depth: 8 });
}

function tile(images: Float32Array, index: number, size: number): Float32Array {
  return images.subarray(index * size, (index + 1) * size);
}

/** One grid row: images start .. start + n - 1. */
function tilesFrom(images: Float32Array, start: number, n: number, size: number): TileRow {
  return Array.from({ length: n }, (_, i) => tile(images, start + i, size));
}

/**
 * PNG of `count` images (row-major, `rows * cols` values each) in a grid
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
  checkArgs(images, count, rows, cols, gridCols, 'imageGridPng');
  const tileRows: TileRow[] = [];
  for (let start = 0; start < count; start += gridCols) {
    tileRows.push(tilesFrom(images, start, Math.min(gridCols, count - start), rows * cols));
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
  checkArgs(originals, count, rows, cols, gridCols, 'pairsGridPng (originals)');
  checkArgs(reconstructions, count, rows, cols, gridCols, 'pairsGridPng (reconstructions)');
  const size = rows * cols;
  const tileRows: TileRow[] = [];
  for (let start = 0; start < count; start += gridCols) {
    const n = Math.min(gridCols, count - start);
    tileRows.push(tilesFrom(originals, start, n, size), tilesFrom(reconstructions, start, n, size));
  }
  const bandGap = 2 * (opts.pad ?? 1) + 2;
  return renderGrid(tileRows, rows, cols, opts, (r) => (r % 2 === 1 ? bandGap : 0));
}
