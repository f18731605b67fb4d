// Adam7-interlaced PNGs of 1, 2 or 4 bits per pixel (grey or palette), which fast-png 8 cannot
// read: it sizes each pass's rows as if every pixel took a whole byte, so from the second row on it
// takes a byte of pixels for the row's filter type and fails ("Unsupported filter: 48"). Here the
// picture data is inflated, each of the seven passes unfiltered with its own row length
// (ceil(passWidth * depth / 8) bytes; the filters work on whole bytes, so "one pixel back" is one
// byte back at these depths), and the pixels are scattered into the packed, non-interlaced rows
// fast-png gives for such a file. image-png.ts then unpacks both kinds of file the same way.
//
// The chunks' checksums are checked by image-png.ts before this runs; the palette (PLTE) and the
// transparency (tRNS) are read here in the same form fast-png gives them.
import { unzlibSync } from 'fflate';

/** The packed picture of a low-bit PNG, shaped as fast-png's decode result. */
export interface PackedPng {
  width: number;
  height: number;
  depth: 1 | 2 | 4;
  channels: 1;
  /** Rows of ceil(width * depth / 8) bytes, pixels packed from the high bit down. */
  data: Uint8Array;
  /** [r, g, b] or, with a tRNS chunk, [r, g, b, alpha] for each palette entry. */
  palette?: number[][];
  /** The grey level that is transparent (a tRNS colour key). */
  transparency?: Uint16Array;
}

/** Why the picture data could not be read: it stops short, a row names a filter type that does not
 *  exist (`detail` holds the number), or the compressed stream is broken (`detail`: fflate's words). */
export class PngDataFault extends Error {
  constructor(
    readonly kind: 'short' | 'filter' | 'inflate',
    readonly detail: string,
  ) {
    super(`${kind}: ${detail}`);
  }
}

/** Adam7's seven passes: the first column and row each covers, and its steps across and down. */
const ADAM7 = [
  { x: 0, y: 0, dx: 8, dy: 8 },
  { x: 4, y: 0, dx: 8, dy: 8 },
  { x: 0, y: 4, dx: 4, dy: 8 },
  { x: 2, y: 0, dx: 4, dy: 4 },
  { x: 0, y: 2, dx: 2, dy: 4 },
  { x: 1, y: 0, dx: 2, dy: 2 },
  { x: 0, y: 1, dx: 1, dy: 2 },
];

/** Whether the PNG (IHDR at its usual place, already checked) is interlaced with fewer than 8 bits
 *  per sample, the case fast-png gets wrong. Only grey and palette PNGs may have such depths. */
export function isInterlacedLowBit(bytes: Uint8Array): boolean {
  return bytes[28] === 1 && bytes[24] < 8 && (bytes[25] === 0 || bytes[25] === 3);
}

/** Undoes one row's filter in place (`bpp` bytes per pixel, at least 1); `prev` is the unfiltered
 *  row above in the same pass, all zeros for a pass's first row. */
