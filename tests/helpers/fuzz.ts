// Seeded fuzzing for the file readers: a small deterministic generator, byte-level mutations, and a
// runner that checks every case ends either in a well-formed result or in the reader's own error
// type with a message, never in another error, a long computation or a large allocation.

/** A tiny deterministic generator (xorshift32), independent of the library's RNG. */
export class FuzzRng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed * 2654435761 + 0x9e3779b9) >>> 0 || 1;
  }
  u32(): number {
    let s = this.s;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.s = s >>> 0;
    return this.s;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 2 ** 32) * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => this.u32() & 255);
  }
}

/** u32 values that break size arithmetic: zero, one, powers of two and all-ones. */
export const EDGE_U32 = [0, 1, 2, 3, 255, 256, 65535, 65536, 2 ** 24, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1] as const;

/** One random byte-level mutation of `bytes` (a new array), and its name for failure reports. */
export function mutateBytes(bytes: Uint8Array, r: FuzzRng): { bytes: Uint8Array; how: string } {
  const n = bytes.length;
  const at = () => r.int(Math.max(n, 1));
  switch (r.int(8)) {
    case 0: {
      const len = r.int(n + 1);
      return { bytes: bytes.slice(0, len), how: `truncated to ${len}` };
    }
    case 1: {
      const out = bytes.slice();
      const flips = 1 + r.int(8);
      for (let i = 0; i < flips && n > 0; i++) out[at()] ^= 1 << r.int(8);
      return { bytes: out, how: `${flips} bit flips` };
    }
    case 2: {
      const out = bytes.slice();
      const i = at();
      if (n > 0) out[i] = r.pick([0x00, 0xff, 0x7f, 0x80, 0x20, 0x22, 0x7b, 0x5d]);
      return { bytes: out, how: `byte ${i} overwritten` };
    }
    case 3: {
      const i = r.int(n + 1);
      const extra = r.bytes(1 + r.int(16));
      return { bytes: new Uint8Array([...bytes.subarray(0, i), ...extra, ...bytes.subarray(i)]), how: `${extra.length} bytes inserted at ${i}` };
    }
    case 4: {
      const i = at();
      const len = 1 + r.int(16);
      return { bytes: new Uint8Array([...bytes.subarray(0, i), ...bytes.subarray(i + len)]), how: `${len} bytes deleted at ${i}` };
    }
    case 5:
      return { bytes: new Uint8Array([...bytes, ...r.bytes(1 + r.int(64))]), how: 'garbage appended' };
    case 6: {
      const out = bytes.slice();
      const i = at();
      const v = r.pick(EDGE_U32);
      if (i + 4 <= n) new DataView(out.buffer).setUint32(i, v, r.int(2) === 0);
      return { bytes: out, how: `u32 ${v} written at ${i}` };
    }
    default: {
      const i = at();
      const len = 1 + r.int(32);
      const j = at();
      const out = bytes.slice();
      out.set(bytes.subarray(i, Math.min(n, i + len)).subarray(0, Math.max(0, n - j)), j);
      return { bytes: out, how: `slice ${i}+${len} copied to ${j}` };
    }
  }
}

export interface FuzzReport {
  cases: number;
  succeeded: number;
  refused: number;
  failures: string[];
  slowestMs: number;
  /** CPU time of all cases together. */
  totalMs: number;
  largestGrowthBytes: number;
}

export function newReport(): FuzzReport {
  return { cases: 0, succeeded: 0, refused: 0, failures: [], slowestMs: 0, totalMs: 0, largestGrowthBytes: 0 };
}

/** Most CPU time a single case may use (CPU, not wall time, so a busy machine does not fail it),
 *  and most its ArrayBuffer memory may grow while it runs. */
export const CASE_LIMIT_MS = 2000;
export const CASE_GROWTH_LIMIT = 256 * 2 ** 20;

/**
 * Runs one case: `read` must return a result that `valid` accepts, or throw `errorType` with a
 * non-empty message. Anything else is recorded in the report's failures with `label`.
 */
export async function fuzzCase<T>(
  report: FuzzReport,
  label: string,
  errorType: abstract new (...args: never[]) => Error,
  read: () => T | Promise<T>,
  valid: (result: T) => string | null,
): Promise<void> {
  report.cases++;
  const before = process.memoryUsage().arrayBuffers;
  const start = process.cpuUsage();
  let problem: string | null = null;
  try {
    const result = await read();
    problem = valid(result);
    if (!problem) report.succeeded++;
  } catch (e) {
    if (!(e instanceof errorType)) problem = `threw ${(e as Error)?.name ?? typeof e}: ${(e as Error)?.message ?? String(e)}`;
    else if (!e.message || e.message.length < 10) problem = `threw ${e.name} with no useful message: '${e.message}'`;
    else report.refused++;
  }
  const cpu = process.cpuUsage(start);
  const ms = (cpu.user + cpu.system) / 1000;
  const growth = process.memoryUsage().arrayBuffers - before;
  report.slowestMs = Math.max(report.slowestMs, ms);
  report.totalMs += ms;
  report.largestGrowthBytes = Math.max(report.largestGrowthBytes, growth);
  if (ms > CASE_LIMIT_MS) problem = `${problem ? problem + '; ' : ''}took ${ms.toFixed(0)} ms of CPU`;
  if (growth > CASE_GROWTH_LIMIT) problem = `${problem ? problem + '; ' : ''}grew ArrayBuffer memory by ${(growth / 2 ** 20).toFixed(0)} MiB`;
  if (problem) report.failures.push(`${label}: ${problem}`);
}

/** Standard CRC-32 (as PNG chunks use), so mutated chunks can be made to pass the CRC check. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
