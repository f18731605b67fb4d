// A baseline JPEG writer for pictures made of flat 8x8 blocks, which stores each component's samples
// exactly as given, with whatever markers and component ids a test asks for: jpeg-js's encoder
// always writes YCbCr with JFIF, so it cannot make the RGB-, CMYK- or YCCK-coded files other writers
// make. A flat block has only a DC coefficient, 8 * (sample - 128) with a quantization table of
// ones, so every block codes as its DC difference and an end-of-block code; decoders give the sample
// back exactly or within 1.

export interface FlatJpeg {
  /** Blocks across and down; the picture is 8 times as wide and high. */
  blocksWide: number;
  blocksHigh: number;
  /** Frame component ids, one per component (1, 2, 3 as JFIF writers use; 82, 71, 66 for 'R', 'G', 'B'). */
  ids: number[];
  /** The samples of block (bx, by), one per component, as stored in the file. */
  block: (bx: number, by: number) => number[];
  /** Write a JFIF (APP0) marker. */
  jfif?: boolean;
  /** Write an Adobe (APP14) marker with this colour transform flag (0: none, 1: YCbCr, 2: YCCK). */
  adobeTransform?: number;
}

const u16 = (v: number) => [v >> 8, v & 255];
const segment = (marker: number, body: number[]) => [0xff, marker, ...u16(body.length + 2), ...body];
const ascii = (text: string) => [...text].map((ch) => ch.charCodeAt(0));

/** Appends bits to entropy-coded data, stuffing a 0 after each 0xFF byte. */
class BitWriter {
  readonly bytes: number[] = [];
  private acc = 0;
  private count = 0;
  write(value: number, length: number): void {
    for (let k = length - 1; k >= 0; k--) {
      this.acc = (this.acc << 1) | ((value >> k) & 1);
      if (++this.count === 8) this.flushByte();
    }
  }
  /** Pads the last byte with 1 bits, as the standard asks. */
  finish(): number[] {
    while (this.count !== 0) this.write(1, 1);
    return this.bytes;
  }
  private flushByte(): void {
    this.bytes.push(this.acc);
    if (this.acc === 0xff) this.bytes.push(0);
    this.acc = 0;
    this.count = 0;
  }
}

/** The JPEG file of the picture. */
export function writeFlatJpeg(pic: FlatJpeg): Uint8Array {
  const n = pic.ids.length;
  const markers: number[] = [];
  if (pic.jfif) markers.push(...segment(0xe0, [...ascii('JFIF'), 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]));
  if (pic.adobeTransform !== undefined) markers.push(...segment(0xee, [...ascii('Adobe'), 0, 100, 0, 0, 0, 0, pic.adobeTransform]));
  // DC table: categories 0..11 take the 4-bit codes 0..11. AC table: only end-of-block, the code 0.
  const dcTable = [0x00, 0, 0, 0, 12, ...new Array(12).fill(0), ...Array.from({ length: 12 }, (_, k) => k)];
  const acTable = [0x10, 1, ...new Array(15).fill(0), 0x00];
  const bits = new BitWriter();
  const previousDc = new Array<number>(n).fill(0);
  for (let by = 0; by < pic.blocksHigh; by++) {
    for (let bx = 0; bx < pic.blocksWide; bx++) {
      const samples = pic.block(bx, by);
      for (let c = 0; c < n; c++) {
        const dc = 8 * (samples[c] - 128);
        const diff = dc - previousDc[c];
        previousDc[c] = dc;
        const category = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
        bits.write(category, 4);
        // A negative difference is sent as its value minus 1 in `category` bits (ones' complement).
        if (category > 0) bits.write(diff > 0 ? diff : diff - 1 + (1 << category), category);
        bits.write(0, 1); // end of block: every AC coefficient is 0
      }
    }
  }
  return Uint8Array.from([
    0xff, 0xd8,
    ...markers,
    ...segment(0xdb, [0, ...new Array(64).fill(1)]),
    ...segment(0xc0, [8, ...u16(8 * pic.blocksHigh), ...u16(8 * pic.blocksWide), n, ...pic.ids.flatMap((id) => [id, 0x11, 0])]),
    ...segment(0xc4, [...dcTable, ...acTable]),
    ...segment(0xda, [n, ...pic.ids.flatMap((id) => [id, 0x00]), 0, 63, 0]),
    ...bits.finish(),
    0xff, 0xd9,
  ]);
}
