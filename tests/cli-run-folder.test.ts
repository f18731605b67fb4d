// A run folder and the files in it, as `train` finds them before it starts: a folder where a run
// file belongs, a file under training-state.safetensors that is no training state, a run folder
// that cannot be written, temporary files left by a write that was killed, damaged checkpoints,
// and what a failed write (a full disk) says to do next. Refusals come before any device starts:
// the device provider throws a sentinel, so a command that passes its checks stops there.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_FORMAT, TRAINING_STATE_FORMAT } from '../src/checkpoint';
import { OutputError, removeStaleTempFiles, writeAll, writeFileAtomic } from '../src/cli/files';
import { setDeviceProvider, type DeviceProvider } from '../src/cli/io';
import { writePicture } from '../src/cli/output-file';
import { KeptCheckpoints, recover } from '../src/cli/recovery';
import { runWriteFailed } from '../src/cli/recovery-advice';
import { RUN_FILES } from '../src/cli/run-dir';
import { openRunLog } from '../src/cli/train-report';
import { DEFAULT_RUN } from '../src/cli/train-options';
import { encodeSafetensors } from '../src/io/safetensors';
import type { VAE } from '../src/model/vae';
import { runMain } from './helpers/cli-main';
import { tempDir } from './helpers/temp-dir';

const FIXTURE = join(__dirname, 'fixtures', 'v1-checkpoint.safetensors');
const SENTINEL = 'all checks passed; no device in this test';
const root = tempDir('webgpu-vae-run-folder-');

let previous: DeviceProvider;
beforeAll(() => { previous = setDeviceProvider(() => Promise.reject(new Error(SENTINEL))); });
afterAll(() => setDeviceProvider(previous));

/** Runs argv and expects a one-line refusal (exit 1) made before the device, returning it. */
async function refused(argv: string[]): Promise<string> {
  const r = await runMain(argv);
  expect(r.stderr, 'reached the device').not.toContain(SENTINEL);
  expect(r.stderr, 'internal error').not.toContain('internal error');
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
  return r.stderr.trimEnd();
}

function folder(name: string, files: Record<string, string | Uint8Array> = {}): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, content] of Object.entries(files)) writeFileSync(join(dir, f), content);
  return dir;
}

/** A file that starts like a training state: a safetensors header with the training state's format. */
const stateHeader = () => encodeSafetensors({ w: { shape: [1], data: Float32Array.of(1) } }, { format: TRAINING_STATE_FORMAT });

describe('a folder where a run file belongs', () => {
  it.each(Object.values(RUN_FILES).filter((f) => !f.endsWith('.png')))('%s as a folder: --resume and --out are refused before the device, naming it and the fix', async (name) => {
    const dir = folder(`dir-${name}`, name === RUN_FILES.state ? {} : { 'training-state.safetensors': stateHeader() });
    mkdirSync(join(dir, name), { recursive: true });
    const says = `${join(dir, name)} is a folder, where the run's ${name} file belongs, so the run can neither read nor replace it; remove or rename that folder (what it holds is not the run's), then run the command again`;
    expect(await refused(['train', '--resume', dir, '--epochs', '3'])).toBe(`webgpu-vae train: error: --resume ${dir}: ${says}`);
    // --force cannot remove a folder either: refused up front, not when the old files are cleared.
    expect(await refused(['train', '--out', dir, '--force'])).toBe(`webgpu-vae train: error: --out ${dir}: ${says}`);
    expect(existsSync(join(dir, name))).toBe(true);
  });
});

