// What the command line does with files that are not what a command wants, before any device
// starts: a file that is not a checkpoint or a damaged training state (named for what it is, with
// the file to give instead), the folder of a run that stopped before its first checkpoint (whose
// printed advice must work as printed), and a --label or --dataset the checkpoint cannot take.
// Each runs in-process with a device provider that throws a sentinel, so a refusal made before
// any device starts is told apart from one made after.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notSafetensors } from '../src/cli/checkpoint-file';
import { setDeviceProvider, type DeviceProvider } from '../src/cli/io';
import { selfName } from '../src/cli/self-name';
import { BAD_NUMBERS_EXIT_CODE, BadStepError } from '../src/cli/bad-steps';
import { KeptCheckpoints, recover } from '../src/cli/recovery';
import { needsDataset } from '../src/cli/traverse';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors';
import { tempDir } from './helpers/temp-dir';
import { passesChecks as passes, refusedBeforeDevice as refused, SENTINEL } from './helpers/cli-refusals';

const FIXTURE = join(__dirname, 'fixtures', 'v1-checkpoint.safetensors');
const root = tempDir('webgpu-vae-checkpoint-input-');
const at = (...p: string[]) => join(root, ...p);

/** The fixture with `dataset` recorded in its metadata, as `train` writes it. */
function checkpointOf(dataset: string): string {
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(FIXTURE)));
  const path = at(`${dataset}-model.safetensors`);
  writeFileSync(path, encodeSafetensors(tensors, { ...metadata, dataset }));
  return path;
}

let previous: DeviceProvider;
beforeAll(() => { previous = setDeviceProvider(() => Promise.reject(new Error(SENTINEL))); });
afterAll(() => setDeviceProvider(previous));

describe('a file that is not a checkpoint', () => {
  const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52);
  const fixture = () => new Uint8Array(readFileSync(FIXTURE));
  const files: [string, Uint8Array, string][] = [
    ['picture.png', png, 'a PNG image'],
    ['config.json', new TextEncoder().encode('{"format": "webgpu-vae-run"}\n'), 'JSON text'],
    ['empty.safetensors', new Uint8Array(0), 'empty'],
    ['cut-in-data.safetensors', fixture().subarray(0, 1000), 'truncated'],
    ['cut-in-header.safetensors', fixture().subarray(0, 100), 'truncated'],
    ['notes.txt', new TextEncoder().encode('PNG? no: twelve bytes and then some'), 'text'],
  ];

  it('is named for what it is, with the file to give instead, by every command that reads one', async () => {
    for (const [name, bytes, kind] of files) {
      writeFileSync(at(name), bytes);
      expect(notSafetensors(bytes), name).toBe(kind);
      const instead = kind === 'truncated' ? /: its header describes (at least )?[\d,]+ bytes, the file has [\d,]+\); copy or save the file again whole/ : '; give a runs/NAME/model.safetensors written by webgpu-vae train';
      const line = await refused(['eval', '--checkpoint', at(name)], `${at(name)} is not a model checkpoint (it is ${kind}`);
      expect(line).toMatch(instead);
      await refused(['sample', '--checkpoint', at(name), '--out', at('s.png')], `is not a model checkpoint (it is ${kind}`);
    }
    // A whole safetensors file keeps the reader's own message (it says what is missing).
    expect(notSafetensors(fixture())).toBeNull();
    // A header placing a tensor far past the data and past what the shapes add up to is damaged,
    // not cut short (copying the file again would not help): the reader says so.
    const far = encodeSafetensors({ a: { shape: [2, 3], data: new Float32Array(6) }, b: { shape: [4], data: new Float32Array(4) } }, {});
    const headerLength = Number(new DataView(far.buffer, far.byteOffset).getBigUint64(0, true));
    const text = new TextDecoder().decode(far.subarray(8, 8 + headerLength)).replace(/"data_offsets":\[24,40\]/, '"data_offsets":[1099511627776,1099511627792]');
    const header = new TextEncoder().encode(text);
    const damaged = new Uint8Array(8 + header.length + far.length - 8 - headerLength);
    new DataView(damaged.buffer).setBigUint64(0, BigInt(header.length), true);
    damaged.set(header, 8);
    damaged.set(far.subarray(8 + headerLength), 8 + header.length);
    expect(text).toContain('1099511627776');
    expect(notSafetensors(damaged)).toBeNull();
    writeFileSync(at('far.safetensors'), damaged);
    await refused(['eval', '--checkpoint', at('far.safetensors')], "the header is damaged: it places tensor 'b' at bytes 1099511627776..1099511627792 of the data, past both the 40 bytes the file holds and the 40 its tensors' shapes add up to");
    writeFileSync(at('other.safetensors'), encodeSafetensors({ w: { shape: [1], data: Float32Array.of(1) } }, {}));
    await refused(['eval', '--checkpoint', at('other.safetensors')], 'is a safetensors file but not a webgpu-vae checkpoint');
  });

  it('as a run\'s training state, on --resume, says the model may still serve and how to start anew', async () => {
    const dir = at('damaged-run');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.safetensors'), readFileSync(FIXTURE));
    writeFileSync(join(dir, 'training-state.safetensors'), fixture().subarray(0, 500));
    const line = await refused(['train', '--resume', dir], `${join(dir, 'training-state.safetensors')} is not a training state (it is truncated); the run cannot be resumed from it`);
    expect(line).toContain(`${join(dir, 'model.safetensors')} may still be usable with eval, sample`);
    expect(line).toMatch(/a new run can start with --out NEWDIR \(or in this folder with --out .* --force/);
    writeFileSync(join(dir, 'training-state.safetensors'), png);
    await refused(['train', '--resume', dir], 'is not a training state (it is a PNG image)');
  });
});

