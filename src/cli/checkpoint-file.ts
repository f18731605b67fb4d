// What a file given as a checkpoint (or found as a run's training state) is, when it is not one
// webgpu-vae can read: a picture, a JSON file, an empty or cut-off file. The safetensors reader
// describes the bytes it meets ("header length 727905341920923800 goes beyond the end of the
// file"); the command line says what the file is and which file to give instead. A file that is
// a safetensors file but damaged inside (a flipped byte in its header, a tensor missing or of the
// wrong shape, a broken configuration) keeps the reader's exact words, and gets the fix. A run
// folder's files are told apart by their header's metadata alone (readFileHeader).

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { selfName } from './self-name';
import { packedTensorBytes } from '../io/safetensors';

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const TORCH_ZIP = "a zip archive (the format of PyTorch's torch.save, among others)";
const TORCH_PICKLE = "a Python pickle, as older PyTorch's torch.save writes";
/** What a PyTorch user does instead of torch.save. */
const FROM_TORCH = 'save the state_dict as safetensors with the metadata webgpu-vae reads (safetensors.torch.save_file(state_dict, path, metadata={"format": "webgpu-vae", "version": "1", "config": json.dumps(config)}); README, "Checkpoint format")';
const startsWith = (bytes: Uint8Array, magic: number[]) => bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);

/** The header of a safetensors file, when `bytes` start like one: its length and where its data begins. */
function safetensorsHeader(bytes: Uint8Array): { headerLen: number; dataStart: number } | null {
  if (bytes.length < 9) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  // The header is a JSON object: its first byte is '{'.
  if (headerLen < 2 || bytes[8] !== 0x7b) return null;
  return { headerLen, dataStart: 8 + headerLen };
}

/** Whether the bytes (the first 4 KiB of them) read as UTF-8 text. */
function textOf(bytes: Uint8Array): string | null {
  const head = bytes.subarray(0, 4096);
  let text: string;
  try {
    // A multi-byte character cut at 4 KiB is not a reason to call the file binary.
    text = new TextDecoder('utf-8', { fatal: true }).decode(head.length === bytes.length ? head : head.subarray(0, head.length - 3));
  } catch {
    return null;
  }
  return /[\u0000-\u0008\u000e-\u001a\u001c-\u001f]/.test(text) ? null : text;
}

/**
 * What `bytes` are when they cannot be a safetensors file, in words that follow "it is": 'empty',
 * 'a PNG image', 'JSON text', 'truncated' (a safetensors file cut short), ...; null when they are
 * a whole safetensors file (whatever it holds) or cannot be told apart from one.
 */
