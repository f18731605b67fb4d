// Every flag of every command, enumerated from the commands' own flag tables (COMMAND_FLAGS), so a
// new flag is covered without touching this file: an unknown near-miss, a missing value, a value
// given to a switch, an empty value and a set of odd values; typed flags also get wrong types and
// out-of-range values that must be refused; every path flag gets a missing path, a folder where a
// file belongs and a file where a folder belongs, an unreadable path and an unwritable one.
// A refusal is one line on stderr naming the flag, exit status 1, and nothing written.
//
// Commands run in-process through main(), with a device provider that throws a sentinel: a command
// whose checks all pass stops there, before any data is loaded or file written, so hundreds of
// cases take seconds. A few cases also run the real binary to check the exit status end to end.
//
// The tests run as root, and root reads and writes past file permissions (chmod 000 stops
// nothing), so "unreadable" is a dangling symbolic link and a FIFO (a read would block forever;
// the CLI refuses any non-regular file), and "not writable" is a folder under /sys, where even
// root cannot create files (EPERM), and a path under a regular file (ENOTDIR).
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runMain, type Outcome } from './helpers/cli-main';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_FLAGS } from '../src/cli/args';
import { setDeviceProvider, type DeviceProvider } from '../src/cli/io';
import { commandUsage, main, USAGE } from '../src/cli/main';
import { pathRule, type PathRule } from '../src/cli/paths';
import { encodeSafetensors } from '../src/io/safetensors';
import { tempDir } from './helpers/temp-dir';

const FIXTURE = join(__dirname, 'fixtures', 'v1-checkpoint.safetensors');
const BIN = join(__dirname, '..', 'bin', 'webgpu-vae.mjs');
const SENTINEL = 'all checks passed; no device in this test';

const root = tempDir('webgpu-vae-refusals-');
const at = (...p: string[]) => join(root, ...p);

/** Values of typed flags that must be refused (wrong type or out of range); flags not present yet are skipped. */
const MUST_REFUSE: Record<string, string[]> = {
  epochs: ['0', '-3', '2.5', 'ten', '1e3', '99999999999999999999'],
  batch: ['0', '65536', '1.5', 'x'],
  latent: ['0', '-1', '3.5', 'z'],
  limit: ['0', '-5', '1.5', 'all'],
  'test-limit': ['0', '-5', 'all'],
  n: ['0', '4097', '2.5', 'many'],
  pairs: ['0', '257', '1.5', 'some'],
  steps: ['1', '65', '2.5', 'x'],
  iwae: ['0', '-1', '1.5', 'k'],
  seed: ['-1', '1.5', 'random'],
  'warmup-steps': ['-1', '0.5', 'x'],
  'kl-cycle-steps': ['-1', '0.5', 'x', '100'],
  'lr-decay': ['linear', 'step'],
  'lr-min': ['-1', 'x', '0.5'],
  'save-every': ['-1', '0.5', 'x'],
  label: ['-1', '1.5', 'cat'],
  samples: ['0', '65', 'x'],
  'samples-per-x': ['0', '65', 'x'],
  lr: ['0', '-1', 'NaN', 'Infinity', 'fast', '0x10', '0b1'],
  beta: ['-0.5', 'NaN', 'x'],
  'free-bits': ['-1', 'NaN', 'x'],
  'kl-capacity': ['-1', 'NaN', 'Infinity', 'x'],
  'capacity-steps': ['-1', '0.5', 'x', '100'],
  sigma: ['0', '-1', 'learn', 'NaN'],
  hidden: ['0', '400,', 'a,b', '400,-1', '400;200'],
  dataset: ['cifar', 'MNIST'],
  activation: ['none', 'RELU', 'gelu'],
  likelihood: ['poisson'],
  objective: ['vae'],
  binarize: ['yes'],
  optimizer: ['rmsprop'],
  arch: ['transformer'],
  channels: ['0', '32,', 'x'],
  'image-size': ['3', '1025', 'x'],
  'image-channels': ['2', 'rgb'],
  autotune: ['sometimes', 'ON'],
  precision: ['f8', 'F16', 'half'],
  'on-nan': ['explode', ''],
  'clip-grad': ['-1', 'x', 'NaN'],
  retries: ['-1', '101', '1.5', 'x'],
  'max-gpu-memory': ['0', '-1', '1.5', 'x', '1e3'],
};

/** Odd values every string flag gets: each must be refused cleanly or pass the checks. */
const ODD_VALUES = ['abc', '-1', '0', '1.5', '1e999', 'NaN', '0x10', ' ', '%s', '../..'];

