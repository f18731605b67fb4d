// Reader/writer for the safetensors checkpoint format (F32 tensors only):
//   u64 little-endian N | N bytes of JSON header, space-padded | raw LE data
// where each header entry is {"dtype","shape","data_offsets":[begin,end]} with
// offsets relative to the start of the data, plus an optional "__metadata__"
// map of strings. Files written here load in the Python `safetensors` package
// and vice versa. The decoder checks everything, since checkpoints come from
// disk and a silent misread would corrupt a training run.

/** A checkpoint file is malformed or holds something we cannot load. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/**
 * A file whose tensors are not all F32. It names them, so that a reader which knows the model can
 * tell an unused tensor of another dtype (BatchNorm's int64 num_batches_tracked), which is to be
 * dropped, from a parameter saved in another precision, which is to be converted.
 */
export class DtypeError extends CheckpointError {
  constructor(message: string, readonly otherDtypes: { name: string; dtype: unknown }[]) {
    super(message);
  }
}

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export interface Safetensors {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

const METADATA_KEY = '__metadata__';
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function elementCount(shape: number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

function isValidShape(shape: unknown): shape is number[] {
  return Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0);
}

/** Copies float data as little-endian bytes into `out` at `offset`. */
function writeF32LE(out: Uint8Array, offset: number, data: Float32Array): void {
  if (LITTLE_ENDIAN_HOST) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset + offset, data.byteLength);
  for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i], true);
}

/** Reads little-endian floats into a fresh (hence 4-byte aligned) array; the
 *  source offset inside a file is in general not aligned for a direct view. */
function readF32LE(bytes: Uint8Array, offset: number, count: number): Float32Array {
  const out = new Float32Array(count);
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + 4 * count));
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 4 * count);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

export function encodeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array<ArrayBuffer> {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new CheckpointError(`metadata '${k}' must be a string, got ${typeof v}`);
    }
    header[METADATA_KEY] = metadata;
  }
  const names = Object.keys(tensors).sort();
  let offset = 0;
  for (const name of names) {
    if (name === METADATA_KEY || name === '') throw new CheckpointError(`invalid tensor name '${name}'`);
    const { shape, data } = tensors[name];
    if (!isValidShape(shape) || elementCount(shape) !== data.length) {
      throw new CheckpointError(`tensor '${name}': shape [${shape}] does not match its ${data.length} values`);
    }
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }

  const json = new TextEncoder().encode(JSON.stringify(header));
  // Padding keeps the data section 8-byte aligned in the file, as the format recommends.
  const headerLen = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLen, true);
  view.setUint32(4, Math.floor(headerLen / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const name of names) {
    writeF32LE(out, pos, tensors[name].data);
    pos += tensors[name].data.byteLength;
  }
  return out;
}

