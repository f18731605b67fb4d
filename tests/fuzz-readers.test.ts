// Fuzzing the readers of outside files: safetensors checkpoints, IDX (plain and gzip) and MNIST
// pairs, CIFAR-10 batches, and the picture folder's PNG/JPEG decoding and cache. Thousands of
// seeded cases each: truncation, bit flips, inserted and deleted bytes, huge declared sizes,
// overlapping and out-of-range offsets, header JSON of every wrong type, shapes whose product
// overflows. Every case must end in a well-formed result or in CheckpointError / DataError with a
// message; none may throw anything else, take over 2 s, or grow ArrayBuffer memory by 256 MiB.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encode as encodePng } from 'fast-png';
import { encode as encodeJpeg } from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { CIFAR10_RECORD, cifar10FromBatches } from '../src/data/cifar10';
import { DataError, parseIdx, parseIdxMaybeGzip } from '../src/data/idx';
import { cachePath } from '../src/data/image-cache';
import { decodeImage } from '../src/data/image-decode';
import { loadImageFolder } from '../src/data/image-folder';
import { prepareImage } from '../src/data/image-pixels';
import { mnistFromIdx } from '../src/data/mnist';
import { CheckpointError, decodeSafetensors, encodeSafetensors, type Safetensors } from '../src/io/safetensors';
import { crc32, EDGE_U32, FuzzRng, fuzzCase, mutateBytes, newReport, type FuzzReport } from './helpers/fuzz';
import { tempDir } from './helpers/temp-dir';

// Each test needs a few seconds of CPU; on a machine shared with other jobs the wall time can be
// ten times that, so the limit is generous. Per-case limits count CPU time (helpers/fuzz.ts).
const FUZZ_TIMEOUT = 600_000;

function expectClean(report: FuzzReport, minCases: number): void {
  const summary = `${report.cases} cases, ${report.succeeded} read, ${report.refused} refused, CPU ${(report.totalMs / 1000).toFixed(1)} s in all, slowest ${report.slowestMs.toFixed(1)} ms, ` +
    `largest growth ${(report.largestGrowthBytes / 2 ** 20).toFixed(1)} MiB`;
  console.log(summary);
  expect(report.failures.slice(0, 12), `${report.failures.length} failures (${summary}):\n${report.failures.slice(0, 12).join('\n')}`).toEqual([]);
  expect(report.cases).toBeGreaterThanOrEqual(minCases);
  expect(report.refused).toBeGreaterThan(report.cases / 4); // the mutations really do break files
}

const product = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

// ---------------------------------------------------------------- safetensors

function validCheckpoint(st: Safetensors): string | null {
  for (const [name, t] of Object.entries(st.tensors)) {
    if (t.data.length !== product(t.shape)) return `tensor ${name}: ${t.data.length} values for shape [${t.shape}]`;
  }
  return Object.values(st.metadata).every((v) => typeof v === 'string') ? null : 'metadata value not a string';
}

function baseCheckpoint(r: FuzzRng): Uint8Array {
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  const count = 1 + r.int(4);
  for (let t = 0; t < count; t++) {
    const shape = Array.from({ length: r.int(3) + 1 }, () => r.int(4));
    tensors[`layer.${t}.weight`] = { shape, data: Float32Array.from({ length: product(shape) }, () => r.u32() / 2 ** 31 - 1) };
  }
  return encodeSafetensors(tensors, r.int(2) ? { step: String(r.int(1000)) } : undefined);
}

