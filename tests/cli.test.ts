// The command line as users and scripts call it: a short training run learns (its loss, its PNGs'
// pixels and eval's figure against a float64 evaluation of its checkpoint say so), eval and
// sample read its checkpoint, and mistakes give one line and exit 1.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/checkpoint';
import { loadMnistNode } from '../src/data/mnist-node';
import { gridImages, pairImages, pearson, readPng, varianceOf } from './helpers/png-grid';
import { elboOfCheckpoint } from './reference/checkpoint-elbo';
import { tempDir } from './helpers/temp-dir';
import { describeStoredData } from '../src/cli/train-report';

const BIN = join(__dirname, '..', 'bin', 'webgpu-vae.mjs');
/**
 * A run can take minutes on a busy 2-core machine with a software GPU: the processes are waited
 * for (they exit on their own, or fail), and this only stops a hung one.
 */
const LONG = 1_200_000;

/**
 * The small run: 8192 images, batch 32, hidden 64, latent 20, 2 epochs (512 steps). Measured on
 * SwiftShader, seed 0: epoch-2 train loss 180.2, test -ELBO 166.6 over 300 test images. The best
 * model that ignores its input (a decoder bias fitted to the very images it is scored on) gets
 * 205.5 nats on those training images and 194.4 on those test images; the bounds sit ~20 nats
 * above the measured figures and clearly below those.
 */
const SMALL = { limit: 8192, maxTrainLoss: 200, maxTestLoss: 190 };
const TEST_LIMIT = 300;
/** Draws of z per image in the float64 evaluation of the reconstruction term. */
const REF_SAMPLES = 8;
/** The CLI's grids: 28x28 images at scale 2, 1 pixel apart, 8 to a row. */
const GRID = { rows: 28, cols: 28, gridCols: 8, scale: 2, pad: 1 };
const GRID_SIDE = 1 + 8 * (28 * 2 + 1);
/** Thresholds on the trained run's pictures (measured values in the test's log and below). */
const MIN_SAMPLE_VARIANCE = 50; // a blank or flat tile has 0; the faintest measured sample had 146
const MIN_MEDIAN_SAMPLE_VARIANCE = 800; // measured median 1445 (a digit on black is ~4000-6000)
const MIN_SAMPLE_SPREAD = 20;
const MIN_MEDIAN_R = 0.6; // measured 0.73; against another test image it is 0.38
const MIN_R = 0.4; // measured 0.55

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** Mean absolute grey-level difference over all pairs of images. */
function meanPairDifference(images: Uint8Array[]): number {
  let sum = 0, pairs = 0;
  for (let a = 0; a < images.length; a++) {
    for (let b = 0; b < a; b++, pairs++) sum += images[a].reduce((s, v, q) => s + Math.abs(v - images[b][q]), 0) / images[a].length;
  }
  return sum / pairs;
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: LONG, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as NodeJS.ErrnoException & { code?: number }).code as unknown as number) ?? 1 : 0, stdout, stderr });
    });
  });
}

const jsonLines = (s: string) => s.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));