describe('a training-state.safetensors that is no training state', () => {
  it('is not called a run to continue: a text file, a model checkpoint, a safetensors file of no format', async () => {
    const text = folder('text-state', { 'training-state.safetensors': 'keep\n' });
    expect(await refused(['train', '--out', text])).toBe(`webgpu-vae train: error: ${text} holds training-state.safetensors, but it is not a training state (it is text), ` +
      'so there is no run there to continue; choose another --out, or add --force to delete it and start the run there');
    const model = folder('model-as-state', { 'training-state.safetensors': readFileSync(FIXTURE), 'config.json': '{}' });
    const line = await refused(['train', '--out', model]);
    expect(line).toContain('but it is not a training state (it is a model checkpoint, which belongs in model.safetensors)');
    expect(line).toContain('add --force to delete it and config.json and start the run there');
    expect(line).not.toContain('--resume');
    const other = folder('other-state', { 'training-state.safetensors': encodeSafetensors({ w: { shape: [1], data: Float32Array.of(1) } }, {}) });
    expect(await refused(['train', '--out', other])).toContain('(it is a safetensors file with no format metadata)');
  });

  it('one with a training state\'s header is still a run to continue', async () => {
    const run = folder('state-like', { 'training-state.safetensors': stateHeader() });
    expect(await refused(['train', '--out', run])).toMatch(/already holds a run \(training-state\.safetensors\); continue it with `(npx )?webgpu-vae train --resume /);
  });
});

describe('a run folder that cannot be written', () => {
  it('is called a run: the fix is to make it writable or to resume a copy', async (ctx) => {
    const dir = folder('read-only-run', { 'training-state.safetensors': stateHeader() });
    // Root writes past permissions; an immutable folder stops it too (where chattr works).
    const root = process.getuid?.() === 0;
    try {
      if (root) execFileSync('chattr', ['+i', dir], { stdio: 'ignore' });
      else execFileSync('chmod', ['a-w', dir]);
    } catch {
      ctx.skip('cannot make a folder unwritable here (chattr +i refused)');
    }
    try {
      const line = await refused(['train', '--resume', dir, '--epochs', '3']);
      expect(line).toMatch(new RegExp(`^webgpu-vae train: error: --resume ${dir} is not writable: cannot create files in ${dir} \\((EACCES|EPERM)\\); ` +
        `a resumed run writes its checkpoints into its folder: make it writable \\(e\\.g\\. \`chmod -R u\\+w ${dir}\` as its owner\\), ` +
        `or copy the folder to a place you can write \\(\`cp -r ${dir} COPY\`\\) and resume the copy \\(--resume COPY\\)$`));
      expect(line).not.toContain('give the folder of a run');
    } finally {
      execFileSync(root ? 'chattr' : 'chmod', root ? ['-i', dir] : ['u+w', dir]);
    }
  });
});

describe('a run folder on a read-only file system', () => {
  it('is called a run, and the fix is to remount it, not chmod', async (ctx) => {
    const dir = folder('read-only-mount');
    // Root alone may mount: a small file system holding the run, then made read-only.
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
    } catch {
      ctx.skip('cannot mount a file system here (not root)');
    }
    try {
      writeFileSync(join(dir, 'training-state.safetensors'), stateHeader());
      execFileSync('mount', ['-o', 'remount,ro', dir]);
      const line = await refused(['train', '--resume', dir, '--epochs', '3']);
      expect(line).toBe(`webgpu-vae train: error: --resume ${dir} is not writable: cannot create files in ${dir} (EROFS); ` +
        'a resumed run writes its checkpoints into its folder: its file system is mounted read-only: remount it read-write, ' +
        `or copy the folder to a place you can write (\`cp -r ${dir} COPY\`) and resume the copy (--resume COPY)`);
    } finally {
      execFileSync('umount', [dir]);
    }
  });
});