/** A file from header text and data bytes, with the header length as given or as it should be. */
function checkpointFrom(headerText: string, data: Uint8Array, declaredLength?: number): Uint8Array {
  const json = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + json.length + data.length);
  const len = declaredLength ?? json.length;
  new DataView(out.buffer).setUint32(0, len % 2 ** 32, true);
  new DataView(out.buffer).setUint32(4, Math.floor(len / 2 ** 32) % 2 ** 32, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const WRONG_VALUES: unknown[] = [
  null, true, false, 0, -1, 1.5, 2 ** 53, 1e308, 'x', '', 'F32', [], [1], [-1], [1.5], ['1'], [[1]], [null], {}, { a: 1 },
  [2 ** 31, 2 ** 31], [2 ** 53 - 1, 2], [2 ** 20, 2 ** 20, 2 ** 20, 2 ** 20], [1e308, 1e308], [0, 2 ** 53], [2 ** 32, 2 ** 32 + 4],
  [-4, 0], [8, 4], [0, 0, 0], [0, 1e400],
];
const FIELDS = ['root', 'entry', 'dtype', 'shape', 'data_offsets', 'begin', 'end', 'metadata', 'metadata value', 'name'] as const;

/** Puts `value` into one field of a valid header object (a deep copy). */
function withWrongField(header: Record<string, any>, field: (typeof FIELDS)[number], value: unknown): unknown {
  if (field === 'root') return value;
  const h = JSON.parse(JSON.stringify(header));
  const name = Object.keys(h).find((k) => k !== '__metadata__')!;
  switch (field) {
    case 'entry': h[name] = value; break;
    case 'dtype': h[name].dtype = value; break;
    case 'shape': h[name].shape = value; break;
    case 'data_offsets': h[name].data_offsets = value; break;
    case 'begin': h[name].data_offsets[0] = value; break;
    case 'end': h[name].data_offsets[1] = value; break;
    case 'metadata': h.__metadata__ = value; break;
    case 'metadata value': h.__metadata__ = { note: value }; break;
    case 'name': {
      const entry = h[name];
      delete h[name];
      h[typeof value === 'string' ? value : JSON.stringify(value)] = entry;
      break;
    }
  }
  return h;
}

function splitCheckpoint(bytes: Uint8Array): { header: Record<string, any>; data: Uint8Array } {
  const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len))), data: bytes.subarray(8 + len) };
}

describe('fuzz: safetensors reader', () => {
  it('ends every malformed checkpoint in a CheckpointError', async () => {
    const report = newReport();
    const r = new FuzzRng(1);
    const decode = (bytes: Uint8Array) => () => decodeSafetensors(bytes);
    // Every field given every wrong type, on several base files.
    for (let b = 0; b < 6; b++) {
      const { header, data } = splitCheckpoint(baseCheckpoint(r));
      for (const field of FIELDS) {
        for (const value of WRONG_VALUES) {
          const text = JSON.stringify(withWrongField(header, field, value)) ?? 'undefined';
          await fuzzCase(report, `base ${b} ${field}=${JSON.stringify(value)}`, CheckpointError, decode(checkpointFrom(text, data)), validCheckpoint);
        }
      }
      // Prototype-polluting and reserved names must neither vanish nor break the reader.
      for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '']) {
        const h: Record<string, unknown> = {};
        Object.defineProperty(h, name, { value: header[Object.keys(header).find((k) => k !== '__metadata__')!], enumerable: true });
        await fuzzCase(report, `name '${name}'`, CheckpointError, decode(checkpointFrom(JSON.stringify(h), data)), (st) =>
          validCheckpoint(st) ?? (Object.keys(st.tensors).length === 1 ? null : `tensor '${name}' was lost`));
      }
    }
    // Offsets that overlap, leave holes or run past the data.
    for (let i = 0; i < 300; i++) {
      const { header, data } = splitCheckpoint(baseCheckpoint(r));
      const names = Object.keys(header).filter((k) => k !== '__metadata__');
      const entry = header[r.pick(names)];
      const shift = r.pick([-8, -4, -1, 1, 4, 8, data.length, 2 ** 31, 2 ** 32]);
      entry.data_offsets = r.int(2) ? [entry.data_offsets[0] + shift, entry.data_offsets[1] + shift] : [entry.data_offsets[0], entry.data_offsets[1] + shift];
      await fuzzCase(report, `offsets shifted by ${shift}`, CheckpointError, decode(checkpointFrom(JSON.stringify(header), data)), validCheckpoint);
    }
    // Declared header lengths from zero to 2^64 - 1.
    const lengths = [0, 1, 2, 7, 8, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 64 - 2 ** 11, ...EDGE_U32];
    for (const len of lengths) {
      const { header, data } = splitCheckpoint(baseCheckpoint(r));
      await fuzzCase(report, `header length ${len}`, CheckpointError, decode(checkpointFrom(JSON.stringify(header), data, len)), validCheckpoint);
    }
    // Headers that are not JSON objects at all, or JSON nested past any sane depth.
    for (const text of ['', ' ', 'nul', '{', '{"a":', '[]', '"x"', '1e999', '\ufeff{}', '{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}', '['.repeat(200_000)]) {
      await fuzzCase(report, `header text ${JSON.stringify(text.slice(0, 20))}`, CheckpointError, decode(checkpointFrom(text, new Uint8Array(0))), validCheckpoint);
    }
    await fuzzCase(report, 'header not UTF-8', CheckpointError, decode(checkpointFrom('', Uint8Array.of(0xff, 0xfe, 0x7b, 0x7d), 4)), validCheckpoint);
    // Byte-level mutations of whole files.
    for (let i = 0; i < 2500; i++) {
      const { bytes, how } = mutateBytes(baseCheckpoint(r), r);
      await fuzzCase(report, `bytes: ${how}`, CheckpointError, decode(bytes), validCheckpoint);
    }
    expectClean(report, 4000);
  }, FUZZ_TIMEOUT);
});