function parseHeader(bytes: Uint8Array): { header: Record<string, unknown>; dataStart: number } {
  if (bytes.length < 8) {
    throw new CheckpointError(`file too short (${bytes.length} bytes): no room for the 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (8 + headerLen > bytes.length) {
    throw new CheckpointError(
      `header length ${headerLen} goes beyond the end of the file (${bytes.length} bytes); the file is truncated or not safetensors`,
    );
  }
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
    header = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new CheckpointError('header is not a JSON object: expected {"name": {...}, ...}');
  }
  return { header: header as Record<string, unknown>, dataStart: 8 + headerLen };
}

/** Sets an own property even for names like "__proto__", which plain assignment would turn into
 *  a prototype change, silently dropping the entry. */
function setEntry<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function parseMetadata(raw: unknown): Record<string, string> {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CheckpointError('__metadata__ must be an object of strings');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') throw new CheckpointError(`__metadata__ value '${k}' is not a string`);
    setEntry(out, k, v);
  }
  return out;
}

/** The metadata of a safetensors file, read from its header alone (null where the header or metadata is not readable). */
export function peekMetadata(bytes: Uint8Array): Record<string, string> | null {
  try {
    return parseMetadata(parseHeader(bytes).header[METADATA_KEY]);
  } catch {
    return null;
  }
}

/** The names and dtypes of a safetensors file's tensors, read from its header alone (none where the header is not readable). */
export function peekTensors(bytes: Uint8Array): { name: string; dtype: unknown }[] {
  try {
    return Object.entries(parseHeader(bytes).header).filter(([name]) => name !== METADATA_KEY)
      .map(([name, raw]) => ({ name, dtype: raw && typeof raw === 'object' ? (raw as { dtype?: unknown }).dtype : undefined }));
  } catch {
    return [];
  }
}

/** decodeSafetensors, with `source` (the file) leading the message of any error it finds. */
export function decodeNamed(bytes: Uint8Array, source: string): Safetensors {
  try {
    return decodeSafetensors(bytes);
  } catch (e) {
    if (e instanceof DtypeError) throw new DtypeError(`${source}: ${e.message}`, e.otherDtypes);
    if (e instanceof CheckpointError) throw new CheckpointError(`${source}: ${e.message}`);
    throw e;
  }
}

/**
 * The data bytes a safetensors header's tensors fill when packed (F32, by their valid shapes): a
 * file cut short places its tensors within that much, a damaged header may place one anywhere.
 */
export function packedTensorBytes(header: Record<string, unknown>): number {
  return Object.entries(header).reduce((sum, [name, raw]) => {
    const shape = name === METADATA_KEY ? undefined : (raw as { shape?: unknown } | null)?.shape;
    return isValidShape(shape) ? sum + elementCount(shape) * 4 : sum;
  }, 0);
}

export function decodeSafetensors(bytes: Uint8Array): Safetensors {
  const { header, dataStart } = parseHeader(bytes);
  const dataLen = bytes.length - dataStart;
  const metadata = parseMetadata(header[METADATA_KEY]);

  // Every tensor of another dtype is named at once: a file saved without .float() has many.
  const otherTypes = Object.entries(header).filter(([name, raw]) => name !== METADATA_KEY && typeof raw === 'object' && raw !== null && (raw as { dtype?: unknown }).dtype !== 'F32');
  if (otherTypes.length) {
    const shown = otherTypes.slice(0, 4).map(([name, raw]) => `'${name}' (${JSON.stringify((raw as { dtype?: unknown }).dtype)})`).join(', ');
    throw new DtypeError(`${otherTypes.length === 1 ? 'tensor' : `${otherTypes.length} tensors, among them`} ${shown} ${otherTypes.length === 1 ? 'is not' : 'are not'} F32, the only dtype read; ` +
      'convert before saving (in PyTorch: {k: v.float().contiguous() for k, v in state_dict.items()})', otherTypes.map(([name, raw]) => ({ name, dtype: (raw as { dtype?: unknown }).dtype })));
  }
  const entries: { name: string; shape: number[]; begin: number; end: number }[] = [];
  const packedBytes = packedTensorBytes(header);
  for (const [name, raw] of Object.entries(header)) {
    if (name === METADATA_KEY) continue;
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (typeof info !== 'object' || info === null) {
      throw new CheckpointError(`tensor '${name}': header entry is not an object`);
    }
    if (info.dtype !== 'F32') {
      throw new CheckpointError(`tensor '${name}': unsupported dtype ${JSON.stringify(info.dtype)}; only F32 is supported`);
    }
    if (!isValidShape(info.shape)) {
      throw new CheckpointError(`tensor '${name}': invalid shape ${JSON.stringify(info.shape)}`);
    }
    const offsets = info.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o))) {
      throw new CheckpointError(`tensor '${name}': invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataLen && begin >= 0 && end >= begin && end > packedBytes) {
      throw new CheckpointError(
        `the header is damaged: it places tensor '${name}' at bytes ${begin}..${end} of the data, past both the ${dataLen} bytes the file holds and the ${packedBytes} its tensors' shapes add up to; save or download the file again`,
      );
    }
    if (end > dataLen && begin >= 0 && end >= begin) {
      // The usual cause: a download or copy cut short.
      throw new CheckpointError(
        `the file is cut short: its header places tensor '${name}' at bytes ${begin}..${end} of the data, which holds only ${dataLen} bytes; copy or download the whole file again`,
      );
    }
    if (begin < 0 || end < begin) {
      throw new CheckpointError(`tensor '${name}': data_offsets [${begin}, ${end}] out of range (data section is ${dataLen} bytes)`);
    }
    const expected = elementCount(info.shape) * 4;
    if (end - begin !== expected) {
      throw new CheckpointError(
        `tensor '${name}': data_offsets span ${end - begin} bytes but shape [${info.shape}] of F32 needs ${expected}`,
      );
    }
    entries.push({ name, shape: info.shape, begin, end });
  }

  // The format requires the data section to be tiled exactly: no overlaps, holes or leftovers.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const e of entries) {
    if (e.begin < covered) {
      throw new CheckpointError(`tensor '${e.name}': data_offsets [${e.begin}, ${e.end}] overlapping another tensor`);
    }
    if (e.begin > covered) {
      throw new CheckpointError(`hole in data section: bytes ${covered}..${e.begin} belong to no tensor`);
    }
    covered = e.end;
  }
  if (covered !== dataLen) {
    throw new CheckpointError(`trailing garbage: ${dataLen - covered} bytes after the last tensor`);
  }

  const tensors: Record<string, Tensor> = {};
  for (const e of entries) {
    setEntry(tensors, e.name, { shape: e.shape, data: readF32LE(bytes, dataStart + e.begin, (e.end - e.begin) / 4) });
  }
  return { tensors, metadata };
}
