// EXIF orientation of JPEG and PNG files. Cameras and phones store a photo as the sensor read it
// and record in an EXIF tag (0x0112) how to turn it for display; browsers apply the tag when they
// decode, jpeg-js and fast-png do not. Reading the tag and turning the pixels here makes a photo
// upright in Node and the same as the browser path (createImageBitmap with imageOrientation
// 'from-image'). A JPEG carries the EXIF block in an APP1 segment ("Exif\0\0", then TIFF); a PNG
// in an eXIf chunk before its image data (the TIFF block alone).
//
// The tag's values: 1 as stored, 2 mirrored left-right, 3 turned 180 degrees, 4 mirrored
// top-bottom, 5 transposed (mirrored about the main diagonal), 6 turned 90 degrees clockwise,
// 7 transversed (mirrored about the other diagonal), 8 turned 90 degrees counter-clockwise.
// A missing or malformed tag means 1: orientation is a hint, never a reason to refuse a picture.
import type { Raster } from './image-pixels';

/** Orientation (1..8) from the first Exif APP1 segment before the scan data, or 1. */
export function jpegOrientation(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 2; // after SOI
  while (at + 4 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1];
    if (marker === 0xda || marker === 0xd9) break; // start of scan, end of image
    const length = view.getUint16(at + 2, false);
    if (length < 2) break;
    if (marker === 0xe1 && length >= 16 && at + 2 + length <= bytes.length) {
      const orientation = exifOrientation(view, at + 4, at + 2 + length);
      if (orientation) return orientation;
    }
    at += 2 + length;
  }
  return 1;
}

const EXIF_HEADER = [0x45, 0x78, 0x69, 0x66, 0, 0]; // "Exif\0\0"
const hasExifHeader = (view: DataView, start: number, end: number) =>
  start + EXIF_HEADER.length <= end && EXIF_HEADER.every((b, i) => view.getUint8(start + i) === b);

/** The orientation tag of an "Exif\0\0" + TIFF block in [start, end), or 0 when there is none. */
function exifOrientation(view: DataView, start: number, end: number): number {
  return hasExifHeader(view, start, end) ? tiffOrientation(view, start + EXIF_HEADER.length, end) : 0;
}

/** Orientation (1..8) from a PNG's eXIf chunk before its image data, or 1. Some writers put
 *  "Exif\0\0" in front of the TIFF block, as in a JPEG; that is accepted too. */
export function pngOrientation(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = (at: number) => String.fromCharCode(...bytes.subarray(at + 4, at + 8));
  let at = 8; // after the signature
  while (at + 12 <= bytes.length) {
    const length = view.getUint32(at, false);
    const end = at + 8 + length;
    if (type(at) === 'IDAT' || type(at) === 'IEND' || end + 4 > bytes.length) break;
    if (type(at) === 'eXIf') {
      const start = hasExifHeader(view, at + 8, end) ? at + 8 + EXIF_HEADER.length : at + 8;
      return tiffOrientation(view, start, end) || 1;
    }
    at = end + 4; // past the CRC
  }
  return 1;
}

/** The orientation tag of a TIFF block (byte order, 42, first IFD) in [tiff, end), or 0 when there is none. */
function tiffOrientation(view: DataView, tiff: number, end: number): number {
  if (tiff + 8 > end) return 0;
  const order = view.getUint16(tiff, false);
  if (order !== 0x4949 && order !== 0x4d4d) return 0;
  const little = order === 0x4949;
  const u16 = (p: number) => (p + 2 <= end ? view.getUint16(p, little) : -1);
  const u32 = (p: number) => (p + 4 <= end ? view.getUint32(p, little) : -1);
  if (u16(tiff + 2) !== 42) return 0;
  const ifd = tiff + u32(tiff + 4);
  const entries = u16(ifd);
  if (ifd <= tiff || entries < 0) return 0;
  for (let k = 0; k < entries; k++) {
    const entry = ifd + 2 + 12 * k;
    if (entry + 12 > end) return 0;
    if (u16(entry) === 0x0112 && u16(entry + 2) === 3) {
      const value = u16(entry + 8);
      return value >= 1 && value <= 8 ? value : 0;
    }
  }
  return 0;
}

/** The raster as it should be displayed under `orientation` (1..8; anything else: unchanged). */
export function orientRaster(r: Raster, orientation: number): Raster {
  if (!(orientation >= 2 && orientation <= 8)) return r;
  const { width: w, height: h, components: c } = r;
  const swap = orientation >= 5;
  const [dw, dh] = swap ? [h, w] : [w, h];
  // Source column and row of displayed pixel (x, y).
  const source: Record<number, (x: number, y: number) => [number, number]> = {
    2: (x, y) => [w - 1 - x, y],
    3: (x, y) => [w - 1 - x, h - 1 - y],
    4: (x, y) => [x, h - 1 - y],
    5: (x, y) => [y, x],
    6: (x, y) => [y, h - 1 - x],
    7: (x, y) => [w - 1 - y, h - 1 - x],
    8: (x, y) => [w - 1 - y, x],
  };
  const from = source[orientation];
  const data = new (r.data.constructor as new (n: number) => Raster['data'])(dw * dh * c);
  for (let y = 0; y < dh; y++) {
    for (let x = 0; x < dw; x++) {
      const [sx, sy] = from(x, y);
      const s = (sy * w + sx) * c;
      const d = (y * dw + x) * c;
      for (let k = 0; k < c; k++) data[d + k] = r.data[s + k];
    }
  }
  return { width: dw, height: dh, components: c, data };
}