// ---------------------------------------------------------------- IDX and MNIST pairs

function makeIdx(dims: number[], data: Uint8Array, type = 0x08): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out.set([0, 0, type, dims.length]);
  dims.forEach((d, i) => new DataView(out.buffer).setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
const validIdx = (x: { dims: number[]; data: Uint8Array }) => (x.data.length === product(x.dims) ? null : `${x.data.length} bytes for dims ${x.dims}`);

function baseIdx(r: FuzzRng): Uint8Array {
  const dims = Array.from({ length: 1 + r.int(3) }, () => r.int(6));
  return makeIdx(dims, r.bytes(product(dims)));
}

describe('fuzz: IDX reader and MNIST pairs', () => {
  it('ends every malformed IDX file in a DataError', async () => {
    const report = newReport();
    const r = new FuzzRng(2);
    for (let type = 0; type < 256; type++) {
      await fuzzCase(report, `type 0x${type.toString(16)}`, DataError, () => parseIdx(makeIdx([2], Uint8Array.of(1, 2), type), 'f'), validIdx);
    }
    for (let ndims = 0; ndims < 256; ndims++) {
      const bytes = new Uint8Array([0, 0, 8, ndims, ...r.bytes(r.int(64))]);
      await fuzzCase(report, `ndims ${ndims}`, DataError, () => parseIdx(bytes, 'f'), validIdx);
    }
    // Huge declared sizes in every position, alone and multiplied (products up to 2^128).
    for (const a of EDGE_U32) {
      for (const b of EDGE_U32) {
        for (const data of [new Uint8Array(0), r.bytes(7)]) {
          await fuzzCase(report, `dims [${a}, ${b}]`, DataError, () => parseIdx(makeIdx([a, b], data), 'f'), validIdx);
          await fuzzCase(report, `dims [${a}, ${b}, ${a}, ${b}]`, DataError, () => parseIdx(makeIdx([a, b, a, b], data), 'f'), validIdx);
        }
      }
    }
    for (let i = 0; i < 2500; i++) {
      const { bytes, how } = mutateBytes(baseIdx(r), r);
      await fuzzCase(report, `bytes: ${how}`, DataError, () => parseIdx(bytes, 'f'), validIdx);
    }
    // Gzip streams, mutated after compression.
    for (let i = 0; i < 300; i++) {
      const { bytes, how } = mutateBytes(new Uint8Array(gzipSync(baseIdx(r))), r);
      await fuzzCase(report, `gzip: ${how}`, DataError, () => parseIdxMaybeGzip(bytes, 'f.gz'), validIdx);
    }
    // Image and label files that disagree, are swapped or are damaged.
    for (let i = 0; i < 300; i++) {
      const n = 1 + r.int(4);
      const [rows, cols] = [2 + r.int(3), 2 + r.int(3)];
      let images = makeIdx([n, rows, cols], r.bytes(n * rows * cols));
      let labels = makeIdx([n + r.pick([0, 0, 1, -1])], r.bytes(Math.max(0, n)));
      if (r.int(3) === 0) [images, labels] = [labels, images];
      if (r.int(2) === 0) images = mutateBytes(images, r).bytes;
      if (r.int(2) === 0) labels = mutateBytes(labels, r).bytes;
      await fuzzCase(report, `mnist pair ${i}`, DataError, () => mnistFromIdx(images, labels, { images: 'i', labels: 'l', dataset: 'd' }), (ds) =>
        ds.images.length === ds.count * ds.rows * ds.cols && ds.labels.length === ds.count ? null : 'inconsistent dataset');
    }
    expectClean(report, 4000);
  }, FUZZ_TIMEOUT);
});

// ---------------------------------------------------------------- CIFAR-10

describe('fuzz: CIFAR-10 reader', () => {
  it('ends every malformed batch in a DataError', async () => {
    const report = newReport();
    const r = new FuzzRng(3);
    const batch = (n: number) => {
      const out = r.bytes(n * CIFAR10_RECORD);
      for (let i = 0; i < n; i++) out[i * CIFAR10_RECORD] = r.int(10);
      return out;
    };
    const valid = (ds: { images: Uint8Array; labels: Uint8Array; count: number }) =>
      ds.images.length === ds.count * 3072 && ds.labels.every((l) => l <= 9) ? null : 'inconsistent dataset';
    for (let i = 0; i < 1500; i++) {
      const { bytes, how } = mutateBytes(batch(1 + r.int(3)), r);
      await fuzzCase(report, `bytes: ${how}`, DataError, () => cifar10FromBatches([{ bytes, name: 'b.bin' }], 'c', r.int(3) ? undefined : 1 + r.int(3)), valid);
    }
    for (let i = 0; i < 300; i++) {
      const bytes = batch(2);
      bytes[r.int(2) * CIFAR10_RECORD] = 10 + r.int(246);
      await fuzzCase(report, `label ${i}`, DataError, () => cifar10FromBatches([{ bytes: batch(1), name: 'a' }, { bytes, name: 'b' }], 'c'), valid);
    }
    expectClean(report, 1800);
  }, FUZZ_TIMEOUT);
});

// ---------------------------------------------------------------- pictures

function pngChunks(png: Uint8Array): { at: number; length: number; type: string }[] {
  const chunks = [];
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (let at = 8; at + 12 <= png.length;) {
    const length = view.getUint32(at, false);
    chunks.push({ at, length, type: new TextDecoder().decode(png.subarray(at + 4, at + 8)) });
    at += 12 + length;
  }
  return chunks;
}

/** Rewrites a chunk's CRC so that a mutated chunk passes the CRC check and reaches the decoder. */
function fixCrc(png: Uint8Array, chunk: { at: number; length: number }): void {
  const end = chunk.at + 8 + chunk.length;
  if (end + 4 > png.length) return;
  new DataView(png.buffer, png.byteOffset).setUint32(end, crc32(png.subarray(chunk.at + 4, end)), false);
}

function basePng(r: FuzzRng): Uint8Array {
  const channels = 1 + r.int(4);
  const depth = r.pick([8, 8, 16] as const);
  const [w, h] = [1 + r.int(12), 1 + r.int(12)];
  const data = depth === 8 ? r.bytes(w * h * channels) : Uint16Array.from({ length: w * h * channels }, () => r.u32() & 0xffff);
  return encodePng({ width: w, height: h, data, channels, depth }, { interlace: r.int(3) === 0 ? 'Adam7' : 'null' });
}

function baseJpeg(r: FuzzRng): Uint8Array {
  const [w, h] = [1 + r.int(24), 1 + r.int(24)];
  return new Uint8Array(encodeJpeg({ width: w, height: h, data: r.bytes(w * h * 4) }, 30 + r.int(70)).data);
}

describe('fuzz: picture decoding (the folder reader)', () => {
  it('ends every malformed PNG or JPEG in a DataError, never allocating what a header declares', async () => {
    const report = newReport();
    const r = new FuzzRng(4);
    // Encoding costs more than decoding: mutate copies drawn from a pool of encoded pictures.
    const pngPool = Array.from({ length: 48 }, () => basePng(r));
    const jpegPool = Array.from({ length: 48 }, () => baseJpeg(r));
    const pooledPng = () => r.pick(pngPool).slice();
    const pooledJpeg = () => r.pick(jpegPool).slice();
    const read = (bytes: Uint8Array, channels: 1 | 3) => () => prepareImage(decodeImage(bytes, 'p'), 8, channels);
    const valid = (channels: number) => (x: Uint8Array) => (x.length === channels * 64 ? null : `${x.length} bytes prepared`);
    for (let i = 0; i < 1200; i++) {
      const { bytes, how } = mutateBytes(pooledPng(), r);
      const ch = r.pick([1, 3] as const);
      await fuzzCase(report, `png bytes: ${how}`, DataError, read(bytes, ch), valid(ch));
    }
    // Mutations inside one chunk with its CRC repaired, so they reach the inflater and unfilter.
    for (let i = 0; i < 800; i++) {
      const png = pooledPng();
      const chunk = r.pick(pngChunks(png));
      const body = png.subarray(chunk.at + 8, chunk.at + 8 + chunk.length);
      const mutated = mutateBytes(body, r).bytes.subarray(0, body.length);
      body.fill(0);
      body.set(mutated);
      fixCrc(png, chunk);
      await fuzzCase(report, `png chunk ${chunk.type} ${i}`, DataError, read(png, 3), valid(3));
    }
    // IHDR fields of every extreme, CRC repaired: sizes up to 2^32 - 1 declared in a tiny file.
    for (let i = 0; i < 600; i++) {
      const png = pooledPng();
      const view = new DataView(png.buffer);
      const field = r.int(5);
      if (field === 0) view.setUint32(16, r.pick(EDGE_U32), false);
      if (field === 1) view.setUint32(20, r.pick(EDGE_U32), false);
      if (field === 2) { view.setUint32(16, 8192, false); view.setUint32(20, 8192, false); }
      if (field === 3) png[24] = r.pick([0, 1, 2, 3, 4, 5, 8, 16, 32, 255]);
      if (field === 4) { png[25] = r.int(8); png[28] = r.int(3); }
      fixCrc(png, { at: 8, length: 13 });
      await fuzzCase(report, `png IHDR field ${field} case ${i}`, DataError, read(png, 1), valid(1));
    }
    for (let i = 0; i < 600; i++) {
      const { bytes, how } = mutateBytes(pooledJpeg(), r);
      const ch = r.pick([1, 3] as const);
      await fuzzCase(report, `jpeg bytes: ${how}`, DataError, read(bytes, ch), valid(ch));
    }
    // JPEG frame headers declaring huge pictures.
    for (let i = 0; i < 120; i++) {
      const jpg = pooledJpeg();
      const sof = jpg.findIndex((b, k) => b === 0xff && jpg[k + 1] === 0xc0);
      const view = new DataView(jpg.buffer);
      view.setUint16(sof + 5, r.pick([0, 1, 4096, 8191, 16384, 65535]), false);
      view.setUint16(sof + 7, r.pick([0, 1, 4096, 8191, 16384, 65535]), false);
      await fuzzCase(report, `jpeg SOF size ${view.getUint16(sof + 7)}x${view.getUint16(sof + 5)}`, DataError, read(jpg, 3), valid(3));
    }
    expectClean(report, 3300);
  }, FUZZ_TIMEOUT);

  it('loads folders holding damaged files and damaged caches without error types other than DataError', async () => {
    const report = newReport();
    const r = new FuzzRng(5);
    const dir = tempDir('webgpu-vae-fuzz-');
    for (let k = 0; k < 3; k++) writeFileSync(join(dir, `good${k}.png`), basePng(r));
    const opts = { imageSize: 4, channels: 3 as const, testFraction: 0, warn: () => {} };
    const truth = await loadImageFolder(dir, { ...opts, cache: false });
    const sameAsTruth = (set: typeof truth) =>
      Buffer.compare(Buffer.from(set.train.images), Buffer.from(truth.train.images)) === 0 ? null : 'pictures differ from a fresh decode';
    // A damaged cache must be noticed and rebuilt: the result always equals a fresh decode.
    await loadImageFolder(dir, opts);
    const cache = readFileSync(cachePath(dir, 4, 3));
    for (let i = 0; i < 150; i++) {
      writeFileSync(cachePath(dir, 4, 3), mutateBytes(new Uint8Array(cache), r).bytes);
      await fuzzCase(report, `cache ${i}`, DataError, () => loadImageFolder(dir, opts), sameAsTruth);
    }
    // A damaged picture among good ones: skipped (the rest loads) or, when all fail, a DataError.
    for (let i = 0; i < 40; i++) {
      const { bytes } = mutateBytes(r.int(2) ? basePng(r) : baseJpeg(r), r);
      writeFileSync(join(dir, r.int(2) ? 'z.png' : 'z.jpg'), bytes);
      await fuzzCase(report, `folder ${i}`, DataError, () => loadImageFolder(dir, { ...opts, cache: false, strict: r.int(2) === 0 }), (set) =>
        set.train.count >= 3 ? null : `only ${set.train.count} pictures`);
      rmSync(join(dir, 'z.png'), { force: true });
      rmSync(join(dir, 'z.jpg'), { force: true });
    }
    console.log(`folder fuzz: ${report.cases} cases, ${report.refused} refused`);
    expect(report.failures.slice(0, 12)).toEqual([]);
    expect(report.cases).toBe(190);
  }, FUZZ_TIMEOUT);
});
