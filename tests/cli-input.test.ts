// What the command line does with input that used to slip through or get a message with no fix:
// a flag given twice, --sigma under the bernoulli likelihood, -h as a flag's value, the library's
// refusals in API words, a --norm-groups that does not divide the widths (files that are not what
// a command wants: tests/cli-checkpoint-input.test.ts). Most cases run
// in-process with a device provider that throws a sentinel, so a refusal made before any device
// starts is told apart from one made after; three cases train a tiny model on the software GPU
// (a memory budget too small for the end-of-run pictures, and --on-nan skip-batch at --lr 50).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runMain, type Outcome } from './helpers/cli-main';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRepeats, COMMAND_FLAGS, wantsHelp } from '../src/cli/args';
import { setDeviceProvider, type DeviceProvider } from '../src/cli/io';
import { selfName } from '../src/cli/self-name';
import { API_TO_FLAGS, FIELD_FLAGS, inCliTerms, toFlags } from '../src/cli/messages';
import { BAD_NUMBERS_EXIT_CODE, tooManySkipped } from '../src/cli/bad-steps';
import { trainCommand } from '../src/cli/train';
import { ConfigError } from '../src/errors';
import type { AcquiredDevice } from '../src/gpu/device';
import { MemoryBudgetError } from '../src/gpu/buffers';
import { acquireNodeDevice } from '../src/gpu/node-device';
import { resolveConfig, type VaeConfig } from '../src/model/config';
import { restateRefusal } from '../src/model/vae-options';
import { tempDir } from './helpers/temp-dir';
import { passesChecks, refusedBeforeDevice, SENTINEL } from './helpers/cli-refusals';

const FIXTURE = join(__dirname, 'fixtures', 'v1-checkpoint.safetensors');
const BIN = join(__dirname, '..', 'bin', 'webgpu-vae.mjs');
const root = tempDir('webgpu-vae-input-');
const at = (...p: string[]) => join(root, ...p);

const run = runMain;

const refused = refusedBeforeDevice, passes = passesChecks;

let previous: DeviceProvider;
beforeAll(() => { previous = setDeviceProvider(() => Promise.reject(new Error(SENTINEL))); });
afterAll(() => setDeviceProvider(previous));

describe('a value of a fixed set, misspelled', () => {
  it('is refused with the nearest value, and with the list alone when none is near', async () => {
    await refused(['train', '--lr-decay', 'cosin', '--out', at('run')], /^webgpu-vae train: error: --lr-decay must be one of none, cosine; got 'cosin' \(did you mean cosine\?\)$/m);
    await refused(['train', '--dataset', 'mnsit', '--out', at('run')], /got 'mnsit' \(did you mean mnist\?\)$/m);
    await refused(['train', '--on-nan', 'ignore', '--out', at('run')], /--on-nan must be one of stop, skip-batch, rollback; got 'ignore'$/m);
  });
});

describe('a flag given twice', () => {
  it('is refused with both values, for every flag of every command, before anything starts', async () => {
    await refused(['train', '--batch', '16', '--batch', '32', '--out', at('run')], "--batch given twice ('16' and '32'); give it once");
    await refused(['train', '--resume', at('a'), '--resume', at('b')], /--resume given twice \('.*a' and '.*b'\); give it once/);
    await refused(['train', '--json', '--out', at('run'), '--json'], '--json given twice; give it once');
    await refused(['train', '--lr=1e-3', '--lr', '1e-4', '--out', at('run')], "--lr given twice ('1e-3' and '1e-4')");
    // A missing value is parseFlags' to report, not a repeat.
    await refused(['train', '--batch', '--batch', '32'], '--batch needs a value');
    expect(() => checkRepeats(['--out', 'a', '--out=b'], COMMAND_FLAGS.get('train'))).toThrow("--out given twice ('a' and 'b')");
    for (const [command, table] of COMMAND_FLAGS) {
      for (const [flag, spec] of Object.entries(table)) {
        const twice = spec.type === 'boolean' ? [`--${flag}`, `--${flag}`] : [`--${flag}`, 'x1', `--${flag}`, 'x2'];
        await refused([command, ...twice], `--${flag} given twice`);
      }
    }
  });
});

