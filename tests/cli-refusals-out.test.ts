// The picture commands' --out (sample, traverse, reconstruct, interpolate) against what the user
// stands to lose: the checkpoint the command reads, the pictures in its --data-dir, and any file
// that is not a PNG picture are refused in one line with exit 1 before any device starts, and
// nothing is written; an existing PNG picture elsewhere is replaced as before. Then the refusals'
// wording (no doubled command name) and the run's recorded data folder named when --data-dir is
// missing. Commands run in-process through main(), as in cli-refusals.test.ts.
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { encode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/checkpoint';
import { checkPictureOut, writePicture } from '../src/cli/output-file';
import { makeReporter, recordedDataDir } from '../src/cli/io';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors';
import { runMain as run } from './helpers/cli-main';
import { at, expectRefusal, FIXTURE, SENTINEL, useScratchFolder } from './helpers/cli-refusals';

useScratchFolder();

const PICTURE_COMMANDS = ['sample', 'traverse', 'reconstruct', 'interpolate'] as const;
const png = () => encode({ width: 2, height: 2, data: new Uint8Array(4), channels: 1, depth: 8 });

/** A run folder as `train` leaves it: a model, its training state and config.json. */
function runFolder(name: string): string {
  mkdirSync(at(name), { recursive: true });
  copyFileSync(FIXTURE, at(name, 'model.safetensors'));
  copyFileSync(FIXTURE, at(name, 'training-state.safetensors'));
  writeFileSync(at(name, 'config.json'), '{"format": "webgpu-vae-run"}\n');
  return at(name, 'model.safetensors');
}

/** Passed every check: stopped by the device provider's sentinel. */
async function passes(argv: string[]): Promise<void> {
  const r = await run(argv);
  expect(r.stderr, argv.join(' ')).toContain(SENTINEL);
}

describe('a picture command\'s --out', () => {
  it.each(PICTURE_COMMANDS)('%s refuses the checkpoint it reads, under its own name or through a link', async (command) => {
    const model = runFolder(`run-${command}`);
    await expectRefusal([command, '--checkpoint', model, '--out', model], `--out ${model} is the checkpoint this command reads`);
    symlinkSync(model, at(`run-${command}`, 'model.png'));
    const line = await expectRefusal([command, '--checkpoint', model, '--out', at(`run-${command}`, 'model.png')], 'the picture would replace the model');
    expect(line).toContain('choose another --out');
    expect(readFileSync(model)).toEqual(readFileSync(FIXTURE));
  });

  it.each(PICTURE_COMMANDS)('%s refuses to replace a file that is not a PNG picture, saying what it is', async (command) => {
    const model = runFolder(`files-${command}`);
    const cases: [string, string][] = [
      [at(`files-${command}`, 'training-state.safetensors'), 'it is a safetensors file: a model or a training state'],
      [at(`files-${command}`, 'config.json'), 'it is JSON text'],
      [at(`files-${command}`, 'notes.png'), 'it is text'],
      [at(`files-${command}`, 'photo.png'), 'it is a JPEG image'],
    ];
    writeFileSync(at(`files-${command}`, 'notes.png'), 'my notes, named .png by mistake\n');
    writeFileSync(at(`files-${command}`, 'photo.png'), Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 1, 2, 3));
    for (const [out, kind] of cases) {
      const line = await expectRefusal([command, '--checkpoint', model, '--out', out], `--out ${out} already exists and is not a PNG picture (${kind})`);
      expect(line).toContain('the picture would replace it: choose another --out (e.g. ');
    }
  });

  it.each(['traverse', 'reconstruct', 'interpolate'])('%s refuses an --out inside the --data-dir it reads, also through a link, in the words train uses', async (command) => {
    const pictures = at(`pictures-${command}`);
    mkdirSync(pictures);
    writeFileSync(at(`pictures-${command}`, 'p0.png'), png());
    symlinkSync(pictures, at(`link-${command}`));
    const dataset = command === 'traverse' ? [] : ['--dataset', 'folder'];
    for (const out of [at(`pictures-${command}`, 'p0.png'), at(`pictures-${command}`, 'new.png'), at(`link-${command}`, 'p0.png')]) {
      const line = await expectRefusal([command, '--checkpoint', FIXTURE, ...dataset, '--data-dir', pictures, '--out', out], `--out ${out} is inside --data-dir ${pictures}`);
      expect(line).toContain('choose an --out outside it');
    }
    expect(readFileSync(at(`pictures-${command}`, 'p0.png'))).toEqual(Buffer.from(png()));
  });

  it('train refuses an --out inside --data-dir in the same words', async () => {
    mkdirSync(at('train-pictures'));
    await expectRefusal(['train', '--dataset', 'folder', '--data-dir', at('train-pictures'), '--out', at('train-pictures', 'run')],
      `--out ${at('train-pictures', 'run')} is inside --data-dir ${at('train-pictures')}`);
  });

  it.each(PICTURE_COMMANDS)('%s replaces an existing PNG picture outside the data folder, or an empty file', async (command) => {
    writeFileSync(at(`again-${command}.png`), png());
    await passes([command, '--checkpoint', FIXTURE, '--out', at(`again-${command}.png`)]);
    writeFileSync(at(`empty-${command}.png`), '');
    await passes([command, '--checkpoint', FIXTURE, '--out', at(`empty-${command}.png`)]);
  });

  it('is checked again just before the picture is written', async () => {
    writeFileSync(at('appeared.png'), '{"someone": "else\'s file"}');
    await expect(writePicture('sample', at('appeared.png'), png(), { checkpoint: FIXTURE })).rejects.toThrow(/already exists and is not a PNG picture \(it is JSON text\)/);
    expect(readFileSync(at('appeared.png'), 'utf8')).toBe('{"someone": "else\'s file"}');
    await writePicture('sample', at('fresh.png'), png(), { checkpoint: FIXTURE });
    expect(readFileSync(at('fresh.png'))).toEqual(Buffer.from(png()));
    expect(() => checkPictureOut('sample', at('fresh.png'), { checkpoint: FIXTURE })).not.toThrow();
  });
});

