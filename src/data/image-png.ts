// PNG bytes to a Raster with fast-png, after checks of our own: the header's picture size (before
// anything is allocated), and the chunk layout, so that a file cut short is named as such.
//
// A PNG whose IEND trailer chunk is missing but whose picture data is all there (the compressed
// stream ends inside the file) is decoded, as PIL and browsers do: nothing of the picture is
// lost. fast-png reads chunks until IEND and fails past the end of the bytes, so such a file is
// decoded with the trailer put back after its last whole chunk; when the compressed data then
// stops short, the file was cut inside the picture and is refused as truncated.
//
// An Adam7-interlaced PNG of 1, 2 or 4 bits per pixel is decoded by png-interlace.ts, which fast-png
// gets wrong; its packed rows are unpacked here like those of any other low-bit PNG.
//
// Transparency becomes an alpha channel: palette entries with alpha (tRNS) give RGBA, and a grey
// or RGB colour marked transparent (tRNS) gives grey+alpha or RGBA with that colour at alpha 0;
// image-pixels.ts composites alpha onto black, as a browser canvas does.
import { decode as decodePng } from 'fast-png';
import { DataError } from './idx';
import type { Raster } from './image-pixels';
import { checkPixelCount, damaged, endsEarly, errorText, unreadable } from './image-problems';
import { decodeInterlacedLowBit, isInterlacedLowBit, PngDataFault } from './png-interlace';

/** What a decoded PNG gives to be unpacked: fast-png's result, or png-interlace.ts's. */
type DecodedPngPixels = Pick<ReturnType<typeof decodePng>, 'width' | 'height' | 'depth' | 'channels' | 'data' | 'palette' | 'transparency'>;

/** Deflate's largest compression ratio (258-byte matches in 2-bit codes): no valid PNG holds more
 *  than this many filtered pixel bytes per byte of file. */
const DEFLATE_MAX_RATIO = 1032;
const PNG_SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** An IEND chunk: length 0, type, CRC. */
const IEND = Uint8Array.of(0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82);

/** Checks the IHDR chunk, which the PNG format requires to come first, before anything is
 *  allocated: the picture's size, and that the file is long enough to inflate to its pixels. */
function checkPngHeader(bytes: Uint8Array, name: string): void {
  const ihdr = [0x49, 0x48, 0x44, 0x52];
  if (bytes.length < 33) throw endsEarly(name, 'PNG', bytes);
  if (!ihdr.every((b, i) => bytes[12 + i] === b)) throw damaged(name, 'the PNG does not start with its IHDR header chunk');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16, false);
  const height = view.getUint32(20, false);
  checkPixelCount(width, height, name);
  const bitsPerPixel = bytes[24] * (PNG_SAMPLES[bytes[25]] ?? 1);
  const rawBytes = height * (1 + Math.ceil((width * bitsPerPixel) / 8));
  if (rawBytes > DEFLATE_MAX_RATIO * bytes.length + 65536) {
    throw new DataError(
      `${name}: the PNG header declares ${width}x${height} pixels (${rawBytes} bytes), more than its ${bytes.length} bytes can ` +
        'hold even fully compressed; the file is truncated or corrupt.',
    );
  }
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Where the chunks end: at IEND (`end` just past it), or, without one, after the last chunk
 *  that is whole in the file; whether an IDAT (picture data) chunk was among them; and the first
 *  chunk whose checksum fails. The checksums are checked here, before fast-png inflates the data,
 *  so a damaged chunk is named as such rather than by what inflating its bytes ran into. */
function pngChunks(bytes: Uint8Array): { iend: boolean; end: number; idat: boolean; badCrc?: string } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = (at: number) => String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
  let at = 8; // after the signature
  let idat = false;
  while (at + 12 <= bytes.length) {
    const end = at + 12 + view.getUint32(at, false);
    if (end > bytes.length) break;
    if (crc32(bytes.subarray(at + 4, end - 4)) !== view.getUint32(end - 4, false)) return { iend: false, end, idat, badCrc: type(at) };
    if (type(at) === 'IEND') return { iend: true, end, idat };
    if (type(at) === 'IDAT') idat = true;
    at = end;
  }
  return { iend: false, end: at, idat };
}

/** A grey (1) or RGB (3) raster with the pixels of the tRNS colour key made transparent. */
function withColourKey(data: Raster['data'], n: number, c: 1 | 3, key: Uint16Array): Raster['data'] {
  const opaque = data instanceof Uint16Array ? 65535 : 255;
  const out = data instanceof Uint16Array ? new Uint16Array(n * (c + 1)) : new Uint8Array(n * (c + 1));
  for (let p = 0; p < n; p++) {
    let keyed = true;
    for (let k = 0; k < c; k++) {
      out[p * (c + 1) + k] = data[p * c + k];
      keyed &&= data[p * c + k] === key[k];
    }
    out[p * (c + 1) + c] = keyed ? 0 : opaque;
  }
  return out;
}