describe('temporary files of a checkpoint write that was killed', () => {
  /** A PID that ran and has exited. */
  const deadPid = () => Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }));

  it('are removed when a run opens its folder, if their writer is gone; a live writer\'s and other files stay', async () => {
    const dir = folder('leftovers');
    const live = spawn('sleep', ['60']);
    try {
      const gone = deadPid();
      const stale = [`.model.safetensors.${gone}.tmp`, `.training-state.safetensors.${gone}.tmp`, `.config.json.${process.pid}.tmp`, `.pictures.json.${gone}.tmp`];
      const kept = [`.model.safetensors.${live.pid}.tmp`, `.notes.txt.${gone}.tmp`, `model.safetensors.${gone}.tmp`, `.model.safetensors.${gone}.tmp.bak`, 'notes.txt'];
      for (const f of [...stale, ...kept]) writeFileSync(join(dir, f), 'x');
      const vae = { config: { arch: 'mlp' }, training: { optimizer: 'adam' } } as unknown as VAE;
      const log = openRunLog({
        outDir: dir, vae, runRecord: { ...DEFAULT_RUN }, progress: { step: 0, epochsDone: 0, epochStep: 0, stepsPerEpoch: 1, epochLossSum: 0, epochExamples: 0, seconds: 0 },
        resumed: null, lrWas: null, precisionWas: null, restart: null, force: false, warn: () => {},
      });
      log.close();
      expect(readdirSync(dir).sort()).toEqual([...kept, RUN_FILES.config, RUN_FILES.metrics].sort());
    } finally {
      live.kill();
    }
  });

  it('of a missing folder: nothing to remove', () => {
    expect(removeStaleTempFiles(join(root, 'no-such-folder'), Object.values(RUN_FILES))).toEqual([]);
  });
});

describe('a damaged checkpoint', () => {
  const fixture = new Uint8Array(readFileSync(FIXTURE));
  const view = new DataView(fixture.buffer, fixture.byteOffset);
  const headerLen = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(fixture.subarray(8, 8 + headerLen))) as Record<string, { shape?: number[]; data_offsets?: number[] }> & { __metadata__: Record<string, string> };
  const data = fixture.subarray(8 + headerLen);
  /** The fixture with its header changed by `edit` and its data section as it was. */
  const withHeader = (name: string, edit: (h: typeof header) => void): string => {
    const h = structuredClone(header);
    edit(h);
    const json = new TextEncoder().encode(JSON.stringify(h));
    const bytes = new Uint8Array(8 + json.length + data.length);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
    bytes.set(json, 8);
    bytes.set(data, 8 + json.length);
    return at(name, bytes);
  };
  const at = (name: string, bytes: Uint8Array) => { const p = join(root, name); writeFileSync(p, bytes); return p; };
  const bias = Object.keys(header).find((k) => /^decoder\..*bias$/.test(k) && header[k]!.shape!.length === 1)!;

  const damaged = /; the file is damaged or was written by something else than webgpu-vae: give another checkpoint \(a run folder's model\.safetensors, e\.g\. runs\/NAME\/model\.safetensors\), or train a new model with `(npx )?webgpu-vae train --out DIR`$/;
  // A well-formed file whose config disagrees with its tensors is more often one written by hand.
  const mismatched = /; if you wrote this file \(from PyTorch, say\), make the config in its metadata describe the model its tensors belong to \(README, "Checkpoint format"\); if webgpu-vae wrote it, it is damaged: give another checkpoint \(e\.g\. runs\/NAME\/model\.safetensors\), or train a new model with `(npx )?webgpu-vae train --out DIR`$/;
  it.each([
    ['a byte flipped in the header', () => { const b = fixture.slice(); b[9] = 0x00; return at('flipped.safetensors', b); }, 'header is not valid JSON', damaged],
    ['a tensor missing', () => withHeader('hole.safetensors', (h) => { delete h[bias]; }), 'hole in data section: bytes', damaged],
    ['a wrong shape', () => withHeader('shape.safetensors', (h) => { h[bias]!.shape = [h[bias]!.shape![0]! / 2, 2]; }), `tensor ${bias} has shape [`, mismatched],
    ['broken configuration metadata', () => withHeader('config.safetensors', (h) => { h.__metadata__.config = '{"latent": -3'; }), 'has an invalid model configuration: ', mismatched],
    ['a configuration of another model', () => withHeader('other.safetensors', (h) => { h.__metadata__.config = JSON.stringify({ ...JSON.parse(h.__metadata__.config!), latent: 3 }); }), 'have the wrong shape: ', mismatched],
  ])('%s: the reader\'s words and the fix, before the device', async (_what, make, says, fix) => {
    const path = make();
    for (const argv of [['eval', '--checkpoint', path], ['train', '--init-from', path, '--out', join(root, 'from-damaged')]]) {
      const line = await refused(argv);
      expect(line).toContain(says);
      expect(line).toMatch(fix);
    }
  });

  it('a file of another kind keeps its own fix, without the damage fix', async () => {
    const state = at('state.safetensors', stateHeader());
    expect(await refused(['eval', '--checkpoint', state])).not.toContain('damaged');
  });
});

