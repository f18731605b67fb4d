// The run folder's lock (run-lock.ts) against what other processes and the disk do between two of
// its file operations: a process locking at the same moment never finds the lock empty (it took an
// empty lock for a dead process's and both trained), a process taking over a dead one's lock
// never removes the lock another taker made meanwhile, and a disk too full for the lock is said
// in words, not as an internal error. The file operations are wrapped so that the test can look,
// or act as the other process, between them.
import * as realFs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deadPid, liveProcess } from './helpers/process-ids';

/** Called after each wrapped file operation, with its name and first argument. */
let afterOp: ((op: string, target: unknown) => void) | null = null;
/** Called before each write; throwing from it fails the write. */
let beforeWrite: (() => void) | null = null;

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const after = <F extends (...args: never[]) => unknown>(name: string, f: F) => ((...args: Parameters<F>) => {
    const result = f(...args);
    afterOp?.(name, args[0]);
    return result;
  }) as F;
  const write = <F extends (...args: never[]) => unknown>(f: F) => ((...args: Parameters<F>) => {
    beforeWrite?.();
    return f(...args);
  }) as F;
  const wrapped = {
    openSync: after('openSync', fs.openSync), linkSync: after('linkSync', fs.linkSync), renameSync: after('renameSync', fs.renameSync),
    readFileSync: after('readFileSync', fs.readFileSync), writeSync: write(fs.writeSync), writeFileSync: write(fs.writeFileSync),
  };
  return { ...fs, ...wrapped, default: { ...fs, ...wrapped } };
});

const { LOCK_FILE, lockRunDir } = await import('../src/cli/run-lock');

const root = realFs.mkdtempSync(join(tmpdir(), 'webgpu-vae-lock-races-'));
afterEach(() => {
  afterOp = null;
  beforeWrite = null;
});


describe('the run lock between two file operations', () => {
  it('is never seen empty: it appears holding its process id', () => {
    const dir = join(root, 'appears');
    realFs.mkdirSync(dir);
    const lock = join(dir, LOCK_FILE);
    // What a second process reads whenever the lock is there: an empty lock reads as a dead process's.
    const seen: string[] = [];
    afterOp = (op) => {
      if (op !== 'readFileSync' && realFs.existsSync(lock)) seen.push(realFs.readFileSync(lock, 'utf8'));
    };
    const release = lockRunDir(dir);
    afterOp = null;
    release();
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((s) => s === `${process.pid}\n`), JSON.stringify(seen)).toBe(true);
  });

  it('taking over a dead process\'s lock keeps the lock another process took over meanwhile', () => {
    const dir = join(root, 'taken');
    realFs.mkdirSync(dir);
    const lock = join(dir, LOCK_FILE);
    realFs.writeFileSync(lock, `${deadPid()}\n`);
    const other = liveProcess();
    // Once this process has read the dead process's id, the other takes the lock over.
    let taken = false;
    afterOp = (op, target) => {
      if (taken || op !== 'readFileSync' || target !== lock) return;
      taken = true;
      realFs.writeFileSync(`${lock}.other`, `${other}\n`);
      realFs.renameSync(`${lock}.other`, lock);
    };
    expect(() => lockRunDir(dir)).toThrow(`${dir} is in use by another webgpu-vae train (process ${other})`);
    expect(taken).toBe(true);
    expect(realFs.readFileSync(lock, 'utf8'), 'the other process still holds the folder').toBe(`${other}\n`);
    expect(realFs.readdirSync(dir)).toEqual([LOCK_FILE]);
  });

  it('taking over a dead process\'s lock never leaves a live one\'s lock away for a moment, for a third process to take as well', () => {
    // Three runs started together on a folder a killed run left: one takes the lock over; the one
    // that read the dead id before then moved the new holder's lock aside to look at it, and a
    // third locking meanwhile found no lock and took the folder too (2 holders in 1 of 8 tries).
    const dir = join(root, 'three');
    realFs.mkdirSync(dir);
    const lock = join(dir, LOCK_FILE);
    realFs.writeFileSync(lock, `${deadPid()}\n`);
    const other = liveProcess(), third = liveProcess();
    let taken = false, acting = false;
    const thirdTook: string[] = [];
    afterOp = (op, target) => {
      if (acting) return;
      acting = true;
      try {
        if (!taken) {
          // Once this process has read the dead process's id, the other takes the lock over.
          if (op !== 'readFileSync' || target !== lock) return;
          taken = true;
          realFs.writeFileSync(`${lock}.other`, `${other}\n`);
          realFs.renameSync(`${lock}.other`, lock);
          return;
        }
        // The third, between any two of this process's file operations, locks as a new run does.
        realFs.writeFileSync(`${lock}.third`, `${third}\n`);
        try {
          realFs.linkSync(`${lock}.third`, lock);
          thirdTook.push(op);
        } catch { /* held: refused */ }
        realFs.unlinkSync(`${lock}.third`);
      } finally {
        acting = false;
      }
    };
    expect(() => lockRunDir(dir)).toThrow(`${dir} is in use by another webgpu-vae train (process ${other})`);
    expect(thirdTook, 'the third process found no lock after these operations').toEqual([]);
    expect(realFs.readFileSync(lock, 'utf8'), 'the other process still holds the folder').toBe(`${other}\n`);
    expect(realFs.readdirSync(dir)).toEqual([LOCK_FILE]);
  });

  it('a takeover cut short (its process killed) is named, and refused rather than raced', () => {
    const dir = join(root, 'cut-short');
    realFs.mkdirSync(dir);
    const lock = join(dir, LOCK_FILE), dead = deadPid();
    realFs.writeFileSync(lock, `${dead}\n`);
    realFs.writeFileSync(`${lock}.takeover`, `${dead}\n`);
    expect(() => lockRunDir(dir)).toThrow(`${dir}: process ${dead} was taking over the lock a killed run left there, and it is gone too; ` +
      `if no other webgpu-vae train is starting there now, remove ${lock}.takeover and ${lock}, then run the command again`);
    expect(realFs.readdirSync(dir).sort()).toEqual([LOCK_FILE, `${LOCK_FILE}.takeover`]);
  });

  it('a disk too full for the lock is said in words, and leaves no lock', () => {
    const dir = join(root, 'full');
    realFs.mkdirSync(dir);
    beforeWrite = () => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    };
    let error: unknown;
    try {
      lockRunDir(dir);
    } catch (e) {
      error = e;
    }
    beforeWrite = null;
    expect((error as Error)?.name).toBe('OutputError');
    expect((error as Error).message).toBe(`cannot create ${join(dir, LOCK_FILE)}, the lock that keeps a second train out of ${dir}: the disk is full (ENOSPC); ` +
      'nothing was trained or changed there; free some space on that disk, then run the command again');
    expect(realFs.readdirSync(dir)).toEqual([]);
  });
});