describe('a run that stopped before its first checkpoint', () => {
  // What such a run leaves: config.json and metrics.jsonl, written before the first step.
  const leftover = (name: string) => {
    const dir = at(name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), '{"format": "webgpu-vae-run"}\n');
    writeFileSync(join(dir, 'metrics.jsonl'), '{"event":"start"}\n');
    return dir;
  };
  /** The arguments of the printed command, after the program's name (`webgpu-vae` or `npx webgpu-vae`). */
  const argvOf = (command: string) => command.split('\n').at(-1)!.trim().slice(selfName().length).trim().split(' ');

  it('gets advice that works as printed: the new run in its folder carries --force', async () => {
    const dir = leftover('lr50');
    const lines: string[] = [];
    const argv = ['--hidden', '32', '--lr', '50', '--out', dir];
    const code = await recover(new BadStepError(2, ['loss: diverging'], 1e13, 1e11), {
      onNan: 'stop', lr: 50, retries: 0, outDir: dir, kept: new KeptCheckpoints(), resumed: false, lostInfo: () => null,
      info: (l) => lines.push(l), event: () => {}, argv,
    });
    expect(code).toBe(BAD_NUMBERS_EXIT_CODE);
    expect(lines[0]).toContain('start a new run with a lower one, e.g. --lr 5,');
    const suggested = argvOf(lines[0]);
    expect(suggested).toEqual(['train', '--hidden', '32', '--lr', '5', '--out', dir, '--force']);
    // Without --force the folder is refused; with it, the command passes every check.
    await refused(suggested.filter((a) => a !== '--force'), 'already holds config.json, metrics.jsonl');
    await passes(suggested);
  });

  it('is refused by --resume with the command that starts it again (with --force)', async () => {
    const dir = leftover('no-state');
    const line = await refused(['train', '--resume', dir], 'no training-state.safetensors there, so no run to continue', `\`${selfName()} train --out ${dir} --force\``);
    expect(line).toContain('it holds config.json and metrics.jsonl of a run that stopped before its first checkpoint');
    await passes(['train', '--out', dir, '--force']);
  });
});

describe('checks against the checkpoint, before the device', () => {
  it('refuse --label for a checkpoint that is not conditional', async () => {
    await refused(['sample', '--checkpoint', FIXTURE, '--label', '3', '--out', at('s.png')], '--label needs a conditional checkpoint', 'leave out --label');
    await refused(['traverse', '--checkpoint', FIXTURE, '--label', '3', '--out', at('t.png')], '--label needs a conditional checkpoint');
  });

  it('refuse a --dataset of another picture size, naming the one the checkpoint was trained on', async () => {
    await refused(['reconstruct', '--checkpoint', FIXTURE, '--dataset', 'dsprites', '--out', at('r.png')], 'models 1x28x28 pictures, but dsprites has 1x64x64; use a data set of that size (--dataset mnist; --dataset fashion-mnist) or a folder of pictures (resized to fit): --dataset folder --data-dir DIR');
    await refused(['eval', '--checkpoint', FIXTURE, '--dataset', 'dsprites-color'], 'but dsprites-color has 3x64x64');
    await refused(['interpolate', '--checkpoint', checkpointOf('fashion-mnist'), '--dataset', 'dsprites', '--out', at('i.png')], 'use the data set it was trained on: --dataset fashion-mnist');
    await refused(['traverse', '--checkpoint', checkpointOf('folder'), '--dataset', 'dsprites', '--out', at('t.png')], '--dataset folder --data-dir DIR, or leave out --dataset');
    await passes(['reconstruct', '--checkpoint', FIXTURE, '--dataset', 'fashion-mnist', '--out', at('r.png')]);
  });

  it('traverse --data-dir without --dataset suggests the checkpoint\'s own data set', async () => {
    const folder = checkpointOf('folder');
    mkdirSync(at('pictures'));
    const line = await refused(['traverse', '--checkpoint', folder, '--data-dir', at('pictures'), '--out', at('t.png')], '--data-dir needs --dataset', 'e.g. --dataset folder');
    expect(line).not.toContain('dsprites');
    expect(needsDataset('--data-dir', { dataset: 'dsprites' }, 'x')).toContain('add --dataset dsprites and leave out --data-dir');
    expect(needsDataset('--limit', { dataset: 'cifar10' }, undefined)).toContain('e.g. --dataset cifar10 --data-dir DIR');
    expect(needsDataset('--limit', {}, undefined)).toContain('e.g. --dataset mnist');
  });
});