export function notSafetensors(bytes: Uint8Array): string | null {
  if (bytes.length === 0) return 'empty';
  if (startsWith(bytes, PNG)) return 'a PNG image';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'a JPEG image';
  if (startsWith(bytes, [0x1f, 0x8b])) return 'gzip-compressed data';
  const header = safetensorsHeader(bytes);
  // torch.save writes a zip archive (since PyTorch 1.6) or, before that, a pickle (protocol 2-5).
  // After the safetensors test: a header of 896 bytes starts 0x80 0x03 too, and its byte 8 is '{'.
  if (!header && startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) return TORCH_ZIP;
  if (!header && bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5) return TORCH_PICKLE;
  if (header) {
    if (header.dataStart > bytes.length) return 'truncated';
    let entries: unknown;
    try {
      entries = JSON.parse(new TextDecoder().decode(bytes.subarray(8, header.dataStart)));
    } catch {
      return null; // a damaged header: the reader's own message says where
    }
    const ends = Object.entries((entries ?? {}) as Record<string, { data_offsets?: unknown }>)
      .filter(([name]) => name !== '__metadata__')
      .map(([, e]) => (Array.isArray(e?.data_offsets) ? Number(e.data_offsets[1]) : 0));
    // Cut short: its tensors reach past the data, but not past what their shapes add up to (a
    // header placing one far beyond, at 2^40 say, is damaged: the reader's message says so).
    const furthest = Math.max(0, ...ends.filter(Number.isFinite));
    return furthest > bytes.length - header.dataStart && furthest <= packedTensorBytes((entries ?? {}) as Record<string, unknown>) ? 'truncated' : null;
  }
  const text = textOf(bytes);
  if (text !== null) return /^\s*[[{]/.test(text) ? 'JSON text' : 'text';
  return 'not a safetensors file';
}

/**
 * Whether notSafetensors' `kind` names a file of another kind (a picture, compressed data, text),
 * rather than one too damaged, cut or empty to tell what it was.
 */
export function isOtherKindOfFile(kind: string): boolean {
  return kind !== 'empty' && kind !== 'truncated' && kind !== 'not a safetensors file';
}

/**
 * What the header of the safetensors file at `path` holds: its metadata, read without the tensors
 * after it; or why there is none ("it is text", "its safetensors header is not valid JSON"),
 * with notSafetensors' `kind` of its first bytes where they are not a safetensors file.
 */
export function readFileHeader(path: string): { metadata: Record<string, unknown> } | { not: string; kind: string | null } {
  let fd: number | null = null;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const head = new Uint8Array(Math.min(size, 4096));
    readSync(fd, head, 0, head.length, 0);
    if (size < 9 || head[8] !== 0x7b) {
      const kind = notSafetensors(head);
      return { not: `it is ${kind === null || kind === 'truncated' ? 'not a safetensors file' : kind}`, kind };
    }
    const view = new DataView(head.buffer);
    const headerLen = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
    if (8 + headerLen > size) return { not: 'it is truncated: its header runs past the end of the file', kind: 'truncated' };
    // The header of a webgpu-vae file is some kilobytes; one of hundreds of megabytes is not one.
    if (headerLen > 64 * 2 ** 20) return { not: 'its header is far larger than a webgpu-vae file\'s', kind: null };
    const header = new Uint8Array(headerLen);
    readSync(fd, header, 0, headerLen, 8);
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(header));
    } catch {
      return { not: 'its safetensors header is not valid JSON', kind: null };
    }
    const metadata = (parsed as { __metadata__?: unknown } | null)?.__metadata__;
    return { metadata: metadata && typeof metadata === 'object' ? metadata as Record<string, unknown> : {} };
  } catch (e) {
    return { not: `it cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, kind: null };
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** The bytes a safetensors file starting with `bytes` says it holds (at least that many when its header is cut), or null. */
function declaredLength(bytes: Uint8Array): { bytes: number; atLeast: boolean } | null {
  const header = safetensorsHeader(bytes);
  if (!header) return null;
  if (header.dataStart > bytes.length) return { bytes: header.dataStart, atLeast: true };
  try {
    const entries = JSON.parse(new TextDecoder().decode(bytes.subarray(8, header.dataStart))) as Record<string, { data_offsets?: unknown }>;
    const ends = Object.entries(entries).filter(([n]) => n !== '__metadata__').map(([, e]) => (Array.isArray(e?.data_offsets) ? Number(e.data_offsets[1]) : 0));
    return { bytes: header.dataStart + Math.max(0, ...ends.filter(Number.isFinite)), atLeast: false };
  } catch {
    return null;
  }
}

/** The refusal of `path` as a model checkpoint, when its bytes say what else it is; null when they do not. */
export function notACheckpoint(path: string, bytes: Uint8Array): string | null {
  const kind = notSafetensors(bytes);
  if (!kind) return null;
  const declared = kind === 'truncated' ? declaredLength(bytes) : null;
  if (declared) {
    // A partial copy or download: the fix is the whole file, not another kind of file.
    return `${path} is not a model checkpoint (it is truncated: its header describes ${declared.atLeast ? 'at least ' : ''}${declared.bytes.toLocaleString('en')} bytes, ` +
      `the file has ${bytes.length.toLocaleString('en')}); copy or save the file again whole`;
  }
  if (kind === TORCH_ZIP || kind === TORCH_PICKLE) return `${path} is not a model checkpoint (it is ${kind}); ${FROM_TORCH}, or give a runs/NAME/model.safetensors written by webgpu-vae train`;
  return `${path} is not a model checkpoint (it is ${kind}); give a runs/NAME/model.safetensors written by webgpu-vae train`;
}

/**
 * The reader's messages that describe damage inside a safetensors file, and not a file of
 * another kind or version (whose messages carry their own fix): the header's structure and its
 * tensors' entries and offsets.
 */
const DAMAGE = [
  /: (file too short|the header is damaged|header is not|header length|__metadata__|metadata '|invalid tensor name|tensor '[^']*': (header entry|unsupported dtype|invalid|data_offsets)|hole in data section|trailing garbage)/,
];

/**
 * The messages of a well-formed file whose configuration and tensors disagree: a file written by
 * hand (from PyTorch, say) with a config that does not describe its tensors, more often than a
 * damaged one.
 */
const MISMATCH = [
  / has an invalid model configuration: /,
  / does not hold the tensors its configuration needs: /,
  /: (tensor \S+ has shape \[|\d+ tensors have the wrong shape: )/,
];
// Tensors the model does not use, all else there ("holds more tensors than its configuration
// needs", "has a tensor this model does not use"), carry their own fix: drop them.

/** The fix for a checkpoint damaged inside: no flag reads it, so another file, or training again. */
export const damagedCheckpointFix = () => 'the file is damaged or was written by something else than webgpu-vae: give another checkpoint ' +
  `(a run folder's model.safetensors, e.g. runs/NAME/model.safetensors), or train a new model with \`${selfName()} train --out DIR\``;

const mismatchFix = () => 'if you wrote this file (from PyTorch, say), make the config in its metadata describe the model its tensors belong to (README, "Checkpoint format"); ' +
  `if webgpu-vae wrote it, it is damaged: give another checkpoint (e.g. runs/NAME/model.safetensors), or train a new model with \`${selfName()} train --out DIR\``;

/** `message` (a checkpoint reader's) with the fix added when it describes damage inside the file or a configuration that disagrees with its tensors; unchanged otherwise. */
export function withDamageFix(message: string): string {
  if (MISMATCH.some((re) => re.test(message))) return `${message}; ${mismatchFix()}`;
  return DAMAGE.some((re) => re.test(message)) ? `${message}; ${damagedCheckpointFix()}` : message;
}