describe('refusals name the command once', () => {
  it.each([
    [['eval'], 'webgpu-vae eval: error: --checkpoint is required (e.g. runs/NAME/model.safetensors)'],
    [['sample', '--checkpoint', FIXTURE], 'webgpu-vae sample: error: --out is required (e.g. samples.png)'],
    [['traverse', '--checkpoint', FIXTURE], 'webgpu-vae traverse: error: --out is required (e.g. traversal.png)'],
    [['reconstruct', '--checkpoint', FIXTURE], 'webgpu-vae reconstruct: error: --out is required (e.g. reconstructions.png)'],
    [['interpolate', '--out', 'i.png'], 'webgpu-vae interpolate: error: --checkpoint is required (e.g. runs/NAME/model.safetensors)'],
    [['sample', '--checkpoint', FIXTURE, '--out', 's.jpg'], "webgpu-vae sample: error: --out must name a .png file, got 's.jpg'"],
    [['traverse', '--checkpoint', FIXTURE, '--out', 't.png', '--limit', '5'], 'webgpu-vae traverse: error: --limit needs --dataset'],
    [['sample', '--checkpoint', FIXTURE, '--out', 's.png', '--label', '1'], 'webgpu-vae sample: error: --label needs a conditional checkpoint'],
  ])('%j', async (argv, line) => {
    const said = await expectRefusal(argv, line);
    expect(said.startsWith(line), said).toBe(true);
  });
});

describe('a folder checkpoint read without --data-dir', () => {
  /** A run folder whose checkpoint records --dataset folder, with the run's record beside it. */
  function folderRun(name: string, dataDir: string, config?: object): string {
    mkdirSync(at(name));
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(FIXTURE)));
    writeFileSync(at(name, 'model.safetensors'), encodeSafetensors(tensors, { ...metadata, dataset: 'folder' }));
    const record = { format: 'webgpu-vae-run', started: '', config: config ?? readCheckpoint(new Uint8Array(readFileSync(FIXTURE))).config, training: {}, run: { dataset: 'folder', dataDir }, resumed: [] };
    writeFileSync(at(name, 'config.json'), JSON.stringify(record));
    return at(name, 'model.safetensors');
  }

  it.each(['eval', 'reconstruct', 'interpolate'])('%s names the folder the run read', async (command) => {
    const model = folderRun(`photos-run-${command}`, 'photos/');
    const out = command === 'eval' ? [] : ['--out', at(`${command}.png`)];
    await expectRefusal([command, '--checkpoint', model, ...out],
      'the checkpoint was trained on --dataset folder, which reads files: give their folder with --data-dir DIR (the run that wrote it read --data-dir photos/)');
  });

  it('traverse --limit without --dataset suggests that folder', async () => {
    const model = folderRun('photos-run-traverse', 'photos/');
    await expectRefusal(['traverse', '--checkpoint', model, '--out', at('t.png'), '--limit', '5'], 'e.g. --dataset folder --data-dir photos/, the data set and folder the checkpoint was trained on');
  });

  it('names none when the record describes another model, or is missing', async () => {
    const model = folderRun('other-run', 'photos/', { ...readCheckpoint(new Uint8Array(readFileSync(FIXTURE))).config, latent: 3 });
    const line = await expectRefusal(['eval', '--checkpoint', model], 'give their folder with --data-dir DIR');
    expect(line).not.toContain('photos/');
    const { metadata, config } = readCheckpoint(new Uint8Array(readFileSync(model)));
    expect(recordedDataDir(model, config, metadata)).toBeNull();
    expect(recordedDataDir(FIXTURE, config, metadata)).toBeNull();
  });
});

describe('the reporter', () => {
  it('puts warnings on stderr and results on stdout, with and without --json', () => {
    for (const json of [false, true]) {
      const said: [string, string][] = [];
      const report = makeReporter(json, (stream, text) => said.push([stream, text]));
      report.info('a result');
      report.warn('the pictures changed');
      expect(said).toEqual([[json ? 'stderr' : 'stdout', 'a result\n'], ['stderr', 'warning: the pictures changed\n']]);
    }
  });
});
