// Every flag of every command, enumerated from the commands' own flag tables (COMMAND_FLAGS), so a
// new flag is covered without touching this file: an unknown near-miss, a missing value, a value
// given to a switch, an empty value and a set of odd values; typed flags also get wrong types and
// out-of-range values that must be refused. The flag tables are also checked against --help. Path
// flags and the real binary are in cli-refusals-paths.test.ts.
// A refusal is one line on stderr naming the flag, exit status 1, and nothing written.
//
// Commands run in-process through main(), with a device provider that throws a sentinel
// (tests/helpers/cli-refusals.ts): a command whose checks all pass stops there, before any data is
// loaded or file written, so hundreds of cases take seconds.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMAND_FLAGS } from '../src/cli/args';
import { commandUsage, USAGE } from '../src/cli/main';
import { runMain as run } from './helpers/cli-main';
import { baseArgs, commands, expectRefusal, SENTINEL, snapshot, useScratchFolder } from './helpers/cli-refusals';

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
  lr: ['0', '-1', 'NaN', 'Infinity', 'fast', '0x10', '0b1', '3.5e38', '1e-39'],
  beta: ['-0.5', 'NaN', 'x', '1e39'],
  'free-bits': ['-1', 'NaN', 'x', '1e39'],
  'kl-capacity': ['-1', 'NaN', 'Infinity', 'x', '1e39'],
  'capacity-steps': ['-1', '0.5', 'x', '100'],
  sigma: ['0', '-1', 'learn', 'NaN', '1e-20', '1e39'],
  hidden: ['0', '400,', 'a,b', '400,-1', '400;200'],
  dataset: ['cifar', 'MNIST'],
  activation: ['none', 'RELU', 'mish'],
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
  'clip-grad': ['-1', 'x', 'NaN', '1e39', '1e-40'],
  retries: ['-1', '101', '1.5', 'x'],
  'max-gpu-memory': ['0', '-1', '1.5', 'x', '1e3'],
};

/** Odd values every string flag gets: each must be refused cleanly or pass the checks. */
const ODD_VALUES = ['abc', '-1', '0', '1.5', '1e999', 'NaN', '0x10', ' ', '%s', '../..'];

/** Refused cleanly (as expectRefusal checks) or passed every check (the sentinel); never an internal error. */
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

useScratchFolder();

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

  it('refuses an unknown flag, naming it and the near one, or else the valid ones', async () => {
    for (const flag of flags) {
      const line = await expectRefusal([command, ...baseArgs(command, flag), `--${flag}x`], `--${flag}x`);
      expect(line).toContain(`did you mean --${flag}? (webgpu-vae ${command} --help lists every flag)`);
    }
    const far = await expectRefusal([command, '--qqqqqqqqqqqq'], "'--qqqqqqqqqqqq'");
    for (const flag of flags) expect(far).toContain(` --${flag}`);
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
