// Test helpers: an EXIF orientation tag written where cameras and editors write it: an Exif APP1
// segment right after a JPEG's SOI marker, or an eXIf chunk right after a PNG's IHDR chunk, as a
// big-endian "MM" TIFF block by default, or little-endian "II".

/** A TIFF block whose first IFD holds the orientation tag alone. */
function orientationTiff(orientation: number, littleEndian: boolean): Uint8Array {
  const tiff = new Uint8Array(26);
  const view = new DataView(tiff.buffer);
  tiff.set(littleEndian ? [0x49, 0x49] : [0x4d, 0x4d]);
  view.setUint16(2, 42, littleEndian);
  view.setUint32(4, 8, littleEndian); // IFD0 right after the header
  view.setUint16(8, 1, littleEndian); // one entry
  view.setUint16(10, 0x0112, littleEndian); // Orientation
  view.setUint16(12, 3, littleEndian); // SHORT
  view.setUint32(14, 1, littleEndian); // one value
  view.setUint16(18, orientation, littleEndian);
  view.setUint32(22, 0, littleEndian); // no next IFD
  return tiff;
}

export function withExifOrientation(jpeg: Uint8Array, orientation: number, littleEndian = false): Uint8Array {
  const tiff = orientationTiff(orientation, littleEndian);
  const body = new Uint8Array([0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff]);
  const segment = new Uint8Array([0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 255, ...body]);
  return new Uint8Array([...jpeg.subarray(0, 2), ...segment, ...jpeg.subarray(2)]);
}

/** CRC-32 of PNG chunks (ISO 3309, as zlib's). */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

export function withPngExifOrientation(png: Uint8Array, orientation: number, littleEndian = false): Uint8Array {
  const tiff = orientationTiff(orientation, littleEndian);
  const chunk = new Uint8Array(12 + tiff.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, tiff.length, false);
  chunk.set([0x65, 0x58, 0x49, 0x66], 4); // "eXIf"
  chunk.set(tiff, 8);
  view.setUint32(8 + tiff.length, crc32(chunk.subarray(4, 8 + tiff.length)), false);
  const afterIhdr = 8 + 25; // signature, then IHDR: length, type, 13 bytes, CRC
  return new Uint8Array([...png.subarray(0, afterIhdr), ...chunk, ...png.subarray(afterIhdr)]);
}
