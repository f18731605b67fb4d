// One process trains into a run folder at a time. Two `train --out DIR` (or two `--resume DIR`)
// started together both ran, wrote interleaved lines into one metrics.jsonl, and left the
// checkpoint of whichever saved last, each reporting success. A run now holds DIR/.webgpu-vae.lock
// (holding its process id) from before the device starts until it ends; a second process is
// refused, naming the first. A lock whose process is gone (killed, crashed) is taken over. A
// process that restarts its own run (recovery.ts) holds it already. The lock is looked at before
// the folder's files are judged (checkRunDirFree), so that a run in progress is named as such
// whatever it has written so far.
//
// Two processes must never both hold it. The lock appears with its holder's id already in it
// (written to a temporary file, then hard-linked to the lock's name, which fails where the name is
// taken): made empty and written after, it was read empty in between by a process locking at the
// same moment, which took it for a dead process's lock and took it over, and both trained (3 of 20
// pairs of processes that locked within the same millisecond). A dead process's lock is removed
// only by the process that holds DIR/.webgpu-vae.lock.takeover (made as the lock is), which reads
// it again first: no other process removes a lock, so the one read dead there is the one removed,
// and a live run's lock is never away for a moment. (Moved aside to be looked at and put back, a
// new holder's lock was away while a third process locked, which then trained beside it.)
import { closeSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from './args';
import { OutputError, whyWriteFailed, writeFailureFix } from './files';
import { processRuns } from '../data/stale-temps';

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

/** Codes of a file system without hard links (FAT, some network shares): the lock is made in place there. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

const codeOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

/** Makes the lock at `path` holding this process's id; false where a lock is there already. */
function create(path: string): boolean {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${process.pid}\n`);
    try {
      linkSync(tmp, path);
      return true;
    } catch (e) {
      if (codeOf(e) === 'EEXIST') return false;
      if (!NO_HARD_LINKS.has(codeOf(e) ?? '')) throw e;
    }
    return createInPlace(path);
  } catch (e) {
    // A full disk or a folder that takes no files: said in words, before any training time is spent.
    const dir = join(path, '..');
    throw new OutputError(`cannot create ${path}, the lock that keeps a second train out of ${dir}: ${whyWriteFailed(e)}; nothing was trained or changed there; ` +
      `${writeFailureFix(codeOf(e))}, then run the command again`, codeOf(e));
  } finally {
    try { unlinkSync(tmp); } catch { /* never made */ }
  }
}

/** The lock made empty, then written: where hard links cannot be made. */
function createInPlace(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (e) {
    if (codeOf(e) === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } catch (e) {
    try { unlinkSync(path); } catch { /* gone already */ }
    throw e;
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Removes the lock at `path` of run folder `dir`, left by a process that is gone, holding the
 * takeover lock meanwhile; throws where another process holds that (taking the lock over now), or
 * a process killed while it held it.
 */
function removeStale(path: string, dir: string): void {
  const takeover = `${path}.takeover`;
  if (!create(takeover)) {
    const pid = holderOf(takeover);
    if (pid === null || processRuns(pid)) throw claimedMeanwhile(dir);
    // Removing it would race the processes that find it as this one did, as the lock's removal
    // once did: so rare (a kill within a takeover's few file operations) that it is left to the user.
    throw new UsageError(`${dir}: process ${pid} was taking over the lock a killed run left there, and it is gone too; ` +
      `if no other webgpu-vae train is starting there now, remove ${takeover} and ${path}, then run the command again`);
  }
  try {
    if (otherLiveHolder(path) === null) unlinkSync(path);
  } catch { /* gone already */ } finally {
    try { unlinkSync(takeover); } catch { /* gone already */ }
  }
}

const claimedMeanwhile = (dir: string) => new UsageError(`${dir} is being claimed by another webgpu-vae train at the same time; give this run another --out`);

/**
 * The refusal of a folder whose lock names a live process. The id may have been given to another
 * program since the run that held the folder was killed (after a restart, in a new container),
 * which would keep the folder locked for as long as that program runs: the message says how to
 * tell, and how to free the folder, rather than to stop a process that may be no run at all.
 */
function inUse(dir: string, pid: number): UsageError {
  return new UsageError(`${dir} is in use by another webgpu-vae train (process ${pid}); wait for it to end, or stop it (kill -INT ${pid} saves its checkpoint first); ` +
    `a new run can take another --out. If process ${pid} is not webgpu-vae (see \`ps -p ${pid}\`: the run that held the folder was killed and its id reused), ` +
    `remove ${join(dir, LOCK_FILE)} and run the command again`);
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
 * naming the process that holds it (an OutputError where no lock can be made there: a full disk).
 * Returns the function that gives it back.
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
  try {
    for (let attempt = 0; !create(path); attempt++) {
      const pid = otherLiveHolder(path);
      if (pid !== null) throw inUse(dir, pid);
      // Left by a process that is gone: taken over (once; a third process racing us wins).
      if (attempt > 0) throw claimedMeanwhile(dir);
      removeStale(path, dir);
    }
  } catch (e) {
    // A refused run leaves no empty folder behind where there was none.
    if (madeDir) try { rmdirSync(dir); } catch { /* something was put there meanwhile */ }
    throw e;
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