/** Flags and values that make the rest of each command valid. */
function baseArgs(command: string, probed: string): string[] {
  const base: Record<string, [string, string][]> = {
    train: probed === 'resume' ? [] : [['out', at('new-run')]],
    eval: [['checkpoint', FIXTURE]],
    sample: [['checkpoint', FIXTURE], ['out', at('samples.png')]],
    traverse: [['checkpoint', FIXTURE], ['out', at('traversal.png')]],
    reconstruct: [['checkpoint', FIXTURE], ['out', at('reconstructions.png')]],
    interpolate: [['checkpoint', FIXTURE], ['out', at('interpolation.png')]],
  };
  return (base[command] ?? []).filter(([k]) => k !== probed).flatMap(([k, v]) => [`--${k}`, v]);
}

const run = runMain;

/** Names, sizes and modification times of everything under the scratch folder. */
function snapshot(dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return [p + '/', ...snapshot(p)];
    const s = e.isSymbolicLink() || e.isFIFO() ? null : statSync(p);
    return [`${p} ${s ? `${s.size} ${s.mtimeMs}` : e.isFIFO() ? 'fifo' : 'link'}`];
  });
}

/** Runs argv and expects one line naming `mention` on stderr, exit 1, and the scratch folder unchanged. */
async function expectRefusal(argv: string[], mention: string, what = argv.join(' ')): Promise<string> {
  const before = snapshot();
  const r = await run(argv);
  expect(r.stderr, `${what}: internal error`).not.toContain('internal error');
  expect(r.code, `${what}: exit status (stderr: ${r.stderr})`).toBe(1);
  expect(r.stderr.endsWith('\n') && r.stderr.indexOf('\n') === r.stderr.length - 1, `${what}: one line, got ${JSON.stringify(r.stderr)}`).toBe(true);
  expect(r.stderr, what).toContain(mention);
  expect(r.stdout, `${what}: stdout`).toBe('');
  expect(snapshot(), `${what}: files written`).toEqual(before);
  return r.stderr;
}

/** Refused cleanly (as above) or passed every check (the sentinel); never an internal error. */
async function expectCleanOutcome(argv: string[], flag: string): Promise<'refused' | 'passed'> {
  const before = snapshot();
  const r = await run(argv);
  const what = argv.join(' ');
  expect(snapshot(), `${what}: files written`).toEqual(before);
  if (r.code === 2 && r.stderr.includes(SENTINEL)) return 'passed';
  expect(r.code, `${what}: ${r.stderr}`).toBe(1);
  expect(r.stderr.trimEnd().includes('\n'), `${what}: one line, got ${JSON.stringify(r.stderr)}`).toBe(false);
  expect(r.stderr, what).toContain(`--${flag}`);
  return 'refused';
}

const commands = [...COMMAND_FLAGS.keys()];
const cwd = process.cwd();
let previous: DeviceProvider;

beforeAll(() => {
  // Relative paths (train's default runs/NAME, odd values such as 'abc') land in the scratch folder.
  process.chdir(root);
  previous = setDeviceProvider(() => Promise.reject(new Error(SENTINEL)));
  mkdirSync(at('a-folder'));
  mkdirSync(at('a-folder.png'));
  writeFileSync(at('a-file'), 'not a folder');
  symlinkSync(at('nowhere'), at('dangling'));
  execFileSync('mkfifo', [at('fifo')]);
  mkdirSync(at('old-run'));
  writeFileSync(at('old-run', 'model.safetensors'), 'the old model');
  writeFileSync(at('old-run', 'training-state.safetensors'), 'the old state');
  mkdirSync(at('half-run'));
  writeFileSync(at('half-run', 'config.json'), '{"someone": "else\'s file"}');
  mkdirSync(at('pictures'));
});

afterAll(() => {
  setDeviceProvider(previous);
  process.chdir(cwd);
});

