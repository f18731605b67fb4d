// A small PNG writer for grey and palette pictures of 1, 2 or 4 bits per pixel, interlaced (Adam7)
// or not, which fast-png cannot write: every row gets a filter type chosen by the caller (cycling
// through all five by default), so a decoder's unfiltering is tested for each of them, in every
// pass. Written from the PNG specification, separately from the decoder it tests.
import { zlibSync } from 'fflate';
import { crc32 } from './fuzz';

export interface PackedPicture {
  width: number;
  height: number;
  depth: 1 | 2 | 4;
  /** One sample per pixel, row by row: a grey level or a palette index, below 2 ** depth. */
  samples: Uint8Array;
  /** Palette colours [r, g, b]: the picture is a palette PNG (colour type 3); else grey. */
  palette?: number[][];
  /** tRNS body: alphas of the first palette entries, or the transparent grey level (2 bytes). */
  trns?: Uint8Array;
}

export interface PackedOptions {
  interlaced: boolean;
  /** The filter type of the `k`th row written (counting rows of all passes); may return 5..255 to
   *  write a row that names a filter type that does not exist (written unfiltered). */
  filterOf?: (k: number) => number;
  /** Drop this many bytes from the end of the raw (filtered, uncompressed) picture data. */
  dropRawBytes?: number;
}

const ADAM7: [number, number, number, number][] = [
  [0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2],
];

/** A PNG chunk: length, type, body, CRC. */
export function pngChunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length, false);
  out.set(new TextEncoder().encode(type), 4);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)), false);
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** The filtered row (filter byte first); bytes per pixel is 1 at depths below 8. */
function filterRow(type: number, row: Uint8Array, prev: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + row.length);
  out[0] = type;
  for (let i = 0; i < row.length; i++) {
    const a = i > 0 ? row[i - 1] : 0, b = prev[i], c = i > 0 ? prev[i - 1] : 0;
    const predicted = type === 1 ? a : type === 2 ? b : type === 3 ? (a + b) >> 1 : type === 4 ? paeth(a, b, c) : 0;
    out[1 + i] = (row[i] - predicted) & 255;
  }
  return out;
}

/** The packed row of the pixels at columns x0, x0 + dx, ... of picture row y. */
function packRow(pic: PackedPicture, y: number, x0: number, dx: number): Uint8Array {
  const count = Math.ceil((pic.width - x0) / dx);
  const row = new Uint8Array(Math.ceil((count * pic.depth) / 8));
  for (let i = 0; i < count; i++) {
    const bit = i * pic.depth;
    row[bit >> 3] |= pic.samples[y * pic.width + x0 + i * dx] << (8 - pic.depth - (bit & 7));
  }
  return row;
}

/** The PNG file of `pic`. */
export function writePackedPng(pic: PackedPicture, options: PackedOptions): Uint8Array {
  const filterOf = options.filterOf ?? ((k: number) => k % 5);
  const passes = options.interlaced ? ADAM7 : [[0, 0, 1, 1] as [number, number, number, number]];
  const rows: Uint8Array[] = [];
  for (const [x0, y0, dx, dy] of passes) {
    if (x0 >= pic.width || y0 >= pic.height) continue; // the pass holds no pixels
    let prev: Uint8Array | undefined;
    for (let y = y0; y < pic.height; y += dy) {
      const row = packRow(pic, y, x0, dx);
      const type = filterOf(rows.length);
      rows.push(filterRow(type > 4 ? 0 : type, row, prev ?? new Uint8Array(row.length)));
      if (type > 4) rows[rows.length - 1][0] = type;
      prev = row;
    }
  }
  const raw = Uint8Array.from(rows.flatMap((r) => Array.from(r)));
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, pic.width, false);
  view.setUint32(4, pic.height, false);
  ihdr.set([pic.depth, pic.palette ? 3 : 0, 0, 0, options.interlaced ? 1 : 0], 8);
  const parts = [Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10), pngChunk('IHDR', ihdr)];
  if (pic.palette) parts.push(pngChunk('PLTE', Uint8Array.from(pic.palette.flat())));
  if (pic.trns) parts.push(pngChunk('tRNS', pic.trns));
  parts.push(pngChunk('IDAT', zlibSync(raw.subarray(0, raw.length - (options.dropRawBytes ?? 0)))), pngChunk('IEND', new Uint8Array(0)));
  return Uint8Array.from(parts.flatMap((p) => Array.from(p)));
}
