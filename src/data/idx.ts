// Reader for IDX files (the MNIST container format): a big-endian header
// (0x00 0x00 <type> <ndims>, then ndims u32 sizes) followed by raw data.
// Only unsigned-byte data (type 0x08) is supported, which covers MNIST and
// Fashion-MNIST. No Node-only imports, so browsers can use it on fetched bytes.

/** A dataset file is missing, corrupt or of the wrong kind. */
export class DataError extends Error {
  override name = 'DataError';
}

export interface IdxData {
  dims: number[];
  data: Uint8Array;
}

const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'short (i16)',
  0x0c: 'int (i32)',
  0x0d: 'float (f32)',
  0x0e: 'double (f64)',
};

const REDOWNLOAD = 'Download the file again (it may be truncated or corrupt).';

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Parses an uncompressed IDX file. `name` is used in error messages only.
 *  The returned data is a view into `bytes` (no copy). */
export function parseIdx(bytes: Uint8Array, name: string): IdxData {
  if (isGzip(bytes)) {
    throw new DataError(
      `${name}: file is gzip-compressed. Decompress it (gunzip ${name}) or load it with parseIdxMaybeGzip.`,
    );
  }
  if (bytes.length < 4) {
    throw new DataError(`${name}: not an IDX file (only ${bytes.length} bytes, too short for a header). ${REDOWNLOAD}`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new DataError(
      `${name}: not an IDX file (bad magic ${magic}; expected 00 00 08 01 for labels or 00 00 08 03 for images). ` +
        'Check that the path points at an MNIST-style idx1/idx3 file.',
    );
  }
  const type = bytes[2];
  const ndims = bytes[3];
  if (type !== 0x08) {
    const kind = TYPE_NAMES[type] ?? 'unknown';
    throw new DataError(
      `${name}: unsupported IDX data type 0x${type.toString(16).padStart(2, '0')} (${kind}); ` +
        'only unsigned-byte (0x08) files such as MNIST are supported. Convert the data to u8 first.',
    );
  }
  if (ndims === 0) {
    throw new DataError(`${name}: IDX header declares 0 dimensions. ${REDOWNLOAD}`);
  }
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new DataError(
      `${name}: not an IDX file (header needs ${headerBytes} bytes for ${ndims} dimensions, file has ${bytes.length}). ${REDOWNLOAD}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  const have = bytes.length - headerBytes;
  if (have !== count) {
    const what = have < count ? 'truncated' : 'has trailing bytes';
    throw new DataError(
      `${name}: size mismatch, file ${what}: header says ${count} data bytes (dims ${dims.join('x')}), ` +
        `file has ${have}. ${REDOWNLOAD}`,
    );
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/** Most bytes a gzip file may decompress to (1 GiB; MNIST's largest file is 47 MB). A stream that
 *  goes on past it is abandoned, so a small corrupt or hostile file cannot exhaust memory. */
export const MAX_GUNZIP_BYTES = 2 ** 30;

/** gunzip via the web-standard DecompressionStream, present in Node >= 18 and
 *  browsers, so this module needs no node:zlib import. */
export async function gunzip(bytes: Uint8Array, name: string, maxBytes = MAX_GUNZIP_BYTES): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    // Copy into a fresh ArrayBuffer-backed array; Blob rejects shared buffers.
    const reader = new Blob([new Uint8Array(bytes)]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel();
        throw new DataError(`${name}: decompresses to more than ${maxBytes} bytes, more than any data set this reader takes. ${REDOWNLOAD}`);
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`${name}: gzip data is corrupt (${(e as Error).message}). ${REDOWNLOAD}`);
  }
  return concatChunks(chunks, total);
}

/** The chunks of a stream, `total` bytes in all, as one array. */
function concatChunks(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * The bytes an IDX file declares (header and data), from its first bytes: null while they do not
 * yet hold the whole header; their own length when they are no u8 IDX header (parseIdx names the fault).
 */
function idxDeclaredBytes(head: Uint8Array): number | null {
  if (head.length < 4) return null;
  if (head[0] !== 0 || head[1] !== 0 || head[2] !== 0x08 || head[3] === 0) return head.length;
  const headerBytes = 4 + 4 * head[3];
  if (head.length < headerBytes) return null;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let count = 1;
  for (let i = 0; i < head[3]; i++) count *= view.getUint32(4 + 4 * i, false);
  return headerBytes + count;
}

/**
 * gunzip that stops once the output passes what `declared` (given the output so far) says the
 * content holds: a small file that inflates far past its own header is refused at that point,
 * not after up to MAX_GUNZIP_BYTES were inflated and copied. `more`: the stream went on past it.
 */
async function gunzipDeclared(bytes: Uint8Array, name: string, declared: (head: Uint8Array) => number | null): Promise<{ data: Uint8Array; more: boolean }> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let limit: number | null = null;
  const joined = () => concatChunks(chunks, total);
  try {
    const reader = new Blob([new Uint8Array(bytes)]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.length;
      if (limit === null) limit = declared(joined());
      const cap = Math.min(limit ?? MAX_GUNZIP_BYTES, MAX_GUNZIP_BYTES);
      if (total > cap) {
        await reader.cancel();
        if (limit === null || limit > MAX_GUNZIP_BYTES) {
          throw new DataError(`${name}: decompresses to more than ${MAX_GUNZIP_BYTES} bytes, more than any data set this reader takes. ${REDOWNLOAD}`);
        }
        return { data: joined().subarray(0, limit), more: true };
      }
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`${name}: gzip data is corrupt (${(e as Error).message}). ${REDOWNLOAD}`);
  }
  return { data: joined(), more: false };
}

/** Like parseIdx, but transparently decompresses gzip (.gz) files first. */
export async function parseIdxMaybeGzip(bytes: Uint8Array, name: string): Promise<IdxData> {
  if (!isGzip(bytes)) return parseIdx(bytes, name);
  const { data, more } = await gunzipDeclared(bytes, name, idxDeclaredBytes);
  if (!more) return parseIdx(data, name);
  // Stopped at its header's size: parseIdx names a bad header; a good one was followed by more data.
  const { dims } = parseIdx(data, name);
  throw new DataError(
    `${name}: size mismatch, file has trailing bytes: it decompresses to more than the ${data.length} bytes its header declares (dims ${dims.join('x')}); ` +
      `decompression was stopped there. ${REDOWNLOAD}`,
  );
}