function unfilterRow(type: number, row: Uint8Array, prev: Uint8Array, bpp: number): void {
  for (let i = 0; i < row.length; i++) {
    const a = i >= bpp ? row[i - bpp] : 0;
    const b = prev[i];
    const c = i >= bpp ? prev[i - bpp] : 0;
    if (type === 1) row[i] += a;
    else if (type === 2) row[i] += b;
    else if (type === 3) row[i] += (a + b) >> 1;
    else if (type === 4) {
      const p = a + b - c;
      const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      row[i] += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
  }
}

/** Bytes of the inflated Adam7 data of a picture: each pass's rows, each with its filter byte. */
function interlacedBytes(width: number, height: number, depth: number): number {
  let bytes = 0;
  for (const pass of ADAM7) {
    const passWidth = Math.ceil((width - pass.x) / pass.dx), passHeight = Math.ceil((height - pass.y) / pass.dy);
    if (passWidth > 0 && passHeight > 0) bytes += passHeight * (1 + Math.ceil((passWidth * depth) / 8));
  }
  return bytes;
}

/** The packed rows of the picture, from the inflated Adam7 data. */
function deinterlace(raw: Uint8Array, width: number, height: number, depth: number): Uint8Array {
  const perRow = Math.ceil((width * depth) / 8);
  const out = new Uint8Array(perRow * height);
  const mask = (1 << depth) - 1;
  let at = 0;
  for (const pass of ADAM7) {
    const passWidth = Math.ceil((width - pass.x) / pass.dx);
    const passHeight = Math.ceil((height - pass.y) / pass.dy);
    if (passWidth <= 0 || passHeight <= 0) continue; // a picture too small to have pixels in this pass
    const rowBytes = Math.ceil((passWidth * depth) / 8);
    let prev = new Uint8Array(rowBytes);
    for (let r = 0; r < passHeight; r++) {
      if (at + 1 + rowBytes > raw.length) throw new PngDataFault('short', 'the picture data ends inside the interlaced passes');
      const type = raw[at];
      if (type > 4) throw new PngDataFault('filter', String(type));
      const row = raw.slice(at + 1, at + 1 + rowBytes);
      unfilterRow(type, row, prev, 1);
      prev = row;
      at += 1 + rowBytes;
      const y = pass.y + r * pass.dy;
      for (let i = 0; i < passWidth; i++) {
        const bit = i * depth;
        const v = (row[bit >> 3] >> (8 - depth - (bit & 7))) & mask;
        const outBit = (pass.x + i * pass.dx) * depth;
        out[y * perRow + (outBit >> 3)] |= v << (8 - depth - (outBit & 7));
      }
    }
  }
  return out;
}

/** Decodes an interlaced grey or palette PNG of depth 1, 2 or 4 (see isInterlacedLowBit) whose
 *  chunks run to an IEND chunk. Throws PngDataFault for picture data that does not decode, and an
 *  Error for a palette or transparency chunk that makes no sense. */
export function decodeInterlacedLowBit(bytes: Uint8Array): PackedPng {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16, false);
  const height = view.getUint32(20, false);
  const depth = bytes[24] as PackedPng['depth'];
  const indexed = bytes[25] === 3;
  const idat: Uint8Array[] = [];
  let palette: number[][] | undefined;
  let alphas: Uint8Array | undefined;
  let transparency: Uint16Array | undefined;
  for (let at = 8; at + 12 <= bytes.length; ) {
    const length = view.getUint32(at, false);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const body = bytes.subarray(at + 8, at + 8 + length);
    at += 12 + length;
    if (type === 'IEND') break;
    if (type === 'IDAT') idat.push(body);
    else if (type === 'PLTE') {
      if (length % 3 !== 0 || length === 0) throw new Error(`the palette chunk (PLTE) holds ${length} bytes, not a whole number of colours`);
      palette = Array.from({ length: length / 3 }, (_, k) => Array.from(body.subarray(3 * k, 3 * k + 3)));
    } else if (type === 'tRNS') {
      if (indexed) alphas = body;
      else if (length >= 2) transparency = Uint16Array.of((body[0] << 8) | body[1]);
    }
  }
  if (indexed && !palette) throw new Error('the palette PNG has no palette chunk (PLTE)');
  if (palette && alphas) {
    if (alphas.length > palette.length) throw new Error(`the tRNS chunk gives ${alphas.length} alphas for a palette of ${palette.length} colours`);
    // Entries past the tRNS chunk's end are opaque.
    for (let k = 0; k < palette.length; k++) palette[k].push(k < alphas.length ? alphas[k] : 255);
  }
  const compressed = new Uint8Array(idat.reduce((sum, part) => sum + part.length, 0));
  idat.reduce((at, part) => (compressed.set(part, at), at + part.length), 0);
  let raw: Uint8Array;
  try {
    // Into a buffer of the picture's size: a stream that inflates to more (a crafted file) is cut
    // there rather than allowed to take memory without bound.
    raw = unzlibSync(compressed, { out: new Uint8Array(interlacedBytes(width, height, depth)) });
  } catch (e) {
    throw new PngDataFault('inflate', e instanceof Error ? e.message : String(e));
  }
  return { width, height, depth, channels: 1, data: deinterlace(raw, width, height, depth), palette: indexed ? palette : undefined, transparency };
}
