// Files that survive a crash or a full disk. A checkpoint is written to a temporary file in the
// same folder, flushed to the disk (fsync) and renamed over the target: rename within one file
// system is atomic, so a reader (or a resumed run) sees either the previous complete file or the
// new complete one, never a torn one. The run's metrics log is appended a line at a time with
// direct writes (no buffering in the process), so a crash loses at most the line being written.
import { closeSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Writing an output file failed (disk full, no permission, ...); what was there before is unchanged. */
export class OutputError extends Error {
  override name = 'OutputError';
}

/** Writes `bytes` to an open file; `writeFileAtomic` takes another for tests that fail midway. */
export type ChunkWriter = (fd: number, bytes: Uint8Array) => void;

export const writeAll: ChunkWriter = (fd, bytes) => {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
};

const reason = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** Replaces `path` with `bytes` all at once: temp file beside it, fsync, rename, fsync of the folder. */
export function writeFileAtomic(path: string, bytes: Uint8Array, write: ChunkWriter = writeAll): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  let fd: number | null = null;
  try {
    mkdirSync(dir, { recursive: true });
    fd = openSync(tmp, 'w', 0o644);
    write(fd, bytes);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== null) try { closeSync(fd); } catch { /* already failing; report the first error */ }
    try { unlinkSync(tmp); } catch { /* it may never have been created */ }
    throw new OutputError(`cannot write ${path} (${reason(e)}); the previous ${basename(path)}, if any, is unchanged`);
  }
  syncFolder(dir);
}

/** Makes a rename durable. Some systems cannot open a folder for fsync; the rename itself still stands. */
function syncFolder(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch { /* best effort */ }
}

/** An append-only JSON-lines file, one object per line, written through as each line comes. */
export class JsonLog {
  private fd: number | null;

  /** Opens `path` for appending (`append`) or starts it afresh. */
  constructor(readonly path: string, append: boolean) {
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.fd = openSync(path, append ? 'a' : 'w', 0o644);
      // A crash in the middle of a line leaves it unterminated; start the next line on a line of its own.
      if (append && !endsWithNewline(path)) writeSync(this.fd, '\n');
    } catch (e) {
      throw new OutputError(`cannot open ${path} for writing (${reason(e)})`);
    }
  }

  write(obj: Record<string, unknown>): void {
    if (this.fd === null) return;
    try {
      writeSync(this.fd, JSON.stringify(obj) + '\n');
    } catch (e) {
      throw new OutputError(`cannot append to ${this.path} (${reason(e)})`);
    }
  }

  /** Flushes what was written to the disk (done with every checkpoint, so the log keeps up with it). */
  sync(): void {
    if (this.fd !== null) try { fsyncSync(this.fd); } catch { /* the lines are written; durability is best effort */ }
  }

  close(): void {
    if (this.fd === null) return;
    this.sync();
    closeSync(this.fd);
    this.fd = null;
  }
}

function endsWithNewline(path: string): boolean {
  const size = statSync(path).size;
  if (size === 0) return true;
  const last = Buffer.alloc(1);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, last, 0, 1, size - 1);
  } finally {
    closeSync(fd);
  }
  return last[0] === 0x0a;
}
