// Every path flag of every command, enumerated from the flag tables (COMMAND_FLAGS) and their path
// rules, gets a missing path, a folder where a file belongs and a file where a folder belongs, an
// unreadable path and an unwritable one; then the refusals of a path or a data set that other
// flags rule out, and a run folder that only --force may reuse. A refusal is one line on stderr
// naming the flag, exit status 1, and nothing written. Commands run in-process through main(), as
// in cli-refusals.test.ts; a few cases also run the real binary to check the exit status end to
// end.
//
// The tests run as root, and root reads and writes past file permissions (chmod 000 stops
// nothing), so "unreadable" is a dangling symbolic link and a FIFO (a read would block forever;
// the CLI refuses any non-regular file), and "not writable" is a folder under /sys, where even
// root cannot create files (EPERM), and a path under a regular file (ENOTDIR).
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMAND_FLAGS } from '../src/cli/args';
import { pathRule, type PathRule } from '../src/cli/paths';
import { encodeSafetensors } from '../src/io/safetensors';
import { runMain as run, type Outcome } from './helpers/cli-main';
import { at, baseArgs, commands, expectRefusal, FIXTURE, OLD_STATE, root, SENTINEL, snapshot, useScratchFolder } from './helpers/cli-refusals';

const BIN = join(__dirname, '..', 'bin', 'webgpu-vae.mjs');

useScratchFolder();

/** The path cases each rule must refuse, with the words the refusal must contain. */
const PATH_CASES: Record<PathRule, [what: string, path: string, says: string][]> = {
  file: [
    ['missing', at('no-such-file'), 'does not exist'],
    ['a folder', at('a-folder'), 'is a folder'],
    ['a dangling symbolic link (unreadable)', at('dangling'), 'symbolic link'],
    ['a FIFO (unreadable: a read would block)', at('fifo'), 'FIFO'],
    ['under a regular file', at('a-file', 'x'), 'is a file, not a folder'],
  ],
  folder: [
    ['missing', at('no-such-folder'), 'does not exist'],
    ['a regular file', at('a-file'), 'not a folder'],
    ['a regular file, given with a trailing slash', `${at('a-file')}/`, 'is a file, not a folder'],
    ['a dangling symbolic link (unreadable)', at('dangling'), 'symbolic link'],
    ['a FIFO', at('fifo'), 'FIFO'],
  ],
  'run-folder': [
    ['missing', at('no-such-folder'), 'does not exist'],
    ['a regular file', at('a-file'), 'not a folder'],
    ['a dangling symbolic link (unreadable)', at('dangling'), 'symbolic link'],
    ['not writable (/sys refuses even root)', '/sys/kernel', 'not writable'],
  ],
  'output-folder': [
    ['a regular file', at('a-file'), 'is a file, not a folder'],
    ['under a regular file', at('a-file', 'run'), 'is a file, not a folder'],
    ['not writable (/sys refuses even root)', '/sys/webgpu-vae-test-run', 'not writable'],
  ],
  model: [
    ['missing', at('no-such-run'), 'does not exist'],
    ['a folder without a model', at('a-folder'), 'whose model.safetensors does not exist'],
    ['a dangling symbolic link (unreadable)', at('dangling'), 'symbolic link'],
    ['a FIFO (unreadable: a read would block)', at('fifo'), 'FIFO'],
  ],
  'output-file': [
    ['a folder', at('a-folder.png'), 'is a folder'],
    ['under a regular file', at('a-file', 'x.png'), 'is a file, not a folder'],
    ['not writable (/sys refuses even root)', '/sys/webgpu-vae-test.png', 'not writable'],
  ],
};

