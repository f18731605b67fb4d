// JPEG bytes to a Raster with jpeg-js, after checks of our own: the markers are walked first
// (frame header, scans, end of image), so that a picture too large is refused from its header in
// the same words as a PNG, a file cut short is named as such, and jpeg-js is given a memory
// allowance fitted to the picture.
//
// A JPEG whose EOI (end of image) marker is missing but whose scans are all there is decoded, as
// PIL and browsers do: jpeg-js looks for a marker after the last scan and fails at the end of the
// bytes, so the marker is put back first. "All there" means every colour component is in a scan
// and, in a progressive file, every coefficient of every component is refined to full precision;
// a scan cut short then meets the put-back marker inside its data, and the file is refused as
// truncated. A one-component (grey) JPEG gives a grey Raster.
//
// A three-component JPEG is most often coded as YCbCr, but some writers keep RGB (PIL with
// keep_rgb, any libjpeg program that asks for it): jpeg-js converts every three-component file from
// YCbCr unless told not to, which turned such a file's red into (75, 255, 28). The colour coding is decided from
// the markers as libjpeg-turbo (PIL, browsers) does: a JFIF marker means YCbCr; otherwise an Adobe
// (APP14) marker's transform flag does, 0 meaning RGB; otherwise component ids 'R', 'G', 'B' mean
// RGB. Four-component files (CMYK, or YCCK with Adobe transform 2) are left to jpeg-js's own rules.
import { decode as decodeJpeg } from 'jpeg-js';
import { DataError } from './idx';
import type { Raster } from './image-pixels';
import { checkPixelCount, damaged, endsEarly, unreadable } from './image-problems';
import { MAX_IMAGE_PIXELS } from './image-set';

interface JpegFrame {
  width: number;
  height: number;
  marker: number;
  progressive: boolean;
  /** Component ids, in frame order. */
  ids: number[];
}

interface JpegScan {
  ids: number[];
  /** Spectral selection (first and last coefficient) and successive approximation low bit. */
  ss: number;
  se: number;
  al: number;
}

interface JpegLayout {
  frame: JpegFrame | null;
  scans: JpegScan[];
  /** The EOI marker was reached. */
  eoi: boolean;
  /** The bytes end inside a marker segment (a header, not scan data). */
  cutInSegment: boolean;
  /** The walk met bytes that are not a marker where one belongs, and stopped there. */
  lost: boolean;
  /** A JFIF (APP0) marker was seen. */
  jfif: boolean;
  /** The colour transform flag of the last Adobe (APP14) marker seen, or null without one. */
  adobeTransform: number | null;
}

const isFrameMarker = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

const startsWith = (bytes: Uint8Array, at: number, text: string) => [...text].every((ch, k) => bytes[at + k] === ch.charCodeAt(0));

/** Whether a JPEG's three components hold R, G and B rather than Y, Cb and Cr, by libjpeg-turbo's
 *  rules (see the top of this file). */
function codedAsRgb(layout: JpegLayout): boolean {
  const ids = layout.frame?.ids;
  if (ids?.length !== 3 || layout.jfif) return false;
  if (layout.adobeTransform !== null) return layout.adobeTransform === 0;
  return ids[0] === 0x52 && ids[1] === 0x47 && ids[2] === 0x42; // 'R', 'G', 'B'
}

