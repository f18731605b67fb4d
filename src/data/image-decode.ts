// PNG and JPEG bytes to a Raster, in plain JavaScript: fast-png (already used to write sample
// grids) for PNG and jpeg-js for JPEG. Pure-JavaScript decoders were chosen over a native library
// such as sharp because they install from the registry with no platform binary, run unchanged in
// Node, Deno and a worker, and let us bound memory before decoding: a file whose header declares
// a picture larger than MAX_IMAGE_PIXELS is refused from the header alone, so a hostile or corrupt
// file cannot make us allocate what it claims. Resizing is ours (image-pixels.ts), shared with the
// browser path, so the decoders only have to decode.
//
// The format is recognised by its signature, not by the file's extension; every failure becomes a
// DataError naming the file. The EXIF orientation of a JPEG or PNG is applied
// (image-orientation.ts), as browsers do, so photos come out upright.
import { decode as decodePng } from 'fast-png';
import { decode as decodeJpeg } from 'jpeg-js';
import { DataError } from './idx';
import { jpegOrientation, orientRaster, pngOrientation } from './image-orientation';
import type { Raster } from './image-pixels';
import { IMAGE_EXTENSIONS, MAX_IMAGE_PIXELS } from './image-set';

export { IMAGE_EXTENSIONS, MAX_IMAGE_PIXELS };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export type ImageFormat = 'png' | 'jpeg';

/** The format from the first bytes, or null when they are neither PNG nor JPEG. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

function checkPixelCount(width: number, height: number, name: string): void {
  if (width < 1 || height < 1) throw new DataError(`${name}: the header declares an empty picture (${width}x${height}).`);
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new DataError(
      `${name}: the header declares ${width}x${height} pixels, more than the ${MAX_IMAGE_PIXELS / 2 ** 20} megapixels ` +
        'this reader decodes. Shrink the picture first, or remove it from the folder.',
    );
  }
}

/** Deflate's largest compression ratio (258-byte matches in 2-bit codes): no valid PNG holds more
 *  than this many filtered pixel bytes per byte of file. */
const DEFLATE_MAX_RATIO = 1032;
const PNG_SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Checks the IHDR chunk, which the PNG format requires to come first, before anything is
 *  allocated: the picture's size, and that the file is long enough to inflate to its pixels. */
function checkPngHeader(bytes: Uint8Array, name: string): void {
  const ihdr = [0x49, 0x48, 0x44, 0x52];
  if (bytes.length < 26 || !ihdr.every((b, i) => bytes[12 + i] === b)) {
    throw new DataError(`${name}: PNG without its IHDR header chunk (truncated or corrupt).`);
  }
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

/** Width and height from a JPEG's frame header (SOFn), or null when none comes before the scan. */
function jpegFrameSize(bytes: Uint8Array): { width: number; height: number } | null {
  let at = 2; // after SOI
  while (at + 9 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1];
    if (marker === 0xff) { at++; continue; } // fill byte before a marker
    if (marker === 0xda || marker === 0xd9) return null; // start of scan, end of image
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) return { height: (bytes[at + 5] << 8) | bytes[at + 6], width: (bytes[at + 7] << 8) | bytes[at + 8] };
    at += 2 + ((bytes[at + 2] << 8) | bytes[at + 3]);
  }
  return null;
}

/** Memory jpeg-js counts per pixel, at most: for each component 4 bytes of DCT coefficients, 1 of
 *  samples and 1 of colour conversion, plus 3 of output; 27 for four full-resolution components. */
const JPEG_BYTES_PER_PIXEL = 27;
/** Pixels a byte of JPEG can code, at most: every 8x8 block codes its DC coefficient in at least
 *  one bit, even in a progressive file whose AC scans skip millions of blocks in a few bytes. */
const JPEG_PIXELS_PER_BYTE = 512;

/** Memory jpeg-js may use for a JPEG, between 16 MiB and 1 GiB: what its header's picture needs,
 *  unless the file is too short to code that many pixels (then it is truncated or hostile, and
 *  gets 1 KiB per byte of file, so a tiny file declaring a huge picture is refused before its
 *  buffers are allocated). The file's size alone is no guide for real files: a flat 24-megapixel
 *  progressive photo fits in 150 KB and needs 300 MB. */