describe('path flags', () => {
  const pathFlags = commands.flatMap((c) => Object.keys(COMMAND_FLAGS.get(c)!).filter((f) => pathRule(c, f)).map((f) => [c, f, pathRule(c, f)!] as const));

  it('covers --checkpoint, --data-dir, --resume and both --out', () => {
    expect(pathFlags.map(([c, f]) => `${c} --${f}`)).toEqual(expect.arrayContaining(['eval --checkpoint', 'sample --checkpoint', 'train --data-dir', 'eval --data-dir', 'train --resume', 'train --init-from', 'train --out', 'sample --out']));
  });

  it.each(pathFlags)('%s --%s (%s) refuses bad paths, naming the flag and the path', async (command, flag, rule) => {
    for (const [what, path, says] of PATH_CASES[rule]) {
      const line = await expectRefusal([command, ...baseArgs(command, flag), `--${flag}`, path], `--${flag} ${path}`, `${command} --${flag} ${what}`);
      expect(line, what).toContain(says);
    }
  });

  it.each([
    [[], 'IDX files'],
    [['--dataset', 'fashion-mnist'], 'IDX files'],
    [['--dataset', 'cifar10'], 'data_batch_1.bin'],
    [['--dataset', 'folder'], 'PNG or JPEG pictures'],
  ])('train --data-dir with %j says what that data set reads', async (dataset, says) => {
    const line = await expectRefusal(['train', ...dataset, '--data-dir', at('no-such-folder')], `--data-dir ${at('no-such-folder')} does not exist`);
    expect(line).toContain(says);
  });

  it.each(commands.filter((c) => COMMAND_FLAGS.get(c)!.checkpoint))('%s --checkpoint refuses a file that is not a model, naming it, before any device starts', async (command) => {
    // The device provider throws the sentinel, so a refusal here was made from the file alone.
    writeFileSync(at('not-safetensors.safetensors'), 'PNG? no: twelve bytes and then some');
    await expectRefusal([command, ...baseArgs(command, 'checkpoint'), '--checkpoint', at('not-safetensors.safetensors')],
      `${at('not-safetensors.safetensors')} is not a model checkpoint (it is text); give a runs/NAME/model.safetensors written by webgpu-vae train`);
    writeFileSync(at('not-a-model.safetensors'), encodeSafetensors({ w: { shape: [1], data: Float32Array.of(1) } }, {}));
    await expectRefusal([command, ...baseArgs(command, 'checkpoint'), '--checkpoint', at('not-a-model.safetensors')],
      `${at('not-a-model.safetensors')} is a safetensors file but not a webgpu-vae checkpoint`);
  });

  it.each([
    [['train', '--dataset', 'cifar10'], '--dataset cifar10 reads files: give their folder with --data-dir'],
    [['train', '--dataset', 'folder'], '--dataset folder reads files'],
    [['eval', '--checkpoint', FIXTURE, '--dataset', 'cifar10'], '--dataset cifar10 reads files'],
    [['reconstruct', '--checkpoint', FIXTURE, '--out', at('r.png'), '--dataset', 'folder'], '--dataset folder reads files'],
    [['traverse', '--checkpoint', FIXTURE, '--out', at('t.png'), '--dataset', 'cifar10'], '--dataset cifar10 reads files'],
    [['traverse', '--checkpoint', FIXTURE, '--out', at('t.jpg')], "--out must name a .png file, got '"],
    [['traverse', '--checkpoint', FIXTURE, '--out', at('t.png'), '--limit', '5'], '--limit needs --dataset'],
    [['traverse', '--checkpoint', FIXTURE, '--out', at('t.png'), '--data-dir', at('a-folder')], '--data-dir needs --dataset'],
    [['train', '--dataset', 'dsprites', '--data-dir', at('a-folder')], `--dataset dsprites is drawn in code and reads no files; leave out --data-dir`],
    [['train', '--dataset', 'dsprites', '--image-size', '32'], '--image-size applies to --dataset folder'],
    [['train', '--image-channels', '3'], '--image-channels applies to --dataset folder'],
    [['train', '--dataset', 'dsprites-color', '--strict'], '--strict applies to --dataset folder'],
    [['train', '--channels', '8,16'], '--channels sets the conv architecture\'s convolution widths; add --arch conv'],
    [['train', '--dense', '32'], '--dense sets the conv architecture\'s dense layers; add --arch conv'],
    [['train', '--dataset', 'folder', '--data-dir', at('pictures'), '--image-size', '32', '--out', at('pictures', 'run')], 'is inside --data-dir'],
    [['train', '--dataset', 'folder', '--data-dir', at('pictures'), '--image-size', '32', '--out', at('pictures')], 'is inside --data-dir'],
    [['train', '--out', at('half-run')], 'already holds config.json, which a new run would overwrite'],
  ])('%j: refused before any device starts, saying what to give or leave out', async (argv, says) => {
    await expectRefusal(argv, says);
  });

  it('never overwrites a run folder without --force, and --force deletes nothing before training starts', async () => {
    const line = await expectRefusal(['train', '--out', at('old-run')], 'already holds a run');
    expect(line).toContain('--force');
    const r = await run(['train', '--out', at('old-run'), '--force']);
    expect(r.stderr).toContain(SENTINEL);
    expect(readFileSync(at('old-run', 'model.safetensors'), 'utf8')).toBe('the old model');
    expect(new Uint8Array(readFileSync(at('old-run', 'training-state.safetensors')))).toEqual(OLD_STATE);
  });
});

describe('the real binary', () => {
  const cli = (args: string[]) => new Promise<Outcome>((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 120_000, cwd: root }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });

  it.each([
    [['train', '--epochs', '0'], '--epochs'],
    [['sample', '--checkpoint', at('a-folder'), '--out', at('x.png')], '--checkpoint'],
    [['eval', '--checkpoint', FIXTURE, '--limt', '5'], 'did you mean --limit'],
    // Refused at plan time, on the device, before any step: the run folder is not left behind.
    [['train', '--limit', '256', '--test-limit', '64', '--max-gpu-memory', '4', '--out', at('budget-run')], 'parameters, their gradients and the optimizer state need'],
    // Before the pictures are read: the folder is empty, which reading it would have refused.
    [['train', '--dataset', 'folder', '--data-dir', at('pictures'), '--image-size', '1024', '--max-gpu-memory', '64', '--out', at('big-run')], 'parameters, their gradients and the optimizer state need'],
  ])('%j exits 1 with one line', async (args, mention) => {
    const before = snapshot();
    const r = await cli(args);
    expect(r.code, r.stderr).toBe(1);
    // The device's status lines (which adapter, a software driver) go to stderr too; the error is one line.
    expect(r.stderr.trimEnd().split('\n').filter((line) => !/^(adapter: |no GPU found)/.test(line))).toHaveLength(1);
    expect(r.stderr).toContain(mention);
    expect(snapshot()).toEqual(before);
  });
});