function unpackPng(png: DecodedPngPixels, name: string): Raster {
  const { width, height, depth, palette } = png;
  const n = width * height;
  const key = png.transparency;
  if (depth >= 8 && !palette) {
    const components = png.channels as Raster['components'];
    if (![1, 2, 3, 4].includes(components) || png.data.length < n * components) {
      throw damaged(name, `the PNG's picture data holds fewer pixels than its header's ${width}x${height}`);
    }
    if (key && (components === 1 || components === 3) && key.length >= components) {
      return { width, height, components: components === 1 ? 2 : 4, data: withColourKey(png.data, n, components, key) };
    }
    return { width, height, components, data: png.data };
  }
  // Packed samples (depth 1, 2, 4) or palette indices: unpack row by row to 8-bit grey or RGB, with
  // alpha when the palette or a grey colour key has transparency.
  const perRow = Math.ceil((width * depth) / 8);
  if (png.channels !== 1 || png.data.length < perRow * height) {
    throw damaged(name, `the PNG's picture data holds fewer pixels than its header's ${width}x${height}`);
  }
  const alpha = palette ? palette.some((colour) => colour.length > 3 && colour[3] < 255) : Boolean(key && key.length >= 1);
  const colours = palette ? 3 : 1;
  const components = (colours + (alpha ? 1 : 0)) as Raster['components'];
  const out = new Uint8Array(n * components);
  const mask = (1 << depth) - 1;
  const scale = 255 / mask;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const byte = png.data[y * perRow + (bit >> 3)];
      const v = (byte >> (8 - depth - (bit & 7))) & mask;
      const o = (y * width + x) * components;
      if (!palette) {
        out[o] = Math.round(v * scale);
        if (alpha) out[o + 1] = v === key![0] ? 0 : 255;
        continue;
      }
      const colour = palette[v];
      if (!colour) throw damaged(name, `a PNG pixel uses palette entry ${v}, but the palette has ${palette.length}`);
      out.set(colour.slice(0, 3), o);
      if (alpha) out[o + 3] = colour[3] ?? 255;
    }
  }
  return { width, height, components, data: out };
}

/** Says in plain words why fast-png or png-interlace.ts refused the bytes; `trailerAdded`: IEND was put back. */
function pngFailure(name: string, bytes: Uint8Array, e: unknown, trailerAdded: boolean): DataError {
  if (e instanceof DataError) return e;
  const why = e instanceof Error ? e.message : String(e);
  const fault = e instanceof PngDataFault ? e : undefined;
  // fflate's words when the compressed stream stops before its end, and fast-png's when it ended
  // early but cleanly (the row after the last has no filter byte): the picture data is incomplete.
  if (fault?.kind === 'short' || /invalid zlib data|unexpected EOF|Unsupported filter: undefined/.test(errorText(e))) {
    return trailerAdded ? endsEarly(name, 'PNG', bytes) : damaged(name, "the PNG's compressed picture data stops before the picture is complete");
  }
  const filter = fault ? (fault.kind === 'filter' ? fault.detail : undefined) : /^Unsupported filter: (\d+)/.exec(why)?.[1];
  if (filter !== undefined) return damaged(name, `a row of the PNG's picture data names filter type ${filter}, which does not exist`);
  if (fault?.kind === 'inflate') return damaged(name, `the PNG's compressed picture data does not decompress (${fault.detail})`);
  if (/^Error while decompressing/.test(why)) return damaged(name, `the PNG's compressed picture data does not decompress (${errorText(e).replace(/^.*?: /, '')})`);
  return unreadable(name, 'PNG', e);
}

/** Decodes PNG bytes (signature already checked); `name` appears in every error message. */
export function decodePngFile(bytes: Uint8Array, name: string): Raster {
  checkPngHeader(bytes, name);
  const chunks = pngChunks(bytes);
  if (chunks.badCrc !== undefined) {
    throw damaged(name, `the PNG's ${chunks.badCrc.replace(/[^\x20-\x7e]/g, '?')} chunk does not match its checksum`);
  }
  if (chunks.iend && !chunks.idat) throw damaged(name, 'the PNG holds no picture data (no IDAT chunk)');
  let whole = bytes;
  if (!chunks.iend) {
    if (!chunks.idat) throw endsEarly(name, 'PNG', bytes);
    whole = new Uint8Array(chunks.end + IEND.length);
    whole.set(bytes.subarray(0, chunks.end));
    whole.set(IEND, chunks.end);
  }
  try {
    if (isInterlacedLowBit(whole)) return unpackPng(decodeInterlacedLowBit(whole), name);
    // Every chunk fast-png reads (up to IEND) had its checksum checked above.
    return unpackPng(decodePng(whole, { checkCrc: false }), name);
  } catch (e) {
    throw pngFailure(name, bytes, e, !chunks.iend);
  }
}
