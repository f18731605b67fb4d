// Reads the images back out of the CLI's PNG grids (src/io/png.ts), from the layout its comments
// document: `pad` background pixels around and between tiles, each image pixel drawn as a
// `scale` x `scale` block, tiles filled row by row `gridCols` wide; in the reconstructions grid,
// bands of an originals row above its reconstructions row, with 2 * pad + 2 extra background rows
// after each band. Pixels come back as grey levels 0-255, one per image pixel (the block's centre).
import { decode } from 'fast-png';

export interface GridLayout {
  rows: number;
  cols: number;
  gridCols: number;
  scale: number;
  pad: number;
}

export interface GreyPicture {
  width: number;
  height: number;
  grey: (x: number, y: number) => number;
}

export function readPng(bytes: Uint8Array): GreyPicture {
  const p = decode(bytes);
  return { width: p.width, height: p.height, grey: (x, y) => p.data[(y * p.width + x) * p.channels] };
}

/** The image in grid row `row`, column `col`, whose top edge is at `top`. */
function tileAt(pic: GreyPicture, g: GridLayout, top: number, col: number): Uint8Array {
  const left = g.pad + col * (g.cols * g.scale + g.pad);
  const out = new Uint8Array(g.rows * g.cols);
  const mid = Math.floor(g.scale / 2);
  for (let y = 0; y < g.rows; y++) {
    for (let x = 0; x < g.cols; x++) out[y * g.cols + x] = pic.grey(left + x * g.scale + mid, top + y * g.scale + mid);
  }
  return out;
}

/** The `count` images of an imageGridPng grid, in order. */
export function gridImages(pic: GreyPicture, g: GridLayout, count: number): Uint8Array[] {
  const tileH = g.rows * g.scale + g.pad;
  return Array.from({ length: count }, (_, i) => tileAt(pic, g, g.pad + Math.floor(i / g.gridCols) * tileH, i % g.gridCols));
}

/** The `count` originals and their reconstructions of a pairsGridPng grid, in order. */
export function pairImages(pic: GreyPicture, g: GridLayout, count: number): { originals: Uint8Array[]; reconstructions: Uint8Array[] } {
  const tileH = g.rows * g.scale + g.pad;
  const bandH = 2 * tileH + 2 * g.pad + 2;
  const originals: Uint8Array[] = [], reconstructions: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const top = g.pad + Math.floor(i / g.gridCols) * bandH;
    originals.push(tileAt(pic, g, top, i % g.gridCols));
    reconstructions.push(tileAt(pic, g, top + tileH, i % g.gridCols));
  }
  return { originals, reconstructions };
}

/** Pearson correlation of two equally long pixel vectors (NaN when either is constant). */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i] / n; mb += b[i] / n; }
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma, db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** Variance of the values (population). */
export function varianceOf(v: ArrayLike<number>): number {
  let m = 0, s = 0;
  for (let i = 0; i < v.length; i++) m += v[i] / v.length;
  for (let i = 0; i < v.length; i++) s += (v[i] - m) ** 2;
  return s / v.length;
}
