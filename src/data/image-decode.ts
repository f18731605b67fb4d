// PNG and JPEG bytes to a Raster, in plain JavaScript: fast-png (already used to write sample
// grids) for PNG and jpeg-js for JPEG. Pure-JavaScript decoders were chosen over a native library
// such as sharp because they install from the registry with no platform binary, run unchanged in
// Node, Deno and a worker, and let us bound memory before decoding: a file whose header declares
// a picture larger than MAX_IMAGE_PIXELS is refused from the header alone, so a hostile or corrupt
// file cannot make us allocate what it claims. Resizing is ours (image-pixels.ts), shared with the
// browser path, so the decoders only have to decode.
//
// The format is recognised by its signature, not by the file's extension; every failure becomes a
// DataError naming the file and saying in plain words what is wrong (image-problems.ts). Each
// format's own checks, and the files cut short that still hold the whole picture (and so are
// read): image-png.ts, image-jpeg.ts. The EXIF orientation of a JPEG or PNG is applied
// (image-orientation.ts), as browsers do, so photos come out upright.
import { DataError } from './idx';
import { decodeJpegFile } from './image-jpeg';
import { jpegOrientation, orientRaster, pngOrientation } from './image-orientation';
import type { Raster } from './image-pixels';
import { decodePngFile } from './image-png';
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

/** Decodes PNG or JPEG bytes. `name` (usually the path) appears in every error message. A grey
 *  picture (PNG colour type grey or grey+alpha, a one-component JPEG) comes back with 1 or 2
 *  components, a colour one with 3 or 4. */
export function decodeImage(bytes: Uint8Array, name: string): Raster {
  const format = sniffImageFormat(bytes);
  if (format === 'png') return orientRaster(decodePngFile(bytes, name), pngOrientation(bytes));
  if (format === 'jpeg') return orientRaster(decodeJpegFile(bytes, name), jpegOrientation(bytes));
  if (bytes.length === 0) throw new DataError(`${name}: the file is empty (0 bytes). Copy the picture again, or move the file out of the folder.`);
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new DataError(`${name}: neither PNG nor JPEG (the file starts with ${head}). Convert it to PNG or JPEG, or move it out of the folder.`);
}