describe('flag tables', () => {
  it('lists train, eval and sample, each with flags', () => {
    expect(commands).toEqual(expect.arrayContaining(['train', 'eval', 'sample']));
    for (const c of commands) expect(Object.keys(COMMAND_FLAGS.get(c)!).length, c).toBeGreaterThan(2);
  });

  it('--help names every flag of every command, in that command\'s lines', () => {
    const lines = USAGE.split('\n');
    for (const [command, table] of COMMAND_FLAGS) {
      const own = lines.filter((l, i) => {
        const first = lines.slice(0, i + 1).reverse().find((x) => /^  \w/.test(x));
        return first?.trim().startsWith(command);
      }).join('\n');
      const missing = Object.keys(table).filter((name) => !own.includes(`--${name}`));
      expect(missing, `${command}: flags missing from --help`).toEqual([]);
    }
  });

  it('the README\'s command-line block is --help, word for word', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    expect(readme.includes('```\n' + USAGE + '\n```'), 'README.md: paste the output of `webgpu-vae --help` into its Command line block').toBe(true);
  });

  it('a command\'s --help carries the notes that name it', () => {
    for (const command of ['eval', 'reconstruct', 'interpolate']) expect(commandUsage(command), command).toMatch(/read the test pictures of the data set the checkpoint was trained on/);
    for (const command of ['train', 'sample', 'traverse']) expect(commandUsage(command), command).not.toMatch(/the checkpoint was trained on/);
  });

  it('`<command> --help` prints that command\'s lines with every one of its flags, and starts nothing', async () => {
    for (const [command, table] of COMMAND_FLAGS) {
      for (const argv of [[command, '--help'], [command, ...baseArgs(command, ''), '-h']]) {
        const before = snapshot();
        const r = await run(argv);
        expect(r.code, argv.join(' ')).toBe(0);
        expect(r.stderr, argv.join(' ')).toBe('');
        expect(r.stdout.startsWith(`usage: webgpu-vae ${command} `), r.stdout).toBe(true);
        const missing = Object.keys(table).filter((name) => !r.stdout.includes(`--${name}`));
        expect(missing, `${command} --help: flags missing`).toEqual([]);
        const others = [...COMMAND_FLAGS.keys()].filter((c) => c !== command && new RegExp(`^  ${c} `, 'm').test(r.stdout));
        expect(others, `${command} --help shows other commands`).toEqual([]);
        expect(snapshot(), `${argv.join(' ')}: files written`).toEqual(before);
      }
    }
  });

  it('every base command line passes the checks (so each refusal below is the probed flag\'s)', async () => {
    for (const c of commands) {
      const r = await run([c, ...baseArgs(c, '')]);
      expect(r.stderr, c).toContain(SENTINEL);
    }
  });
});

describe.each(commands)('%s', (command) => {
  const table = COMMAND_FLAGS.get(command)!;
  const flags = Object.keys(table);
  const strings = flags.filter((f) => table[f].type === 'string');

  it('refuses an unknown flag, naming it and the valid ones', async () => {
    for (const flag of flags) {
      const line = await expectRefusal([command, ...baseArgs(command, flag), `--${flag}x`], `--${flag}x`);
      expect(line).toContain('Valid flags:');
    }
    await expectRefusal([command, '-n', '3'], "'-n'");
    await expectRefusal([command, 'stray'], "'stray'");
  });

  it('refuses a flag with its value missing, at the end or before another flag', async () => {
    for (const flag of strings) {
      await expectRefusal([command, ...baseArgs(command, flag), `--${flag}`], `--${flag} needs a value`);
      await expectRefusal([command, `--${flag}`, '--json', ...baseArgs(command, flag)], `--${flag} needs a value`);
      await expectRefusal([command, ...baseArgs(command, flag), `--${flag}=`], `--${flag}`);
    }
  });

  it('refuses a value given to a switch', async () => {
    for (const flag of flags.filter((f) => table[f].type === 'boolean')) {
      await expectRefusal([command, ...baseArgs(command, flag), `--${flag}=yes`], `--${flag} is a switch`);
    }
  });

  it('refuses wrong types and out-of-range values of typed flags', async () => {
    let cases = 0;
    for (const flag of strings.filter((f) => MUST_REFUSE[f])) {
      for (const value of MUST_REFUSE[flag]) {
        await expectRefusal([command, ...baseArgs(command, flag), `--${flag}=${value}`], `--${flag}`);
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(5);
  });

  it('meets odd values of every string flag with a clean refusal or a pass, never a crash or a write', async () => {
    const outcomes: Record<string, number> = { refused: 0, passed: 0 };
    for (const flag of strings) {
      for (const value of ODD_VALUES) outcomes[await expectCleanOutcome([command, ...baseArgs(command, flag), `--${flag}=${value}`], flag)]++;
    }
    expect(outcomes.refused).toBeGreaterThan(0);
  });
});

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
    [['traverse', '--checkpoint', FIXTURE, '--out', at('t.jpg')], "traverse: --out must name a .png file, got '"],
    [['traverse', '--checkpoint', FIXTURE, '--out', at('t.png'), '--limit', '5'], 'traverse: --limit needs --dataset'],
    [['traverse', '--checkpoint', FIXTURE, '--out', at('t.png'), '--data-dir', at('a-folder')], 'traverse: --data-dir needs --dataset'],
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
    expect(readFileSync(at('old-run', 'training-state.safetensors'), 'utf8')).toBe('the old state');
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
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(mention);
    expect(snapshot()).toEqual(before);
  });
});
