// One process trains into a run folder at a time. Two `train --out DIR` (or two `--resume DIR`)
// started together both ran, wrote interleaved lines into one metrics.jsonl, and left the
// checkpoint of whichever saved last, each reporting success. A run now holds DIR/.webgpu-vae.lock
// (created exclusively, holding its process id) from before the device starts until it ends; a
// second process is refused, naming the first. A lock whose process is gone (killed, crashed) is
// taken over. A process that restarts its own run (recovery.ts) holds it already. The lock is
// looked at before the folder's files are judged (checkRunDirFree), so that a run in progress is
// named as such whatever it has written so far.
import { mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from './args';
import { processRuns } from './files';

export const LOCK_FILE = '.webgpu-vae.lock';

/** The locks this process holds, by folder, with how many holders and whether it made the folder. */
const held = new Map<string, { count: number; madeDir: boolean }>();

function holderOf(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function create(path: string): boolean {
  try {
    const fd = openSync(path, 'wx');
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

function inUse(dir: string, pid: number): UsageError {
  return new UsageError(`${dir} is in use by another webgpu-vae train (process ${pid}); wait for it to end, or stop it (kill -INT ${pid} saves its checkpoint first); a new run can take another --out`);
}

/** The live process other than this one whose lock `path` holds, or null. */
function otherLiveHolder(path: string): number | null {
  const pid = holderOf(path);
  return pid !== null && pid !== process.pid && processRuns(pid) ? pid : null;
}

/**
 * Refuses run folder `dir` while another live process holds its lock, naming that process,
 * without taking the lock. Called before the folder's files are judged: a run that has not yet
 * written its first checkpoint leaves files that would otherwise be refused for what they are
 * (no training state to resume, files a new run would overwrite) rather than for who holds them.
 */
export function checkRunDirFree(dir: string): void {
  if (held.has(dir)) return;
  const pid = otherLiveHolder(join(dir, LOCK_FILE));
  if (pid !== null) throw inUse(dir, pid);
}

/**
 * Takes the lock of run folder `dir` (made if missing) for this process, or throws a UsageError
 * naming the process that holds it. Returns the function that gives it back.
 */
export function lockRunDir(dir: string): () => void {
  const mine = held.get(dir);
  if (mine) {
    mine.count++;
    return () => release(dir);
  }
  let madeDir = false;
  try {
    madeDir = mkdirSync(dir, { recursive: true }) !== undefined;
  } catch {
    // Not a folder we can make: the checks that follow say what is wrong with the path.
    return () => {};
  }
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; !create(path); attempt++) {
    const pid = otherLiveHolder(path);
    if (pid !== null) throw inUse(dir, pid);
    // Left by a process that is gone: taken over (once; a third process racing us wins).
    if (attempt > 0) throw new UsageError(`${dir} is being claimed by another webgpu-vae train at the same time; give this run another --out`);
    try { unlinkSync(path); } catch { /* removed by another process meanwhile */ }
  }
  held.set(dir, { count: 1, madeDir });
  return () => release(dir);
}

function release(dir: string): void {
  const mine = held.get(dir);
  if (!mine || --mine.count > 0) return;
  held.delete(dir);
  try { unlinkSync(join(dir, LOCK_FILE)); } catch { /* already gone */ }
  // A refused run leaves no empty folder behind where there was none.
  if (mine.madeDir) {
    try { if (readdirSync(dir).length === 0) rmdirSync(dir); } catch { /* kept */ }
  }
}

/** Gives back every lock at once: for a process about to end by a signal, which runs no finally. */
export function releaseAllRunLocks(): void {
  for (const [dir, mine] of [...held]) {
    mine.count = 1;
    release(dir);
  }
}

process.on('exit', releaseAllRunLocks);