/** Walks the markers from SOI to EOI, skipping each scan's entropy-coded data. */
function jpegLayout(bytes: Uint8Array): JpegLayout {
  const layout: JpegLayout = { frame: null, scans: [], eoi: false, cutInSegment: false, lost: false, jfif: false, adobeTransform: null };
  const u16 = (at: number) => (bytes[at] << 8) | bytes[at + 1];
  let at = 2; // after SOI
  while (at + 1 < bytes.length) {
    if (bytes[at] !== 0xff) return { ...layout, lost: true }; // let jpeg-js judge (it mends some writers' slips)
    const marker = bytes[at + 1];
    if (marker === 0xff) { at++; continue; } // fill byte before a marker
    if (marker === 0xd9) return { ...layout, eoi: true };
    if (marker === 0x00 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { at += 2; continue; } // no length
    if (at + 4 > bytes.length || at + 2 + u16(at + 2) > bytes.length) return { ...layout, cutInSegment: true };
    const start = at;
    const end = at + 2 + u16(at + 2);
    at = end;
    // The identifier strings and lengths libjpeg checks before it trusts these markers.
    if (marker === 0xe0 && end - start >= 2 + 2 + 14 && startsWith(bytes, start + 4, 'JFIF\0')) layout.jfif = true;
    if (marker === 0xee && end - start >= 2 + 2 + 12 && startsWith(bytes, start + 4, 'Adobe')) layout.adobeTransform = bytes[start + 4 + 11];
    if (isFrameMarker(marker) && !layout.frame && start + 10 <= end) {
      const ids = Array.from({ length: bytes[start + 9] }, (_, k) => bytes[start + 10 + 3 * k]).slice(0, Math.max(0, Math.floor((end - start - 10) / 3)));
      layout.frame = { height: u16(start + 5), width: u16(start + 7), marker, progressive: marker === 0xc2, ids };
    }
    if (marker !== 0xda) continue;
    const n = bytes[start + 4];
    const spectral = start + 5 + 2 * n;
    if (spectral + 3 > end) continue; // a malformed scan header: jpeg-js refuses it
    const ids = Array.from({ length: n }, (_, k) => bytes[start + 5 + 2 * k]);
    layout.scans.push({ ids, ss: bytes[spectral], se: bytes[spectral + 1], al: bytes[spectral + 2] & 15 });
    // The entropy-coded data runs to the next marker other than a stuffed 0 or a restart marker.
    while (at + 1 < bytes.length && !(bytes[at] === 0xff && bytes[at + 1] !== 0 && bytes[at + 1] !== 0xff && (bytes[at + 1] < 0xd0 || bytes[at + 1] > 0xd7))) at++;
    if (at + 1 >= bytes.length) return layout; // the scan runs to the end of the file
  }
  return layout;
}

/** Whether the scans hold the whole picture: every component scanned and, when progressive, every
 *  coefficient 0..63 of every component brought to full precision (a scan with Al = 0). */
function scansComplete(frame: JpegFrame, scans: JpegScan[]): boolean {
  return frame.ids.every((id) => {
    const own = scans.filter((s) => s.ids.includes(id));
    if (!frame.progressive) return own.length > 0;
    const done = new Array<boolean>(64).fill(false);
    for (const s of own) if (s.al === 0) for (let k = s.ss; k <= Math.min(s.se, 63); k++) done[k] = true;
    return done.every(Boolean);
  });
}

/** Memory jpeg-js counts per pixel, at most: for each component 4 bytes of DCT coefficients, 1 of
 *  samples and 1 of colour conversion, plus 3 of output; 27 for four full-resolution components. */
const JPEG_BYTES_PER_PIXEL = 27;
/** Pixels a byte of JPEG can code, at most: every 8x8 block codes its DC coefficient in at least
 *  one bit, even in a progressive file whose AC scans skip millions of blocks in a few bytes. */
const JPEG_PIXELS_PER_BYTE = 512;

/** The most memory any JPEG this reader decodes may take: one of MAX_IMAGE_PIXELS, four
 *  components at full resolution, with room for its blocks padded to whole MCUs (16x16 at most,
 *  under 2% more for any picture of that many pixels). A lower cap would refuse colour JPEGs
 *  within the documented 64 megapixels (a 4:4:4 export of 50 to 64 megapixels, a CMYK one of
 *  40). */
const JPEG_MAX_MB = Math.ceil((MAX_IMAGE_PIXELS * JPEG_BYTES_PER_PIXEL) / 2 ** 20) + 64;

/** Memory jpeg-js may use for a JPEG, between 16 MiB and JPEG_MAX_MB: what its header's picture
 *  needs (its sides padded to whole MCUs, as jpeg-js allocates its blocks), unless the file is
 *  too short to code that many pixels (then it is truncated or hostile, and gets 1 KiB per byte
 *  of file, so a tiny file declaring a huge picture is refused before its buffers are allocated).
 *  The file's size alone is no guide for real files: a flat 24-megapixel progressive photo fits
 *  in 150 KB and needs 300 MB. */
function jpegMemoryLimitMB(bytes: Uint8Array, frame: JpegFrame | null): number {
  const pixels = frame ? frame.width * frame.height : 0;
  const padded = frame ? Math.ceil(frame.width / 16) * 16 * Math.ceil(frame.height / 16) * 16 : 0;
  const codable = pixels <= JPEG_PIXELS_PER_BYTE * bytes.length;
  const needed = codable ? Math.ceil((padded * JPEG_BYTES_PER_PIXEL) / 2 ** 20) : 0;
  return Math.min(JPEG_MAX_MB, Math.max(16, Math.ceil((bytes.length * 1024) / 2 ** 20), needed));
}

/** Says why jpeg-js ran out of its memory allowance, and what to do. */
function jpegMemoryRefusal(name: string, bytes: Uint8Array, frame: JpegFrame | null, limitMB: number): DataError {
  const size = frame ? `${frame.width}x${frame.height}` : 'this';
  if (frame && frame.width * frame.height > JPEG_PIXELS_PER_BYTE * bytes.length) {
    return new DataError(
      `${name}: the header declares ${size} pixels, more than a JPEG of ${bytes.length} bytes can code, and decoding it would take over ` +
        `${limitMB} MiB; the file is truncated or corrupt. Download or export the picture again.`,
    );
  }
  return new DataError(
    `${name}: decoding this ${size} JPEG would take more than the ${limitMB} MiB of memory this reader allows. ` +
      'Shrink the picture or save it as PNG.',
  );
}

/** Says in plain words why jpeg-js refused the bytes; `markerAdded`: EOI was put back. */
function jpegFailure(name: string, bytes: Uint8Array, layout: JpegLayout, limitMB: number, e: unknown, markerAdded: boolean): DataError {
  if (e instanceof DataError) return e;
  const why = e instanceof Error ? e.message : String(e);
  if (/maxMemoryUsageInMB/.test(why)) return jpegMemoryRefusal(name, bytes, layout.frame, limitMB);
  if (/maxResolutionInMP/.test(why)) {
    return new DataError(`${name}: the JPEG's frame header declares more than the ${MAX_IMAGE_PIXELS / 2 ** 20} megapixels this reader decodes. Shrink the picture first, or remove it from the folder.`);
  }
  if (markerAdded && /unexpected marker: ffd9/.test(why)) return endsEarly(name, 'JPEG', bytes);
  if (/^only single frame/.test(why)) return damaged(name, layout.frame ? 'the JPEG holds more than one frame' : 'the JPEG has no frame header (SOF) before its picture data');
  if (/unexpected marker|invalid huffman|marker was not found|invalid ACn|Huffman Table/.test(why)) {
    return damaged(name, `the JPEG's compressed picture data does not decode (${why})`);
  }
  if (layout.frame && ![0xc0, 0xc1, 0xc2].includes(layout.frame.marker)) {
    return new DataError(
      `${name}: the JPEG is coded in a way this reader does not decode (frame type ${layout.frame.marker.toString(16).toUpperCase()}: lossless, ` +
        'arithmetic or hierarchical coding). Save it as an ordinary (baseline or progressive) JPEG or as PNG.',
    );
  }
  return unreadable(name, 'JPEG', e);
}

/** Decodes JPEG bytes (signature already checked); `name` appears in every error message. */
export function decodeJpegFile(bytes: Uint8Array, name: string): Raster {
  const layout = jpegLayout(bytes);
  const { frame } = layout;
  if (frame) checkPixelCount(frame.width, frame.height, name);
  if (!layout.eoi && !layout.lost && (layout.cutInSegment || !frame || layout.scans.length === 0 || !scansComplete(frame, layout.scans))) {
    throw endsEarly(name, 'JPEG', bytes);
  }
  let whole = bytes;
  const markerAdded = !layout.eoi && !(bytes[bytes.length - 2] === 0xff && bytes[bytes.length - 1] === 0xd9);
  if (markerAdded) {
    whole = new Uint8Array(bytes.length + 2);
    whole.set(bytes);
    whole.set([0xff, 0xd9], bytes.length);
  }
  const limitMB = jpegMemoryLimitMB(bytes, frame);
  try {
    // Told nothing, jpeg-js converts any three-component file from YCbCr.
    const colours = codedAsRgb(layout) ? { colorTransform: false } : {};
    const limits = { maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6, maxMemoryUsageInMB: limitMB };
    const img = decodeJpeg(whole, { useTArray: true, formatAsRGBA: false, ...limits, ...colours });
    checkPixelCount(img.width, img.height, name);
    if (frame?.ids.length !== 1) return { width: img.width, height: img.height, components: 3, data: img.data };
    // jpeg-js repeats a grey sample three times; keep one, so the picture is known to be grey.
    const grey = new Uint8Array(img.width * img.height);
    for (let p = 0; p < grey.length; p++) grey[p] = img.data[3 * p];
    return { width: img.width, height: img.height, components: 1, data: grey };
  } catch (e) {
    throw jpegFailure(name, bytes, layout, limitMB, e, markerAdded);
  }
}
