// safetensors: exact byte layout for a tiny file, bit-exact round trips, and
// every kind of corrupt checkpoint refused with a message naming the problem.
import { describe, expect, it } from 'vitest';
import { CheckpointError, decodeSafetensors, encodeSafetensors } from '../src/io/safetensors';

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** A file from a hand-written header object and data bytes, for corrupt cases. */
function rawFile(header: unknown, data: Uint8Array | number[], headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32 = (shape: number[], begin: number, end: number, dtype = 'F32') => ({ dtype, shape, data_offsets: [begin, end] });

describe('encodeSafetensors', () => {
  it('produces the exact expected bytes for a tiny tensor', () => {
    const bytes = encodeSafetensors({ w: { shape: [2], data: Float32Array.of(1, -2) } });
    const headerJson = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'; // 54 bytes
    const expected = [
      ...[56, 0, 0, 0, 0, 0, 0, 0], // header length, padded from 54 to a multiple of 8
      ...Array.from(headerJson, (c) => c.charCodeAt(0)),
      0x20, 0x20, // space padding
      ...[0x00, 0x00, 0x80, 0x3f], // 1.0f little-endian
      ...[0x00, 0x00, 0x00, 0xc0], // -2.0f little-endian
    ];
    expect(Array.from(bytes)).toEqual(expected);
  });

  it('refuses a shape that does not match the data length', () => {
    expect(() => encodeSafetensors({ w: { shape: [3], data: new Float32Array(2) } })).toThrow(CheckpointError);
  });
});

describe('round trip', () => {
  it('restores tensors bit-exactly, including special values, and metadata', () => {
    const special = new Float32Array(new Uint32Array([0x7fc00001, 0x80000000, 0x7f800000, 0xff800000, 0x00000001, 0x3f800000]).buffer);
    const big = new Float32Array(1000).map((_, i) => Math.sin(i) * 1e3);
    const tensors = {
      'encoder.fc1.weight': { shape: [10, 100], data: big },
      'z.special': { shape: [2, 3], data: special },
      'a.scalar': { shape: [], data: Float32Array.of(3.25) },
      'empty': { shape: [0, 4], data: new Float32Array(0) },
    };
    const metadata = { format: 'webgpu-vae', step: '1200', note: 'unicode ✓' };
    const bytes = encodeSafetensors(tensors, metadata);
    const headerLen = new DataView(bytes.buffer).getUint32(0, true);
    expect(headerLen % 8).toBe(0);
    expect(bytes.length).toBe(8 + headerLen + 4 * 1007);
    const decoded = decodeSafetensors(bytes);
    expect(decoded.metadata).toEqual(metadata);
    expect(Object.keys(decoded.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      expect(decoded.tensors[name].shape).toEqual(t.shape);
      expect(bits(decoded.tensors[name].data)).toEqual(bits(t.data));
    }
  });

  it('copies data into aligned arrays even when the input view is misaligned', () => {
    const file = encodeSafetensors({ b: { shape: [1], data: Float32Array.of(7) }, a: { shape: [3], data: Float32Array.of(1, 2, 3) } });
    // Shift the file by one byte so no float in it sits on a 4-byte boundary.
    const backing = new Uint8Array(file.length + 1);
    backing.set(file, 1);
    const { tensors } = decodeSafetensors(backing.subarray(1));
    expect(Array.from(tensors.a.data)).toEqual([1, 2, 3]);
    expect(Array.from(tensors.b.data)).toEqual([7]);
    expect(tensors.a.data.byteOffset % 4).toBe(0);
    expect(tensors.a.data.buffer).not.toBe(backing.buffer);
  });

  it('decodes a file with no metadata and an unpadded header', () => {
    const file = rawFile({ x: f32([2], 0, 8) }, new Uint8Array(Float32Array.of(5, 6).buffer));
    expect(decodeSafetensors(file)).toEqual({ tensors: { x: { shape: [2], data: Float32Array.of(5, 6) } }, metadata: {} });
  });
});

describe('decodeSafetensors refuses corrupt files', () => {
  const data8 = new Uint8Array(8);
  const cases: [string, Uint8Array, RegExp][] = [
    ['too short', Uint8Array.of(1, 0, 0), /too short/],
    ['header length beyond file', Uint8Array.of(0xff, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d), /header length 255 goes beyond the end of the file/],
    ['header length with high word', Uint8Array.of(8, 0, 0, 0, 1, 0, 0, 0), /beyond the end of the file/],
    ['invalid JSON', rawFile(null, data8, '{"x": {"dtype": "F32",'), /header is not valid JSON/],
    ['JSON that is not an object', rawFile([1, 2], []), /not a JSON object/],
    ['unsupported dtype', rawFile({ x: f32([4], 0, 8, 'F16') }, data8), /tensor 'x' \("F16"\) is not F32, the only dtype read; convert before saving \(in PyTorch: \{k: v\.float\(\)/],
    ['several unsupported dtypes, named together', rawFile({ a: f32([1], 0, 8, 'F64'), b: f32([2], 8, 12, 'BF16'), c: f32([1], 12, 16) }, new Uint8Array(16)), /2 tensors, among them 'a' \("F64"\), 'b' \("BF16"\) are not F32/],
    ['bad shape', rawFile({ x: f32([-2], 0, 8) }, data8), /tensor 'x': invalid shape/],
    ['missing offsets', rawFile({ x: { dtype: 'F32', shape: [2] } }, data8), /tensor 'x': invalid data_offsets/],
    ['offsets past the data (a file cut short)', rawFile({ x: f32([4], 0, 16) }, data8), /^the file is cut short: its header places tensor 'x' at bytes 0\.\.16 of the data, which holds only 8 bytes; copy or download the whole file again$/],
    ['offsets reversed', rawFile({ x: f32([0], 8, 0) }, data8), /out of range/],
    ['offsets not matching shape', rawFile({ x: f32([3], 0, 8) }, data8), /tensor 'x': data_offsets span 8 bytes but shape \[3\] of F32 needs 12/],
    [
      'overlapping tensors',
      rawFile({ x: f32([2], 0, 8), y: f32([2], 4, 12) }, new Uint8Array(12)),
      /tensor 'y': data_offsets \[4, 12\] overlapping/,
    ],
    ['hole between tensors', rawFile({ x: f32([1], 0, 4), y: f32([1], 8, 12) }, new Uint8Array(12)), /hole in data section: bytes 4..8/],
    ['trailing garbage', rawFile({ x: f32([2], 0, 8) }, new Uint8Array(11)), /trailing garbage: 3 bytes/],
    ['non-string metadata', rawFile({ __metadata__: { step: 3 }, x: f32([2], 0, 8) }, data8), /__metadata__ value 'step' is not a string/],
    ['entry not an object', rawFile({ x: 5 }, []), /tensor 'x': header entry is not an object/],
  ];
  for (const [label, bytes, message] of cases) {
    it(label, () => {
      let caught: unknown;
      try {
        decodeSafetensors(bytes);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(CheckpointError);
      expect((caught as Error).message).toMatch(message);
    });
  }

  it('truncated real file is refused', () => {
    const file = encodeSafetensors({ w: { shape: [4], data: Float32Array.of(1, 2, 3, 4) } });
    expect(() => decodeSafetensors(file.subarray(0, file.length - 4))).toThrow(/the file is cut short: .*copy or download the whole file again/);
    expect(() => decodeSafetensors(file.subarray(0, 20))).toThrow(/beyond the end of the file/);
  });
});
