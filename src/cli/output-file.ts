// The picture a command writes with --out (sample, traverse, reconstruct, interpolate) replaces
// whatever file is there, so it is checked against what the user stands to lose before any device
// starts, and again just before the write:
//   - the checkpoint the command reads (the same file under any name): the model would be lost;
//   - a path inside the --data-dir the command reads: the picture would replace one of the data
//     set's pictures, or join them and change the data (and the held-out split) the next run reads;
//   - an existing file that is not a PNG picture (a checkpoint, a training state, config.json,
//     anything else named .png by mistake): nothing the command writes is meant to replace it.
// An existing PNG outside the data folder is replaced, as re-running `sample --out samples.png` does.
import { closeSync, openSync, readSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { UsageError } from './args';
import { notSafetensors } from './checkpoint-file';
import { OutputError, writeFailureFix } from './files';
import { writeOutput } from './io';

/** What a picture command reads, which its --out must not replace. */
export interface PictureInputs {
  checkpoint: string;
  /** The --data-dir the command reads, when it reads one. */
  dataDir?: string;
  /** The picture folder the run that wrote the checkpoint trained on (its record's --data-dir), if any. */
  runFolder?: string | null;
}

/** An example --out for each picture command, for the refusals' fixes. */
const EXAMPLE_OUT: Record<string, string> = {
  sample: 'samples.png',
  traverse: 'traversal.png',
  reconstruct: 'reconstructions.png',
  interpolate: 'interpolation.png',
};

/** `path` with the links in its existing part resolved, so that a folder reached through a link is still the same folder. */
export function realPath(path: string): string {
  const absolute = resolve(path);
  let head = absolute;
  const tail: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(head), ...tail);
    } catch {
      if (head === dirname(head)) return absolute;
      tail.unshift(basename(head));
      head = dirname(head);
    }
  }
}

/** Whether path `a` is `b` or lies inside it (links in either resolved). */
export function isInside(a: string, b: string): boolean {
  const rel = relative(realPath(b), realPath(a));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** What the existing file at `path` is, when it is neither a PNG picture nor empty; null otherwise. */
function notAPicture(path: string, size: number): string | null {
  if (size === 0) return null; // nothing to lose
  const head = new Uint8Array(Math.min(size, 4096));
  let fd: number | null = null;
  try {
    fd = openSync(path, 'r');
    readSync(fd, head, 0, head.length, 0);
  } catch {
    return null; // unreadable here: the write itself says why it fails
  } finally {
    if (fd !== null) closeSync(fd);
  }
  if (PNG.every((b, i) => head[i] === b)) return null;
  // A safetensors file: an 8-byte header length that fits the file, then the header's '{'.
  if (head.length >= 9 && head[8] === 0x7b) {
    const view = new DataView(head.buffer);
    const headerLen = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
    if (headerLen >= 2 && 8 + headerLen <= size) return 'a safetensors file: a model or a training state';
  }
  // Only the head was read, so notSafetensors may call a file cut off that is not: say no more than "not a PNG".
  const kind = notSafetensors(head);
  return kind === null || kind === 'truncated' || kind === 'not a safetensors file' ? 'not a PNG picture' : kind;
}

/**
 * Refuses an --out that would replace the checkpoint, land inside the data folder, or replace a
 * file that is not a PNG picture; each refusal names the file and asks for another --out.
 */
export function checkPictureOut(command: string, out: string, inputs: PictureInputs): void {
  const example = EXAMPLE_OUT[command] ?? 'picture.png';
  const fix = `choose another --out (e.g. ${example})`, outside = `choose an --out outside it (e.g. ${example})`;
  const existing = statOrNull(out);
  const checkpoint = statOrNull(inputs.checkpoint);
  if (existing && checkpoint && existing.dev === checkpoint.dev && existing.ino === checkpoint.ino) {
    throw new UsageError(`--out ${out} is the checkpoint this command reads (--checkpoint ${inputs.checkpoint}): the picture would replace the model; ${fix}`);
  }
  if (inputs.dataDir && isInside(out, inputs.dataDir)) {
    throw new UsageError(`--out ${out} is inside --data-dir ${inputs.dataDir}: the picture would replace or join the pictures the command reads; ${outside}`);
  }
  // Read or not by this command, the run's own folder is the checkpoint's data set: a picture
  // there would join it, and later commands would read it as one of the pictures.
  if (inputs.runFolder && isInside(out, inputs.runFolder)) {
    throw new UsageError(`--out ${out} is inside ${inputs.runFolder}, the picture folder the run that wrote the checkpoint trained on: the picture would join its pictures; ${outside}`);
  }
  const kind = existing?.isFile() ? notAPicture(out, existing.size) : null;
  if (kind) throw new UsageError(`--out ${out} already exists and is ${kind === 'not a PNG picture' ? kind : `not a PNG picture (it is ${kind})`}; the picture would replace it: ${fix}`);
}

/** Writes a command's picture, checked once more (a file may have appeared at --out since the flags were checked). */
export async function writePicture(command: string, out: string, bytes: Uint8Array, inputs: PictureInputs): Promise<void> {
  checkPictureOut(command, out, inputs);
  try {
    await writeOutput(out, bytes);
  } catch (e) {
    if (!(e instanceof OutputError)) throw e;
    // The picture is not kept, but drawing it again is the same command: say what to fix first.
    throw new OutputError(`${e.message}; ${writeFailureFix(e.code)} or choose another --out (e.g. ${EXAMPLE_OUT[command] ?? 'picture.png'} elsewhere), then run the command again`);
  }
}