describe('webgpu-vae CLI', { timeout: LONG }, () => {
  const dir = tempDir('webgpu-vae-cli-');
  const out = join(dir, 'run');

  it('train learns: the loss falls far, samples are drawn, reconstructions follow their originals, eval agrees with float64', async () => {
    const r = await cli(['train', '--limit', String(SMALL.limit), '--epochs', '2', '--json', '--test-limit', String(TEST_LIMIT), '--hidden', '64', '--batch', '32', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const events = jsonLines(r.stdout);
    const epochs = events.filter((e) => e.event === 'epoch');
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2]);
    const last = epochs[1];
    for (const k of ['train_loss', 'test_loss', 'test_kl', 'test_rec', 'seconds', 'samples_per_s']) expect(Number.isFinite(last[k]), k).toBe(true);
    expect(last.test_loss).toBeCloseTo(last.test_rec + last.test_kl, 3);
    console.log(`cli: train loss by epoch ${epochs.map((e) => e.train_loss.toFixed(1)).join(', ')}; test -ELBO ${last.test_loss.toFixed(1)} (rec ${last.test_rec.toFixed(1)}, KL ${last.test_kl.toFixed(1)})`);
    // An untrained model scores about 784 ln 2 = 543 nats; one that learned only the decoder's
    // bias (the mean image) 205.5 on these training and 194.4 on these test images at best.
    expect(last.train_loss).toBeLessThan(SMALL.maxTrainLoss);
    expect(last.test_loss).toBeLessThan(SMALL.maxTestLoss);
    const done = events.find((e) => e.event === 'done');
    expect(done.files).toEqual({ model: join(out, 'model.safetensors'), samples: join(out, 'samples.png'), reconstructions: join(out, 'reconstructions.png') });
    const ckpt = readCheckpoint(new Uint8Array(readFileSync(done.files.model)));
    expect(ckpt.config.hidden).toEqual([64]);

    // samples.png: 8x8 grid; every sample is drawn (not blank, not flat) and they differ.
    const samplePic = readPng(readFileSync(done.files.samples));
    expect([samplePic.width, samplePic.height]).toEqual([GRID_SIDE, GRID_SIDE]);
    const samples = gridImages(samplePic, GRID, 64);
    const sampleVariances = samples.map(varianceOf);
    const spread = meanPairDifference(samples);
    console.log(`cli: sample pixel variance min ${Math.min(...sampleVariances).toFixed(0)} median ${median(sampleVariances).toFixed(0)}; mean |difference| between samples ${spread.toFixed(1)} grey levels`);
    expect(Math.min(...sampleVariances), 'a blank or uniform sample').toBeGreaterThan(MIN_SAMPLE_VARIANCE);
    expect(median(sampleVariances), 'most samples are faint').toBeGreaterThan(MIN_MEDIAN_SAMPLE_VARIANCE);
    expect(spread, 'the samples are all alike').toBeGreaterThan(MIN_SAMPLE_SPREAD);

    // reconstructions.png: the first 32 test images above their reconstructions.
    const test = await loadMnistNode('test', { limit: TEST_LIMIT });
    const { originals, reconstructions } = pairImages(readPng(readFileSync(done.files.reconstructions)), GRID, 32);
    for (let i = 0; i < 32; i++) expect(Array.from(originals[i]), `original ${i}`).toEqual(Array.from(test.images.subarray(i * 784, (i + 1) * 784)));
    const own = reconstructions.map((rec, i) => pearson(rec, originals[i]));
    const other = reconstructions.map((rec, i) => pearson(rec, originals[(i + 1) % 32]));
    console.log(`cli: reconstruction vs its original r min ${Math.min(...own).toFixed(2)} median ${median(own).toFixed(2)}; vs the next image median ${median(other).toFixed(2)}`);
    expect(median(own)).toBeGreaterThan(MIN_MEDIAN_R);
    expect(Math.min(...own)).toBeGreaterThan(MIN_R);
    expect(own.filter((v, i) => v > other[i]).length, 'reconstructions nearer another image than their own').toBeGreaterThanOrEqual(28);

    // eval repeats the training run's test figure (same seed, same noise) ...
    const ev = await cli(['eval', '--checkpoint', done.files.model, '--limit', String(TEST_LIMIT), '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const e = jsonLines(ev.stdout).find((x) => x.event === 'eval');
    expect(e.test_loss).toBeCloseTo(last.test_loss, 3);
    expect(e.examples).toBe(TEST_LIMIT);
    // Grey levels as Bernoulli probabilities: the nats are no likelihood of the bytes, so no bits/dim,
    // and the IWAE figure is not called -log p(x).
    expect(e.test_bits_per_dim).toBeNull();
    const iw = await cli(['eval', '--checkpoint', done.files.model, '--limit', '8', '--iwae', '4']);
    expect(iw.stdout).toMatch(/\(no bits\/dim: grey levels taken as Bernoulli probabilities are not a likelihood of the pixels/);
    expect(iw.stdout).toMatch(/: test IWAE loss ~ [\d.]+ ± [\d.]+ nats \(standard error over the examples\), the -ELBO's importance-weighted bound with K=4 over 8 examples \(not a -log p\(x\) of the pixels: see above\)$/m);
    const iwJson = jsonLines((await cli(['eval', '--checkpoint', done.files.model, '--limit', '8', '--iwae', '4', '--json'])).stdout).find((x) => x.event === 'iwae');
    expect(iwJson).toMatchObject({ estimates: 'IWAE loss', not_a_likelihood: expect.stringContaining('grey levels taken as Bernoulli probabilities'), bits_per_dim: null });
    // ... and an independent float64 evaluation of the checkpoint file agrees: the KL term is
    // deterministic (a function of the encoder alone), the reconstruction term is a one-sample
    // Monte Carlo estimate per image, so it must agree within a few of its standard errors.
    const ref = elboOfCheckpoint(readFileSync(done.files.model), test.images, TEST_LIMIT, REF_SAMPLES);
    const recTolerance = 4 * ref.recStandardError;
    console.log(`cli: eval -ELBO ${e.test_loss.toFixed(3)} (rec ${e.test_rec.toFixed(3)}, KL ${e.test_kl.toFixed(4)}); float64 rec ${ref.rec.toFixed(3)} +- ${ref.recStandardError.toFixed(3)}, KL ${ref.kl.toFixed(4)}`);
    expect(Math.abs(e.test_kl - ref.kl), 'KL term').toBeLessThan(1e-4 * ref.kl + 1e-4);
    expect(Math.abs(e.test_rec - ref.rec), 'reconstruction term').toBeLessThan(recTolerance);
    expect(recTolerance, 'the comparison is too loose to mean anything').toBeLessThan(0.02 * ref.rec);

    const png = join(dir, 'more.png');
    const s = await cli(['sample', '--checkpoint', done.files.model, '--n', '16', '--out', png]);
    expect(s.code, s.stderr).toBe(0);
    expect(decode(readFileSync(png)).width).toBeGreaterThan(4 * 28);
  });

  it('a conditional IWAE run on binarized data: eval --iwae gives the NLL, sample --label draws one class', async () => {
    const run = join(dir, 'cvae');
    const r = await cli(['train', '--limit', '512', '--epochs', '1', '--json', '--test-limit', '100', '--hidden', '32', '--latent', '4', '--batch', '32',
      '--objective', 'iwae', '--samples', '3', '--conditional', '--binarize', 'dynamic', '--out', run]);
    expect(r.code, r.stderr).toBe(0);
    const events = jsonLines(r.stdout);
    const start = events.find((e) => e.event === 'start');
    expect(start.config).toMatchObject({ objective: 'iwae', samples: 3, classes: 10, binarize: 'dynamic' });
    expect(start.planned_bytes).toBeGreaterThan(0);
    expect(start.saved_bytes).toBeGreaterThanOrEqual(0);
    const model = join(run, 'model.safetensors');
    // samples.png: one row of 8 per class.
    const grid = decode(readFileSync(join(run, 'samples.png')));
    expect(grid.height / grid.width).toBeCloseTo(10 / 8, 1);
    const ev = await cli(['eval', '--checkpoint', model, '--limit', '40', '--iwae', '20', '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const lines = jsonLines(ev.stdout);
    const elbo = lines.find((x) => x.event === 'eval'), iw = lines.find((x) => x.event === 'iwae');
    expect(iw).toMatchObject({ samples: 20, examples: 40 });
    // The K = 20 bound is an estimate of -log p(x), tighter than the -ELBO on the same examples.
    expect(iw.nll).toBeLessThan(elbo.test_loss);
    expect(iw.nll).toBeGreaterThan(0.5 * elbo.test_loss);
    expect(iw.stderr).toBeGreaterThan(0);
    expect(iw.bits_per_dim).toBeCloseTo(iw.nll / (784 * Math.LN2), 6);
    // Given each picture's label, the bound is of log p(x | label), and the line says so.
    expect(iw.estimates).toBe('-log p(x | label)');
    const said = await cli(['eval', '--checkpoint', model, '--limit', '40', '--iwae', '20']);
    expect(said.code, said.stderr).toBe(0);
    expect(said.stdout).toMatch(/test -ELBO [\d.]+ nats \(rec [\d.]+, KL [\d.]+; [\d.]+ bits\/dim\) over 40 mnist test examples, each picture given its label/);
    expect(said.stdout).toMatch(/test -log p\(x \| label\) ~ [\d.]+ ± [\d.]+ nats \(standard error over the examples; [\d.]+ bits\/dim\), IWAE bound with K=20 over 40 examples/);
    // One example has no standard error: the line says so instead of printing ± NaN.
    const one = await cli(['eval', '--checkpoint', model, '--limit', '1', '--iwae', '4']);
    expect(one.stdout).toMatch(/~ [\d.]+ nats \(one example: no standard error; [\d.]+ bits\/dim\), IWAE bound with K=4 over 1 example$/m);
    // The adapter is the machine's, not a result: `eval ... > result.txt` keeps the results alone.
    expect(said.stdout).not.toMatch(/adapter:/);
    expect(said.stderr).toMatch(/^adapter: /m);
    const png = join(dir, 'three.png');
    const s = await cli(['sample', '--checkpoint', model, '--label', '3', '--n', '4', '--out', png, '--json']);
    expect(s.code, s.stderr).toBe(0);
    expect(jsonLines(s.stdout).find((x) => x.event === 'done').label).toBe(3);
    const wrong = await cli(['sample', '--checkpoint', model, '--label', '10', '--out', png]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/--label must be an integer in 0\.\.9/);
    const plain = await cli(['sample', '--checkpoint', join(out, 'model.safetensors'), '--label', '3', '--out', png]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/--label needs a conditional checkpoint/);
  });

  const mistakes: [string, string[], RegExp][] = [
    ['bad objective', ['train', '--objective', 'vae'], /--objective must be one of elbo, iwae/],
    ['beta with iwae', ['train', '--objective', 'iwae', '--beta', '2', '--limit', '64'], /apply to the elbo and tcvae objectives only; .*use --objective elbo, or leave out --beta/],
    ['capacity with tcvae', ['train', '--objective', 'tcvae', '--beta', '6', '--kl-capacity', '5', '--limit', '64'], /--kl-capacity controls the elbo objective's KL term; the tcvae objective has its own/],
    ['capacity with free bits', ['train', '--kl-capacity', '25', '--free-bits', '0.5', '--limit', '64'], /--kl-capacity schedules the KL term itself .* does not combine with free bits, KL warm-up or KL cycles: leave out --free-bits/],
    ['capacity steps without a capacity', ['train', '--capacity-steps', '1000'], /--capacity-steps 1000 ramps the KL capacity; give the capacity with --kl-capacity NATS/],
    ['too many samples for the ELBO', ['train', '--samples', '65'], /--samples must be an integer in 1\.\.64/],
    ['unknown flag', ['train', '--epoch', '3'], /unknown option '--epoch'; did you mean --epochs\? \(webgpu-vae train --help lists every flag\)/],
    // Other tools' names, spelled too far from ours to be near: --count is nearer --out than --n.
    ['another tool\'s flag', ['sample', '--count', '3'], /unknown option '--count'; did you mean --n\? \(webgpu-vae sample --help lists every flag\)/],
    ['another tool\'s flag', ['train', '--learning-rate', '0.01'], /unknown option '--learning-rate'; did you mean --lr\?/],
    ['dequantize without the gaussian likelihood', ['train', '--dequantize', '--limit', '64'], /--dequantize applies to the gaussian likelihood .*: set --likelihood gaussian, or leave out --dequantize/],
    ['bad integer', ['train', '--batch', 'abc'], /--batch must be an integer/],
    ['bad choice', ['train', '--likelihood', 'poisson'], /--likelihood must be one of bernoulli, gaussian/],
    ['bad hidden list', ['train', '--hidden', '512,,256'], /--hidden must be one or more positive integers/],
    ['unknown command', ['fit'], /unknown command 'fit'; use one of train, /],
    ['misspelt command', ['trian'], /unknown command 'trian'; did you mean train\? use one of /],
    ['missing checkpoint', ['eval', '--checkpoint', '/nonexistent/model.safetensors'], /does not exist/],
    ['missing required flag', ['sample', '--out', 'x.png'], /--checkpoint is required/],
  ];
  for (const [label, args, message] of mistakes) {
    it(`${label}: one clear line on stderr, exit 1, no stack trace`, async () => {
      const r = await cli(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }

  it('--objective iwae takes K = 5 importance samples unless --samples says otherwise; K = 1 is warned of as the ELBO', async () => {
    const small = ['--hidden', '16', '--latent', '2', '--limit', '64', '--test-limit', '32', '--batch', '32', '--epochs', '1', '--json'];
    const plain = await cli(['train', '--objective', 'iwae', ...small, '--out', join(dir, 'iwae-default')]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(jsonLines(plain.stdout).find((e) => e.event === 'start').config).toMatchObject({ objective: 'iwae', samples: 5 });
    expect(plain.stderr).not.toContain('warning');
    const one = await cli(['train', '--objective', 'iwae', '--samples', '1', ...small, '--out', join(dir, 'iwae-one')]);
    expect(one.code, one.stderr).toBe(0);
    expect(jsonLines(one.stdout).find((e) => e.event === 'start').config).toMatchObject({ objective: 'iwae', samples: 1 });
    expect(one.stderr).toContain('warning: --objective iwae with --samples 1 trains on the ELBO: the importance-weighted bound is tighter only with K > 1 (e.g. --samples 5, the default)');
  });

  it('--objective tcvae at beta 1 is warned of as the ELBO, and below 1 as rewarding correlation', async () => {
    const small = ['--objective', 'tcvae', '--hidden', '16', '--latent', '2', '--limit', '64', '--test-limit', '32', '--batch', '32', '--epochs', '1', '--json'];
    const one = await cli(['train', ...small, '--out', join(dir, 'tcvae-one')]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stderr).toContain('warning: --objective tcvae with --beta 1 trains on the ELBO (the total correlation is weighed by beta - 1)');
    const half = await cli(['train', ...small, '--beta', '0.5', '--out', join(dir, 'tcvae-half')]);
    expect(half.code, half.stderr).toBe(0);
    expect(half.stderr).toContain('warning: --objective tcvae with --beta 0.5 weighs the total correlation by -0.5, below 0: it rewards correlated latent dimensions');
  });

  it('beta-TCVAE from the command line: named in the summary, its training loss carries the TC term, eval reports the -ELBO', async () => {
    const run = join(dir, 'tcvae');
    const r = await cli(['train', '--objective', 'tcvae', '--beta', '6', '--hidden', '64', '--latent', '4', '--limit', '512', '--test-limit', '128', '--batch', '64', '--epochs', '1', '--seed', '3', '--out', run]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('beta-TCVAE L=1 TC beta=6');
    expect(r.stderr).not.toContain('warning');
    const epoch = r.stdout.match(/epoch 1: train loss ([\d.]+) \| test -ELBO ([\d.]+) nats \(rec ([\d.]+), KL ([\d.]+)\)/);
    expect(epoch, r.stdout).not.toBeNull();
    const [train, test, rec, kl] = epoch!.slice(1).map(Number);
    expect(Math.abs(test - (rec + kl))).toBeLessThan(0.02);
    // The minibatch-weighted TC estimate carries (Z - 1) log(N n) = 3 log(512 * 64), 31 nats, so
    // beta - 1 = 5 times it puts the training loss far above the -ELBO.
    expect(train).toBeGreaterThan(test + 50);
    expect(readCheckpoint(readFileSync(join(run, 'model.safetensors'))).config.objective).toBe('tcvae');
    const ev = await cli(['eval', '--checkpoint', join(run, 'model.safetensors'), '--limit', '128', '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const line = jsonLines(ev.stdout).find((l) => l.event === 'eval');
    // The run's seed (3, from the checkpoint) keys the noise: eval repeats the epoch's test figure.
    expect(line.test_loss).toBeCloseTo(test, 1);
    // Another noise seed: close, not equal.
    const other = jsonLines((await cli(['eval', '--checkpoint', join(run, 'model.safetensors'), '--limit', '128', '--seed', '0', '--json'])).stdout).find((l) => l.event === 'eval');
    expect(Math.abs(other.test_loss - test)).toBeLessThan(1);
    expect(other.test_loss).not.toBe(line.test_loss);
  });

  it('capacity control from the command line: named in the summary, kept in the checkpoint, fixed on resume', async () => {
    const run = join(dir, 'capacity');
    const args = ['--hidden', '32', '--latent', '3', '--limit', '256', '--test-limit', '64', '--batch', '64', '--seed', '4'];
    const r = await cli(['train', '--beta', '100', '--kl-capacity', '6', '--capacity-steps', '8', ...args, '--epochs', '1', '--out', run]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('ELBO L=1 beta=100 capacity 6 nats over 8 steps');
    // What it trains on, in words; and a --limit beyond the set is said.
    expect(r.stdout).toContain('mnist: 256 training and 64 test examples\n');
    expect(describeStoredData('folder', 543, 60, 5000)).toBe('folder: 543 training and 60 test pictures; --limit 5000 is more than the set holds, so all 543');
    expect(describeStoredData('folder', 236, 26, null, 200)).toBe('folder: 236 training and 26 test pictures; --test-limit 200 is more than the test split holds, so all 26');
    expect(describeStoredData('mnist', 60000, 500, null, 500)).toBe('mnist: 60000 training and 500 test examples');
    expect(r.stdout).toMatch(/epoch 1: train loss [\d.]+ \| test -ELBO/);
    expect(readCheckpoint(readFileSync(join(run, 'model.safetensors'))).config).toMatchObject({ klCapacity: 6, capacitySteps: 8, beta: 100 });
    const changed = await cli(['train', '--resume', run, '--kl-capacity', '10', '--epochs', '2']);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toMatch(/--kl-capacity/);
    const resumed = await cli(['train', '--resume', run, '--epochs', '2']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('capacity 6 nats over 8 steps');
  });

  it('--init-from: a new run starts from a trained model\'s parameters and architecture under another objective', async () => {
    const first = join(dir, 'init-first'), second = join(dir, 'init-second');
    const data = ['--limit', '256', '--test-limit', '64', '--batch', '64', '--seed', '2'];
    const a = await cli(['train', '--hidden', '24', '--latent', '3', ...data, '--epochs', '1', '--out', first]);
    expect(a.code, a.stderr).toBe(0);
    // A rate of 1e-30 moves no parameter (Adam's step is about the rate), so the new run's
    // checkpoint holds the first run's parameters bit for bit if and only if it started from them.
    const b = await cli(['train', '--init-from', first, '--beta', '4', '--lr', '1e-30', ...data, '--epochs', '1', '--out', second, '--json']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toContain(`parameters from ${join(first, 'model.safetensors')}; the optimizer and the step count start afresh`);
    const start = jsonLines(b.stdout).find((l) => l.event === 'start');
    expect(start.init_from).toBe(join(first, 'model.safetensors'));
    const was = readCheckpoint(readFileSync(join(first, 'model.safetensors'))), now = readCheckpoint(readFileSync(join(second, 'model.safetensors')));
    expect(now.config).toMatchObject({ hidden: [24], latent: 3, beta: 4 });
    expect(was.config.beta).toBe(1);
    expect(now.flat.length).toBe(was.flat.length);
    expect(Buffer.from(now.flat.buffer).equals(Buffer.from(was.flat.buffer))).toBe(true);
    expect(JSON.parse(readFileSync(join(second, 'config.json'), 'utf8')).run.initFrom).toBe(join(first, 'model.safetensors'));
    // The folder's checkpoint file works as the folder does; a layer of another width is refused by name.
    const wider = await cli(['train', '--init-from', join(first, 'model.safetensors'), '--hidden', '32', ...data, '--out', join(dir, 'init-wider')]);
    expect(wider.code).toBe(1);
    expect(wider.stderr).toMatch(/--init-from .*model\.safetensors has encoder\.\S+ of shape \[24,784\] where this model's is \[32,784\]: the architecture flags differ/);
    expect(existsSync(join(dir, 'init-wider'))).toBe(false);
    const both = await cli(['train', '--resume', second, '--init-from', first, '--epochs', '2']);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/--init-from starts a new run from a model's parameters and --resume continues/);
  });

  it('a corrupt checkpoint is refused with a clear error', async () => {
    const bad = join(dir, 'corrupt.safetensors');
    writeFileSync(bad, 'this is not a checkpoint at all');
    const r = await cli(['eval', '--checkpoint', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: .*corrupt\.safetensors is not a model checkpoint \(it is text\); give a runs\/NAME\/model\.safetensors/);
    expect(existsSync(bad)).toBe(true);
  });
});

describe('webgpu-vae train: run folders', { timeout: LONG }, () => {
  const dir = tempDir('webgpu-vae-runs-');

  it('a new run into a folder that holds a model is refused, pointing to --init-from (it cannot resume), and the folder is left as it was', async () => {
    const model = join(dir, 'model.safetensors');
    writeFileSync(model, 'an earlier model');
    const r = await cli(['train', '--limit', '64', '--out', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/already holds a model \(model\.safetensors\) without a training state, so it cannot be resumed; start from its parameters with `(npx )?webgpu-vae train --init-from .* --out NEW`, choose another --out, or add --force/);
    expect(r.stderr).not.toMatch(/--resume/);
    expect(readFileSync(model, 'utf8')).toBe('an earlier model');
  });

  const mistakes: [string, string[], RegExp][] = [
    ['resume of a folder with no training state', ['train', '--resume', dir], /holds model\.safetensors but no training-state\.safetensors/],
    ['resume of a missing folder', ['train', '--resume', join(dir, 'nope')], /--resume .*nope does not exist/],
    ['resume and force together', ['train', '--resume', dir, '--force'], /--force starts a run over and --resume continues one/],
    ['bad --save-every', ['train', '--save-every', 'often'], /--save-every must be an integer/],
  ];
  for (const [label, args, message] of mistakes) {
    it(`${label}: one clear line on stderr, exit 1`, async () => {
      const r = await cli(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
  }
});