function jpegMemoryLimitMB(bytes: Uint8Array, frame: { width: number; height: number } | null): number {
  const pixels = frame ? frame.width * frame.height : 0;
  const codable = pixels <= JPEG_PIXELS_PER_BYTE * bytes.length;
  const needed = codable ? Math.ceil((pixels * JPEG_BYTES_PER_PIXEL) / 2 ** 20) : 0;
  return Math.min(1024, Math.max(16, Math.ceil((bytes.length * 1024) / 2 ** 20), needed));
}

/** Says why jpeg-js ran out of its memory allowance, and what to do. */
function jpegMemoryRefusal(name: string, bytes: Uint8Array, frame: { width: number; height: number } | null, limitMB: number): DataError {
  const size = frame ? `${frame.width}x${frame.height}` : 'this';
  if (frame && frame.width * frame.height > JPEG_PIXELS_PER_BYTE * bytes.length) {
    return new DataError(
      `${name}: the header declares ${size} pixels, more than a JPEG of ${bytes.length} bytes can code, and decoding it would take over ` +
        `${limitMB} MiB; the file is truncated or corrupt. Download or export the picture again.`,
    );
  }
  return new DataError(
    `${name}: decoding this ${size} JPEG would take more than the ${limitMB} MiB of memory this reader allows. ` +
      'Shrink the picture (to 32 megapixels or fewer) or save it as PNG.',
  );
}

function unpackPng(png: ReturnType<typeof decodePng>, name: string): Raster {
  const { width, height, depth, palette } = png;
  if (depth >= 8 && !palette) {
    const components = png.channels as Raster['components'];
    if (![1, 2, 3, 4].includes(components) || png.data.length < width * height * components) {
      throw new DataError(`${name}: PNG decoded to ${png.data.length} samples, too few for ${width}x${height}x${png.channels}.`);
    }
    return { width, height, components, data: png.data };
  }
  // Packed samples (depth 1, 2, 4) or palette indices: unpack row by row to 8-bit grey or RGB.
  const perRow = Math.ceil((width * depth) / 8);
  if (png.channels !== 1 || png.data.length < perRow * height) {
    throw new DataError(`${name}: PNG with ${png.channels} channels of ${depth} bits decoded to too few bytes.`);
  }
  const components = palette ? 3 : 1;
  const out = new Uint8Array(width * height * components);
  const mask = (1 << depth) - 1;
  const scale = 255 / mask;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const byte = png.data[y * perRow + (bit >> 3)];
      const v = (byte >> (8 - depth - (bit & 7))) & mask;
      const p = y * width + x;
      if (!palette) {
        out[p] = Math.round(v * scale);
        continue;
      }
      const colour = palette[v];
      if (!colour) throw new DataError(`${name}: PNG pixel uses palette entry ${v}, but the palette has ${palette.length}.`);
      out.set(colour.slice(0, 3), 3 * p);
    }
  }
  return { width, height, components, data: out };
}

function failure(name: string, format: string, e: unknown): DataError {
  if (e instanceof DataError) return e;
  const why = e instanceof Error ? e.message : String(e);
  return new DataError(`${name}: not a readable ${format} file (${why}).`);
}

/** Decodes PNG or JPEG bytes. `name` (usually the path) appears in every error message. */
export function decodeImage(bytes: Uint8Array, name: string): Raster {
  const format = sniffImageFormat(bytes);
  if (format === 'png') {
    checkPngHeader(bytes, name);
    try {
      return orientRaster(unpackPng(decodePng(bytes, { checkCrc: true }), name), pngOrientation(bytes));
    } catch (e) {
      throw failure(name, 'PNG', e);
    }
  }
  if (format === 'jpeg') {
    const frame = jpegFrameSize(bytes);
    const limitMB = jpegMemoryLimitMB(bytes, frame);
    try {
      const img = decodeJpeg(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6, maxMemoryUsageInMB: limitMB });
      checkPixelCount(img.width, img.height, name);
      return orientRaster({ width: img.width, height: img.height, components: 3, data: img.data }, jpegOrientation(bytes));
    } catch (e) {
      if (e instanceof Error && /maxMemoryUsageInMB/.test(e.message)) throw jpegMemoryRefusal(name, bytes, frame, limitMB);
      throw failure(name, 'JPEG', e);
    }
  }
  if (bytes.length === 0) throw new DataError(`${name}: the file is empty (0 bytes). Copy the picture again, or move the file out of the folder.`);
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new DataError(`${name}: neither PNG nor JPEG (the file starts with ${head}). Convert it to PNG or JPEG, or move it out of the folder.`);
}
