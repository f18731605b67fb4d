// Path flags, checked as soon as the flags are parsed, so a wrong path is refused before a device
// is acquired, data is loaded or anything is written. Each path flag has a rule:
//   file    a file to read: it exists, is a regular file (not a folder, a FIFO that would block
//           the read, or a symbolic link to nothing) and opens for reading;
//   folder  a folder to read (--data-dir): it exists, is a folder and can be listed;
//   run-folder  a run to continue (--resume): a folder as above that is also writable, since the
//           resumed run writes its checkpoints there;
//   output-folder  a folder to write (train --out): a folder if it exists, and writable, or else
//           creatable where it would be created;
//   output-file    a file to write (sample --out): not a folder, in a writable folder;
//   model   a trained model (--checkpoint, train --init-from): a file as above, or a run folder
//           whose model.safetensors is one (--checkpoint's value becomes that file: modelFileOf).
// Writability is tried, not asked: access(2) says yes to root even where writing fails (/sys,
// read-only mounts), so a temporary folder is made and removed in the nearest existing folder.
import { closeSync, constants, existsSync, lstatSync, mkdtempSync, openSync, readdirSync, rmdirSync, statSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { shellQuote } from './self-name';
import { CIFAR10_FOLDER } from '../data/cifar10';

export type PathRule = 'file' | 'folder' | 'run-folder' | 'output-folder' | 'output-file' | 'model';

/** Rules by `command --flag`, or by `--flag` for every command. */
export const PATH_FLAGS: Record<string, PathRule> = {
  '--checkpoint': 'model',
  '--data-dir': 'folder',
  '--resume': 'run-folder',
  '--init-from': 'model',
  'train --out': 'output-folder',
  'sample --out': 'output-file',
  'traverse --out': 'output-file',
  'reconstruct --out': 'output-file',
  'interpolate --out': 'output-file',
};

/** Where the files of a data set that needs --data-dir come from; undefined for one that needs none. */
export function dataFilesFrom(dataset: string): string | undefined {
  return dataset === 'cifar10' ? CIFAR10_FOLDER : dataset === 'folder' ? 'a folder of PNG or JPEG pictures; subfolders are read too' : undefined;
}

/** What --data-dir should hold, by --dataset (mnist when none is given). */
const DATA_DIR_FIXES: Record<string, string> = {
  mnist: 'give the folder that holds the IDX files (train-images-idx3-ubyte and the rest, optionally .gz)',
  'fashion-mnist': 'give the folder that holds the IDX files (train-images-idx3-ubyte and the rest, optionally .gz)',
  cifar10: `give the folder that holds CIFAR-10's binary batches (data_batch_1.bin ... data_batch_5.bin, test_batch.bin: ${CIFAR10_FOLDER})`,
  folder: 'give a folder of PNG or JPEG pictures (subfolders are read too)',
};

/** What --data-dir holds for each kind of data set, where the flags do not say which. */
const DATA_DIR_OF_ANY = "the IDX files for MNIST and Fashion-MNIST (train-images-idx3-ubyte and the rest, optionally .gz), CIFAR-10's binary batches, or PNG or JPEG pictures for a folder run";

/** What to do instead, by `command --flag` or `--flag`; a function reads the other flags' values. */
const FIXES: Record<string, string | ((values: Record<string, unknown>) => string)> = {
  '--checkpoint': 'give a run folder that has saved a checkpoint (e.g. runs/NAME) or a .safetensors file written by `webgpu-vae train` (e.g. runs/NAME/model.safetensors)',
  // A resumed run or a checkpoint names its own data set, which the flags do not show yet.
  '--data-dir': (values) => values.dataset !== undefined ? DATA_DIR_FIXES[String(values.dataset)] ?? DATA_DIR_FIXES.mnist!
    : values.resume !== undefined || values.checkpoint !== undefined ? `give the folder of the data set the model was trained on: ${DATA_DIR_OF_ANY}`
    : DATA_DIR_FIXES.mnist!,
  '--resume': 'give the folder of a run (e.g. runs/NAME)',
  '--init-from': 'give a run folder that has saved a checkpoint (e.g. runs/NAME) or its model.safetensors',
  'train --out': 'choose another folder for the run (e.g. runs/NAME)',
  'sample --out': 'give a .png file name in a folder you can write (e.g. samples.png)',
  'traverse --out': 'give a .png file name in a folder you can write (e.g. traversal.png)',
  'reconstruct --out': 'give a .png file name in a folder you can write (e.g. reconstructions.png)',
  'interpolate --out': 'give a .png file name in a folder you can write (e.g. interpolation.png)',
};

export function pathRule(command: string, flag: string): PathRule | undefined {
  return PATH_FLAGS[`${command} --${flag}`] ?? PATH_FLAGS[`--${flag}`];
}

const code = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (e) {
    if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') return null;
    throw e;
  }
}