describe('--sigma', () => {
  it('is refused unless the likelihood is gaussian, and passes with it', async () => {
    await refused(['train', '--sigma', '0.5', '--out', at('run')], "--sigma sets the gaussian likelihood's scale", 'the bernoulli likelihood (the default) has none: add --likelihood gaussian, or leave out --sigma');
    await refused(['train', '--likelihood', 'bernoulli', '--sigma', 'learned', '--out', at('run')], 'add --likelihood gaussian, or leave out --sigma');
    await passes(['train', '--likelihood', 'gaussian', '--sigma', '0.5', '--out', at('run')]);
    await passes(['train', '--likelihood', 'gaussian', '--sigma', 'predicted', '--out', at('run')]);
  });
});

describe('-h and --help', () => {
  it('ask for help where a flag goes, not as the value of the flag before them', async () => {
    await refused(['train', '--seed', '-h'], "--seed must be an integer >= 0, got '-h'");
    await refused(['sample', '--checkpoint', FIXTURE, '--out', '-h'], "--out must name a .png file, got '-h'");
    for (const argv of [['train', '--seed', '1', '-h'], ['train', '--json', '-h'], ['train', '--seed', '--help'], ['eval', '-h', '--checkpoint', FIXTURE]]) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(0);
      expect(r.stdout, argv.join(' ')).toMatch(/^usage: webgpu-vae \w+ \[flags\]/);
    }
    const table = COMMAND_FLAGS.get('train');
    expect(wantsHelp(['--out', '-h'], table)).toBe(false);
    expect(wantsHelp(['--out=x', '-h'], table)).toBe(true);
    expect(wantsHelp(['--conditional', '-h'], table)).toBe(true);
  });
});

describe('the top level', () => {
  it('prints the usage to stderr with exit 1 when nothing is asked, and to stdout for --help', async () => {
    const none = await run([]);
    expect([none.code, none.stdout]).toEqual([1, '']);
    expect(none.stderr).toMatch(/^usage: webgpu-vae <command>/);
    const help = await run(['--help']);
    expect([help.code, help.stderr]).toEqual([0, '']);
    expect(help.stdout).toMatch(/^usage: webgpu-vae <command>/);
  });

  it('--version prints package.json\'s version', async () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
    const r = await run(['--version']);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, `webgpu-vae ${version}\n`, '']);
  });
});