describe('a write that fails', () => {
  const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

  it('says what the code means in words', () => {
    const path = join(folder('full'), 'model.safetensors');
    const failing = (fd: number, bytes: Uint8Array) => { writeAll(fd, bytes.subarray(0, 10)); throw enospc(); };
    expect(() => writeFileAtomic(path, new Uint8Array(100), failing)).toThrow(`cannot write ${path}: the disk is full (ENOSPC); the previous model.safetensors, if any, is unchanged`);
    for (const [code, words] of [['EACCES', 'not allowed: no permission to write there (EACCES)'], ['EROFS', 'the file system is read-only (EROFS)'], ['EPERM', 'not allowed']]) {
      expect(() => writeFileAtomic(path, new Uint8Array(1), () => { throw Object.assign(new Error(code), { code }); })).toThrow(words);
    }
  });

  /** recover()'s answer to a run's failed write, with `kept` the run's checkpoints. */
  async function recovered(e: OutputError, kept: KeptCheckpoints, resumed = false): Promise<string> {
    const outDir = join(root, 'run');
    const err = await recover(e, {
      onNan: 'stop', lr: 1e-3, retries: 2, outDir, kept, resumed, lostInfo: () => null, argv: ['--epochs', '2', '--out', outDir], info: () => {}, event: () => {},
    }).catch((x: Error) => x);
    expect(err).toBeInstanceOf(OutputError);
    return (err as Error).message;
  }

  it('in a run before its first checkpoint: says to free space and start again, not to --resume', async () => {
    const outDir = join(root, 'run');
    const e = new OutputError(`cannot append to ${outDir}/metrics.jsonl: the disk is full (ENOSPC)`, 'ENOSPC', join(outDir, 'metrics.jsonl'));
    const message = await recovered(e, new KeptCheckpoints());
    expect(message).toMatch(new RegExp(`^cannot append to .*metrics\\.jsonl: the disk is full \\(ENOSPC\\); no checkpoint was written yet, so there is nothing to resume: ` +
      `free some space on that disk, then start the run again with \`(npx )?webgpu-vae train --epochs 2 --out ${outDir} --force\``));
    expect(message).not.toContain('--resume');
  });

  it('in a run with a checkpoint: says to free space, then --resume from it', async () => {
    const kept = new KeptCheckpoints();
    kept.wrote({ step: 10, state: new Uint8Array(1), model: null });
    const outDir = join(root, 'run');
    const e = new OutputError(`cannot write ${outDir}/model.safetensors: not allowed: no permission to write there (EACCES)`, 'EACCES', join(outDir, 'model.safetensors'));
    expect(await recovered(e, kept)).toMatch(/; make the folder writable for you, then `(npx )?webgpu-vae train --resume .*\/run` continues from the last checkpoint written \(step 10 or later\)$/);
    // The end pictures come after the last checkpoint: they are drawn again, not trained again.
    const pictures = runWriteFailed(new OutputError('cannot write', 'ENOSPC', join(outDir, 'samples.png')), outDir, 10, []);
    expect(pictures.message).toMatch(/training was done and saved in .*model\.safetensors: free some space on that disk, then draw the pictures with `(npx )?webgpu-vae sample --checkpoint /);
  });

  it('of a picture command: says the fix, or another --out, then run the command again', async () => {
    // A real failure: the --out's folder is a file (ENOTDIR or EEXIST from creating the folder).
    const file = join(folder('pictures'), 'a-file');
    writeFileSync(file, 'x');
    const err = await writePicture('sample', join(file, 's.png'), new Uint8Array(8), { checkpoint: FIXTURE }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(OutputError);
    expect((err as Error).message).toMatch(/^cannot write .*a-file\/s\.png: .*; .*or choose another --out \(e\.g\. samples\.png elsewhere\), then run the command again$/);
  });
});
