// Files that survive a crash or a full disk. A checkpoint is written to a temporary file in the
// same folder, flushed to the disk (fsync) and renamed over the target: rename within one file
// system is atomic, so a reader (or a resumed run) sees either the previous complete file or the
// new complete one, never a torn one. The run's metrics log is appended a line at a time with
// direct writes (no buffering in the process), so a crash loses at most the line being written.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { removeStaleTemps } from '../data/stale-temps';

/**
 * Writing an output file failed (disk full, no permission, ...); what was there before is
 * unchanged. `code` (ENOSPC, ...) and `path` are the failed write's, for the command to say what
 * to do next; an error that already says so carries neither.
 */
export class OutputError extends Error {
  override name = 'OutputError';
  constructor(message: string, readonly code?: string, readonly path?: string) {
    super(message);
  }
}

/** What a write's error code means, in words; a code can look alike for many causes, so it is named too. */
const CODE_WORDS: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EACCES: 'not allowed: no permission to write there',
  EPERM: 'not allowed: the system refuses writes there',
  EROFS: 'the file system is read-only',
  EISDIR: 'a folder has that name',
  ENOTDIR: 'a part of the path is a file, not a folder',
  ENOENT: 'the folder does not exist',
  EIO: 'the disk reported an input/output error',
  EFBIG: 'the file is larger than the file system allows',
  ENAMETOOLONG: 'the path is too long',
  EMFILE: 'too many files are open',
  ENFILE: 'too many files are open',
};

/** What to do about a write that failed with `code`, phrased to go before ", then ..."; null when the code says nothing to do. */
const CODE_FIXES: Record<string, string> = {
  ENOSPC: 'free some space on that disk',
  EDQUOT: 'free some space within your disk quota',
  EACCES: 'make the folder writable for you',
  EPERM: 'make the folder writable for you',
  EROFS: 'remount that file system read-write',
  EISDIR: 'remove or rename that folder',
  ENOTDIR: 'remove or rename the file that stands where a folder of the path belongs',
  ENOENT: 'create the folder',
  EIO: 'check the disk',
  EFBIG: 'write to a file system that takes larger files',
  EMFILE: 'close other programs',
  ENFILE: 'close other programs',
};

const codeOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | null)?.code ?? undefined;

/** Why a write failed, in words that follow "cannot write PATH:": "the disk is full (ENOSPC)". */
export function whyWriteFailed(e: unknown): string {
  const code = codeOf(e);
  if (code && CODE_WORDS[code]) return `${CODE_WORDS[code]} (${code})`;
  return (e as Error)?.message ?? String(e);
}

/** What to do about a write that failed with `code` (an OutputError's), or the plain 'fix that' when the code does not say. */
export function writeFailureFix(code: string | undefined): string {
  return (code && CODE_FIXES[code]) || 'fix that';
}

/** Writes `bytes` to an open file; `writeFileAtomic` takes another for tests that fail midway. */
export type ChunkWriter = (fd: number, bytes: Uint8Array) => void;

export const writeAll: ChunkWriter = (fd, bytes) => {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
};

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
    throw new OutputError(`cannot write ${path}: ${whyWriteFailed(e)}; the previous ${basename(path)}, if any, is unchanged`, codeOf(e), path);
  }
  syncFolder(dir);
}

/**
 * Removes the temporary files that writeFileAtomic left in `dir` for the files named `names`
 * when its process was killed mid-write (kill -9, power loss): `.NAME.PID.tmp`, whose PID no
 * longer runs. A file whose writer still runs (another process writing the folder) is left, and
 * so is every other file. This process's own PID counts as gone: its writes are synchronous, so
 * none of its temporary files is open now, and one of that name is from an earlier process that
 * had the same PID (usual in containers). Returns the paths removed.
 */
export function removeStaleTempFiles(dir: string, names: readonly string[]): string[] {
  return removeStaleTemps(dir, (entry) => {
    const m = /^\.(.+)\.([1-9]\d*)\.tmp$/.exec(entry);
    return m && names.includes(m[1]!) ? Number(m[2]) : null;
  }, true);
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
      throw new OutputError(`cannot open ${path} for writing: ${whyWriteFailed(e)}`, codeOf(e), path);
    }
  }

  write(obj: Record<string, unknown>): void {
    if (this.fd === null) return;
    try {
      writeSync(this.fd, JSON.stringify(obj) + '\n');
    } catch (e) {
      throw new OutputError(`cannot append to ${this.path}: ${whyWriteFailed(e)}`, codeOf(e), this.path);
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