describe('the library\'s refusals in CLI terms', () => {
  /** The ConfigError resolveConfig raises for `partial`. */
  const refusalOf = (partial: Partial<VaeConfig>): string => {
    try {
      resolveConfig(partial);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as Error).message;
    }
    throw new Error(`no refusal for ${JSON.stringify(partial)}`);
  };
  const apiWords = new RegExp(`(?<![-\\w])(${Object.keys(FIELD_FLAGS).join('|')})\\b|(?<![-\\w])(init|arch|norm|upsample|precision) '?(pytorch|kaiming|mlp|conv|none|group|nearest|transposed|f32|f16)\\b|memoryBudget|without strict|batch in the API|in the CLI`);

  it('names flags, not API fields, and every one says what to do', () => {
    const cases: [Partial<VaeConfig>, string][] = [
      [{ objective: 'tcvae', klCapacity: 5 }, 'leave out --kl-capacity, or use --objective elbo'],
      [{ objective: 'iwae', klCapacity: 5 }, '--kl-capacity controls the elbo objective'],
      [{ klCapacity: 5, freeBits: 1 }, 'leave out --free-bits, --warmup-steps and --kl-cycle-steps'],
      [{ capacitySteps: 10 }, '(e.g. --kl-capacity 25)'],
      [{ init: 'kaiming' }, '--init kaiming sets the conv architecture\'s convolution weights; the mlp architecture starts as PyTorch\'s examples/vae (use --init pytorch, or --arch conv)'],
      [{ norm: 'group' }, '(use --norm none, or --arch conv)'],
      [{ upsample: 'nearest' }, '--upsample nearest sets how the conv architecture\'s decoder grows its pictures; the mlp architecture has no convolutions (use --upsample transposed, or --arch conv)'],
      [{ objective: 'iwae', beta: 2 }, 'apply to the elbo and tcvae objectives only; the iwae bound has no separate KL term (use --objective elbo, or leave out --beta, --warmup-steps, --kl-cycle-steps and --free-bits)'],
      [{ klCycleSteps: 10 }, '--kl-cycle-steps 10 repeats the KL warm-up, so it needs --warmup-steps between 1 and 10'],
      [{ dequantize: true }, '--dequantize applies to the gaussian likelihood'],
      [{ likelihood: 'gaussian', dequantize: true, binarize: 'fixed' }, '--dequantize and --binarize exclude each other'],
      [{ arch: 'conv', inputDim: 27 * 27, imageShape: [27, 27] }, 'use --arch mlp, or images with even sides (an even --image-size for a folder of pictures)'],
      [{ channels: [8] }, '(--hidden) instead'],
      [{ arch: 'conv', inputDim: 12 * 20, imageShape: [12, 20], channels: [8, 16, 32] }, 'give at most 2 channels (--channels 8,16)'],
      [{ arch: 'conv', inputDim: 4, imageShape: [2, 2] }, 'at most 1 (--channels 32), or use --arch mlp'],
    ];
    for (const [partial, says] of cases) {
      const said = toFlags(refusalOf(partial));
      expect(said, JSON.stringify(partial)).toContain(says);
      expect(said, JSON.stringify(partial)).not.toMatch(apiWords);
    }
    // Raised with the device (precision), the data (a strict folder) and the memory budget.
    const elsewhere: [string, string][] = [
      ["precision 'f16' needs the WebGPU feature 'shader-f16', which this device (x) does not have; use precision 'f32' (the default)", "--precision f16 needs the WebGPU feature 'shader-f16', which this device (x) does not have; use --precision f32 (the default)"],
      ['a.png: broken. Strict loading refuses the folder; remove or fix the file, or load without strict to skip it.', 'a.png: broken. --strict refuses the folder; remove or fix the file, or leave out --strict to skip it.'],
      // The command line's device has the adapter's most already: no limits to request.
      ["buffer train[128].pool0 needs 300 bytes but this device's maxStorageBufferBindingSize is 200; use a smaller batch or model, or, where the adapter allows more, request the device with requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize } (acquire*Device() asks for the adapter's most)",
        "buffer train[128].pool0 needs 300 bytes but this device's maxStorageBufferBindingSize is 200; use a smaller batch or model"],
      ['the folder one: 1 usable picture, but a train/test split with testFraction 0.1 needs at least 2: one to train on and one to test. Add pictures (or, in the API, set testFraction 0 to train on all of them).',
        'the folder one: 1 usable picture, but holding a tenth of them out for testing needs at least 2: one to train on and one to test. Add pictures.'],
    ];
    for (const [message, cli] of elsewhere) expect(toFlags(message)).toBe(cli);
    const budget = restateRefusal(new MemoryBudgetError('x', 'graph train', 8 << 20, 1 << 20, 4 << 20), 64) as Error;
    expect(toFlags(budget.message)).toMatch(/use --batch \d+ or less, or raise the budget \(--max-gpu-memory MiB\)$/);
    expect(toFlags(budget.message)).not.toMatch(apiWords);
    const model = restateRefusal(new MemoryBudgetError('x', 'parameters', 8 << 20, 0, 4 << 20), 64) as Error;
    expect(model.message).toContain('use a smaller model (hidden, channels, imageShape; --hidden, --channels, --image-size in the CLI)');
    expect(toFlags(model.message)).toContain('use a smaller model (--hidden, --channels, --image-size) or raise the budget (--max-gpu-memory MiB)');
    expect(toFlags('dataset train needs 9 bytes; use fewer examples (fewer rows; --limit, --test-limit in the CLI), or raise')).toBe('dataset train needs 9 bytes; use fewer examples (--limit, --test-limit), or raise');
    // A flag already in CLI terms is left alone; a checkpoint's own message is not rewritten.
    expect(toFlags('--init pytorch and --kl-capacity 5')).toBe('--init pytorch and --kl-capacity 5');
    expect(inCliTerms(Object.assign(new Error('x has an invalid model configuration: klCapacity must be'), { name: 'CheckpointError' }))).toContain('klCapacity');
    expect(API_TO_FLAGS.length).toBeGreaterThan(10);
  });

  it('reach the command line rewritten, before any device starts', async () => {
    await refused(['train', '--objective', 'iwae', '--beta', '2', '--out', at('run')], 'use --objective elbo, or leave out --beta');
    await refused(['train', '--kl-capacity', '25', '--free-bits', '0.5', '--out', at('run')], /^webgpu-vae train: error: --kl-capacity schedules the KL term itself .*: leave out --free-bits/);
    await refused(['train', '--objective', 'tcvae', '--kl-capacity', '5', '--out', at('run')], '(leave out --kl-capacity, or use --objective elbo)');
    await refused(['train', '--objective', 'tcvae', '--batch', '1', '--out', at('run')], '--objective tcvae estimates the total correlation from the other examples of each batch, and a batch of 1 has none');
    await refused(['train', '--init', 'kaiming', '--out', at('run')], '(use --init pytorch, or --arch conv)');
  });
});