/** Why `path` does not exist: nothing there, a dangling link, or a file where a folder is on the way. */
function missing(path: string): string {
  // "photo.png/": the trailing slash asks for a folder where a file is (stat fails with ENOTDIR).
  const bare = statOrNull(resolve(path));
  if (bare && !bare.isDirectory()) return 'is a file, not a folder';
  try {
    if (lstatSync(path).isSymbolicLink()) return 'is a symbolic link to a path that does not exist';
  } catch { /* not a link either */ }
  for (let dir = dirname(resolve(path)); dir !== dirname(dir); dir = dirname(dir)) {
    const s = statOrNull(dir);
    if (s && !s.isDirectory()) return `cannot exist: ${dir} is a file, not a folder`;
    if (s) break;
  }
  return 'does not exist';
}

/** Null when a file can be created in `dir` (tried: a temporary folder made and removed), else why not. */
function unwritable(dir: string): string | null {
  let at = resolve(dir);
  let s = statOrNull(at);
  while (!s) {
    at = dirname(at);
    s = statOrNull(at);
  }
  if (!s.isDirectory()) return `cannot be created: ${at} is a file, not a folder`;
  try {
    rmdirSync(mkdtempSync(join(at, '.webgpu-vae-write-test-')));
    return null;
  } catch (e) {
    return `is not writable: cannot create files in ${at} (${code(e)})`;
  }
}

function kindOf(s: Stats): string {
  return s.isFIFO() ? 'a FIFO (named pipe)' : s.isSocket() ? 'a socket' : s.isCharacterDevice() || s.isBlockDevice() ? 'a device' : 'not a regular file';
}

/**
 * The fix for a run folder that cannot be written: it is the right folder, so make it writable or
 * resume a copy. On a read-only file system (`why` names EROFS) no chmod helps: it is remounted.
 */
export function unwritableRunFix(dir: string, why = ''): string {
  const make = why.includes('(EROFS)') ? 'its file system is mounted read-only: remount it read-write'
    : `make it writable (e.g. \`chmod -R u+w ${shellQuote(dir)}\` as its owner)`;
  return `a resumed run writes its checkpoints into its folder: ${make}, ` +
    `or copy the folder to a place you can write (\`cp -r ${shellQuote(dir)} COPY\`) and resume the copy (--resume COPY)`;
}

/** Why the path is unusable, or that and the fix when the flag's usual fix does not fit. */
function problem(rule: PathRule, path: string): string | [why: string, fix: string] | null {
  const s = statOrNull(path);
  switch (rule) {
    case 'file':
      if (!s) return missing(path);
      if (s.isDirectory()) return 'is a folder, not a file';
      if (!s.isFile()) return `is ${kindOf(s)}, not a file that can be read`;
      try {
        closeSync(openSync(path, constants.O_RDONLY));
      } catch (e) {
        return `cannot be read (${code(e)})`;
      }
      return null;
    case 'folder':
    case 'run-folder':
      if (!s) return missing(path);
      if (!s.isDirectory()) return s.isFile() ? 'is a file, not a folder' : `is ${kindOf(s)}, not a folder`;
      try {
        readdirSync(path);
      } catch (e) {
        return `cannot be read (${code(e)})`;
      }
      if (rule === 'run-folder') {
        const why = unwritable(path);
        // A run that cannot be written to is still a run: the fix is write access, not another folder.
        return why && existsSync(join(path, 'training-state.safetensors')) ? [why, unwritableRunFix(path, why)] : why;
      }
      return null;
    case 'output-folder':
      if (s && !s.isDirectory()) return 'is a file, not a folder';
      return unwritable(path);
    case 'output-file':
      if (s?.isDirectory()) return 'is a folder, not a file';
      if (s && !s.isFile()) return `is ${kindOf(s)}, not a file that can be replaced`;
      return unwritable(dirname(path));
    case 'model': {
      if (!s?.isDirectory()) return problem('file', path);
      const inside = problem('file', join(path, 'model.safetensors')) as string | null;
      return inside && `is a folder whose model.safetensors ${inside}`;
    }
  }
}

/** The one-line refusal for a path flag's value, or null when the path is usable (or the flag is not a path). */
export function pathProblem(command: string, flag: string, value: string, values: Record<string, unknown> = {}): string | null {
  const rule = pathRule(command, flag);
  if (!rule || value === '') return null;
  const found = problem(rule, value);
  if (!found) return null;
  if (Array.isArray(found)) return `--${flag} ${value} ${found[0]}; ${found[1]}`;
  const fix = FIXES[`${command} --${flag}`] ?? FIXES[`--${flag}`] ?? `choose another --${flag}`;
  return `--${flag} ${value} ${found}; ${typeof fix === 'function' ? fix(values) : fix}`;
}

/** The model file a model flag's value names: a run folder's model.safetensors, or the file given. */
export function modelFileOf(path: string): string {
  return statOrNull(path)?.isDirectory() ? join(path, 'model.safetensors') : path;
}
