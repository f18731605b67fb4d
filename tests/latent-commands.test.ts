// `webgpu-vae reconstruct` and `webgpu-vae interpolate` (src/cli/latent.ts), read back from their
// PNGs: the originals are the data set's first test pictures, the reconstructions are what
// VAE.reconstruct gives for them, and an interpolation row starts at picture 2i's reconstruction
// (z = its posterior mean) and ends at picture 2i+1's, with the pictures themselves at the ends.
// `traverse` says what its rows are centred on and how they are ordered.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../src/checkpoint';
import { checkpointDataset } from '../src/cli/io';
import { interpolationGrid } from '../src/cli/latent';
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
  it('takes --dataset as given, else the data set the checkpoint records, else MNIST', () => {
    expect(checkpointDataset('fashion-mnist', { dataset: 'dsprites' }, undefined)).toBe('fashion-mnist');
    expect(checkpointDataset(undefined, { dataset: 'dsprites' }, undefined)).toBe('dsprites');
    expect(checkpointDataset(undefined, {}, undefined)).toBe('mnist');
    expect(checkpointDataset(undefined, { dataset: 'no-such-set' }, undefined)).toBe('mnist');
  });

  it('asks for the folder of a recorded data set that reads files, and refuses one for a drawn set', () => {
    expect(() => checkpointDataset(undefined, { dataset: 'folder' }, undefined)).toThrow(/trained on --dataset folder, which reads files: give their folder with --data-dir DIR/);
    expect(checkpointDataset(undefined, { dataset: 'folder' }, 'photos')).toBe('folder');
    expect(() => checkpointDataset(undefined, { dataset: 'dsprites' }, 'photos')).toThrow(/drawn in code and reads no files; leave out --data-dir photos/);
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
    expect(b.stderr).toMatch(/models 1x28x28 pictures, but dsprites has 1x64x64; use the data set it was trained on/);
  }, 180_000);
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