describe('--upsample', () => {
  it('takes transposed or nearest for the conv architecture only', async () => {
    await refused(['train', '--upsample', 'nearest', '--out', at('run')], '--upsample nearest sets how the conv architecture\'s decoder grows its pictures; add --arch conv, or leave out --upsample');
    await refused(['train', '--arch', 'conv', '--upsample', 'bilinear', '--out', at('run')], /--upsample.*transposed, nearest/);
    await passes(['train', '--arch', 'conv', '--upsample', 'nearest', '--out', at('run')]);
  });
});

describe('--norm-groups', () => {
  it('must divide every convolution width, the default ones included; the valid counts are named', async () => {
    await refused(['train', '--arch', 'conv', '--norm', 'group', '--channels', '8,12', '--norm-groups', '8', '--out', at('run')],
      '--norm-groups 8 does not divide the convolution width 12 (of 8, 12)', 'give --norm-groups 1, 2 or 4');
    await refused(['train', '--arch', 'conv', '--norm', 'group', '--channels', '8', '--norm-groups', '3', '--out', at('run')], 'give --norm-groups 1, 2, 4 or 8');
    await refused(['train', '--arch', 'conv', '--norm', 'group', '--norm-groups', '3', '--out', at('run')], /the convolution widths [\d, ]+, the default --channels for these pictures/);
    await passes(['train', '--arch', 'conv', '--norm', 'group', '--channels', '8,12', '--norm-groups', '4', '--out', at('run')]);
    await passes(['train', '--arch', 'conv', '--norm', 'group', '--channels', '8,12', '--out', at('run')]);
  });
});

describe('--on-nan skip-batch', () => {
  it('ends a run whose epoch skipped more than half its steps, except a first epoch that more follow', () => {
    expect(tooManySkipped(7, 8, 1, 1)).toBe(true);
    expect(tooManySkipped(7, 8, 1, 4)).toBe(false);
    expect(tooManySkipped(5, 8, 2, 4)).toBe(true);
    expect(tooManySkipped(4, 8, 2, 4)).toBe(false);
    expect(tooManySkipped(0, 8, 3, 3)).toBe(false);
  });
});

describe('on the software GPU', () => {
  const SLOW = 300_000;
  const cli = (args: string[]) => new Promise<Outcome>((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: SLOW }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
  const TINY = ['--limit', '2048', '--test-limit', '64', '--epochs', '1', '--batch', '2048', '--hidden', '32', '--latent', '4'];

  it('a --max-gpu-memory too small for the end-of-run pictures is refused before the first step, naming the budget that does', async () => {
    // 784-32-4 at batch 2048: the step and data take ~35 MiB, the evaluation and the pictures ~30 more.
    const dir = at('budget');
    const r = await cli(['train', ...TINY, '--max-gpu-memory', '40', '--out', dir]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).not.toMatch(/epoch 1:/);
    const need = r.stderr.match(/samples\.png and reconstructions\.png need .* more than the memory budget of 40\.0 MiB; give --max-gpu-memory (\d+) or more/);
    expect(need, r.stderr).not.toBeNull();
    expect(existsSync(dir), 'nothing written').toBe(false);
    const enough = await cli(['train', ...TINY, '--max-gpu-memory', need![1], '--out', dir]);
    expect(enough.code, enough.stderr).toBe(0);
    expect(enough.stdout).toMatch(/wrote .*samples\.png, .*reconstructions\.png/);
  }, SLOW);

  it('--lr 50 --on-nan skip-batch: the epoch says how many steps it skipped, and the run exits 3 with a command that works', async () => {
    let device: AcquiredDevice | undefined;
    try {
      device = await acquireNodeDevice();
      const dir = at('skip');
      const out: string[] = [];
      const args = ['--hidden', '32', '--latent', '4', '--limit', '512', '--batch', '64', '--test-limit', '128', '--epochs', '1', '--lr', '50', '--on-nan', 'skip-batch', '--out', dir];
      const code = await trainCommand([...args, '--json'], { device, print: (_s, t) => out.push(t) });
      const text = out.join('');
      const events = text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      expect(code, text).toBe(BAD_NUMBERS_EXIT_CODE);
      // Step 1 is applied (and blows the model up); steps 2 to 8 are flagged and skipped.
      expect(events.find((e) => e.event === 'epoch')).toMatchObject({ epoch: 1, skipped_steps: 7, epoch_steps: 8 });
      const stop = events.find((e) => e.event === 'bad-numbers');
      expect(stop).toMatchObject({ action: 'stop', reason: 'skipped', skipped_steps: 7, epoch_steps: 8, suggested_lr: 5 });
      expect(stop.restart).toBe(`${selfName()} train ${[...args.filter((a) => a !== '50' && a !== '--lr' && a !== '--out' && a !== dir), '--json', '--lr', '5', '--out', dir, '--force'].join(' ')}`);
      expect(text).toContain('7 of the 8 steps of epoch 1 were skipped (--on-nan skip-batch), more than half');
      // Stopped mid-epoch and resumed, the epoch counts the steps skipped before the stop too.
      const stopped = at('skip-resumed');
      const human: string[] = [];
      const first = await trainCommand([...args.filter((a) => a !== dir && a !== '--out'), '--out', stopped], { device, print: (_s, t) => human.push(t), afterStep: (step, stop) => { if (step === 4) stop(); } });
      expect(first, human.join('')).toBe(130);
      expect(await trainCommand(['--resume', stopped], { device, print: (_s, t) => human.push(t) })).toBe(BAD_NUMBERS_EXIT_CODE);
      expect(human.join('')).toMatch(/epoch 1: .* \| 7 of 8 steps skipped\n/);
      expect(human.join('')).toContain('(another --out, or --force to replace this run in');
      // A bernoulli run resumed with --sigma: refused, naming the run's likelihood.
      await refused(['train', '--resume', stopped, '--epochs', '2', '--sigma', '1'], `the run in ${stopped} uses the bernoulli likelihood, which has none; resume without --sigma`);
    } finally {
      device?.device.destroy();
    }
  }, SLOW);
});

