// Pictures from the command line: a conv VAE on colour dSprites with a predicted per-pixel scale on
// dequantized data (eval reports bits/dim), a conv VAE on a folder of PNGs the test writes, colour
// PNG grids, and the refusals that name the flag and the fix.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode, encode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/checkpoint';
import { heldOutTestSet } from '../src/cli/io';
import { loadDataSource } from '../src/data/sources';
import { runMain } from './helpers/cli-main';
import { tempDir } from './helpers/temp-dir';

const BIN = join(__dirname, '..', 'bin', 'webgpu-vae.mjs');
/** Processes are waited for; this only stops a hung one on a busy machine. */
const LONG = 1_200_000;

function cli(args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: LONG, maxBuffer: 64 * 1024 * 1024, cwd }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const jsonLines = (s: string) => s.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));

/** Variance of each colour channel over the tiles' pixels (background excluded by sampling inside tile 0). */
function tileChannelVariance(png: ReturnType<typeof decode>, side: number, scale: number): number[] {
  const out: number[] = [];
  for (let ch = 0; ch < 3; ch++) {
    const v: number[] = [];
    for (let y = 1; y < 1 + side * scale; y++) for (let x = 1; x < 1 + side * scale; x++) v.push(png.data[(y * png.width + x) * 3 + ch]);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    out.push(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  }
  return out;
}

describe('CLI on pictures', () => {
  const dir = tempDir('webgpu-vae-images-');

  it('grey dSprites train from pictures drawn on the GPU, and the run resumes on them', async () => {
    const out = join(dir, 'dsprites-grey');
    const args = ['--dataset', 'dsprites', '--hidden', '32', '--latent', '4', '--limit', '4000', '--test-limit', '16', '--batch', '32', '--json'];
    const r = await cli(['train', ...args, '--epochs', '1', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const start = jsonLines(r.stdout).find((e) => e.event === 'start');
    expect(start).toMatchObject({ train_drawn_on_gpu: true, train_examples: 4000, test_examples: 16 });
    // The training pictures take their indices and order only, 8 bytes each: the whole model holds
    // less than the 4000 stored pictures alone would (16 MB).
    expect(start.gpu_bytes).toBeLessThan(4000 * 4096);
    const epochs = jsonLines(r.stdout).filter((e) => e.event === 'epoch');
    expect(epochs).toHaveLength(1);
    expect(epochs[0].train_loss).toBeLessThan(4096 * Math.LN2);
    const again = await cli(['train', '--resume', out, '--epochs', '2', '--json']);
    expect(again.code, again.stderr).toBe(0);
    const resumedEpochs = jsonLines(again.stdout).filter((e) => e.event === 'epoch');
    expect(resumedEpochs).toHaveLength(1);
    // eval without --limit reads the 16 held-out pictures the run tested on, and repeats its figure.
    const e = await cli(['eval', '--checkpoint', join(out, 'model.safetensors'), '--json']);
    expect(e.code, e.stderr).toBe(0);
    const evaluated = jsonLines(e.stdout).find((line) => line.event === 'eval');
    expect(evaluated).toMatchObject({ dataset: 'dsprites', examples: 16, test_loss: resumedEpochs[0].test_loss });
  }, LONG);

  it('conv VAE on colour dSprites, predicted scales on dequantized data: RGB grids and bits/dim', async () => {
    const out = join(dir, 'dsprites');
    const r = await cli(['train', '--dataset', 'dsprites-color', '--arch', 'conv', '--channels', '4,8', '--likelihood', 'gaussian', '--sigma', 'predicted',
      '--dequantize', '--limit', '64', '--test-limit', '16', '--batch', '16', '--epochs', '1', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const start = jsonLines(r.stdout).find((e) => e.event === 'start');
    expect(start.config).toMatchObject({ arch: 'conv', channels: [4, 8], imageChannels: 3, imageShape: [64, 64], inputDim: 3 * 64 * 64, sigma: 'predicted', dequantize: true });
    const { config } = readCheckpoint(new Uint8Array(readFileSync(join(out, 'model.safetensors'))));
    expect(config.arch).toBe('conv');
    const samples = decode(readFileSync(join(out, 'samples.png')));
    expect(samples.channels).toBe(3);
    expect(samples.width).toBe(1 + 8 * (64 * 2 + 1));
    const rec = decode(readFileSync(join(out, 'reconstructions.png')));
    // The first tile is an original colour dSprite: a shape of one hue on a background of another.
    expect(Math.max(...tileChannelVariance(rec, 64, 2))).toBeGreaterThan(100);
    const e = await cli(['eval', '--checkpoint', join(out, 'model.safetensors'), '--dataset', 'dsprites-color', '--limit', '16', '--json']);
    expect(e.code, e.stderr).toBe(0);
    const ev = jsonLines(e.stdout).find((l) => l.event === 'eval');
    // bits/dim = (nats + D log 256) / (D log 2) on dequantized data.
    expect(ev.test_bits_per_dim).toBeCloseTo((ev.test_loss + 3 * 64 * 64 * Math.log(256)) / (3 * 64 * 64 * Math.LN2), 6);
    expect(ev.test_bits_per_dim).toBeGreaterThan(0);
    // The dequantization noise of an evaluation does not depend on the epoch training was in:
    // eval gives the figure training printed after its epoch.
    expect(ev.test_loss).toBeCloseTo(jsonLines(r.stdout).find((l) => l.event === 'epoch').test_loss, 3);
    // Reconstructions of dSprites say which factors they keep, judged by drawing. Without
    // --dataset the command reads the data set the checkpoint records it was trained on.
    const rc = await cli(['reconstruct', '--checkpoint', join(out, 'model.safetensors'), '--out', join(out, 'rec.png'), '--n', '4', '--json']);
    expect(rc.code, rc.stderr).toBe(0);
    const rcDone = jsonLines(rc.stdout).find((l) => l.event === 'done');
    expect(rcDone.dataset).toBe('dsprites-color');
    const kept = rcDone.factors_kept;
    expect(Object.keys(kept)).toEqual(['shape', 'scale', 'orientation']);
    expect([kept.shape.values, kept.scale.values, kept.orientation.values]).toEqual([3, 6, 40]);
    for (const f of Object.values(kept) as { kept: number; kept_by_value: (number | null)[] }[]) {
      expect(f.kept >= 0 && f.kept <= 1, String(f.kept)).toBe(true);
      // Each of the 4 pictures has one value of each factor: at most 4 values were seen.
      expect(f.kept_by_value.filter((v) => v !== null).length).toBeLessThanOrEqual(4);
    }
    expect(rc.stderr).toMatch(/factors the reconstructions keep \(share of 4 pictures .*\): shape \d+% \(chance about 33%; square/);
    // Traversals: one row per latent dimension (20), ranked by KL, 5 steps each, in colour.
    const t = await cli(['traverse', '--checkpoint', join(out, 'model.safetensors'), '--out', join(out, 'traversal.png'), '--dataset', 'dsprites-color', '--limit', '16', '--steps', '5', '--json']);
    expect(t.code, t.stderr).toBe(0);
    const done = jsonLines(t.stdout).find((l) => l.event === 'done');
    expect([...done.order].sort((a: number, b: number) => a - b)).toEqual(Array.from({ length: 20 }, (_, j) => j));
    for (let i = 1; i < 20; i++) expect(done.kl_per_dimension[done.order[i - 1]]).toBeGreaterThanOrEqual(done.kl_per_dimension[done.order[i]]);
    // And for each used dimension, the share of it each of the 7 colour-dSprites factors explains.
    const used = done.order.filter((j: number) => done.kl_per_dimension[j] >= 0.05).map((j: number) => `z${j}`);
    expect(Object.keys(done.factor_variance_explained ?? {})).toEqual(used);
    for (const byFactor of Object.values(done.factor_variance_explained ?? {}) as Record<string, number>[]) {
      expect(Object.keys(byFactor)).toEqual(['shapeHue', 'backgroundHue', 'shape', 'scale', 'orientation', 'posX', 'posY']);
      for (const v of Object.values(byFactor)) expect(v >= 0 && v <= 1 + 1e-9, String(v)).toBe(true);
    }
    expect(Object.keys(done.factor_gaps)).toEqual(['shapeHue', 'backgroundHue', 'shape', 'scale', 'orientation', 'posX', 'posY']);
    for (const g of Object.values(done.factor_gaps) as { dimension: string; share: number; gap: number }[]) {
      expect(g.gap >= 0 && g.gap <= g.share, JSON.stringify(g)).toBe(true);
    }
    // Orientation within each shape, angles folded by its symmetry, for the same dimensions.
    expect(Object.keys(done.orientation_within_shape ?? {})).toEqual(used);
    for (const t of Object.values(done.orientation_within_shape ?? {}) as Record<string, number>[]) {
      expect(Object.keys(t)).toEqual(['all', 'square', 'ellipse', 'heart']);
      for (const v of Object.values(t)) expect(v >= 0 && v <= 1, String(v)).toBe(true);
    }
    // The mutual information gap: the mean over the factors that vary of each one's gap.
    expect(done.mig).toMatchObject({ bins: 20, pictures: 16 });
    const migFactors = Object.values(done.mig.factors) as { dimension: string; next: string; share: number; gap: number; entropy: number }[];
    expect(Object.keys(done.mig.factors)).toEqual(['shapeHue', 'backgroundHue', 'shape', 'scale', 'orientation', 'posX', 'posY']);
    for (const g of migFactors) expect(g.gap >= 0 && g.gap <= g.share + 1e-3 && g.share <= 1 + 1e-3 && g.dimension !== g.next, JSON.stringify(g)).toBe(true);
    const varying = migFactors.filter((g) => g.entropy > 0);
    expect(varying.length).toBeGreaterThan(0);
    expect(done.mig.value).toBeCloseTo(varying.reduce((s, g) => s + g.gap, 0) / varying.length, 2);
    const grid = decode(readFileSync(join(out, 'traversal.png')));
    expect([grid.channels, grid.width, grid.height]).toEqual([3, 1 + 5 * (64 * 2 + 1), 1 + 20 * (64 * 2 + 1)]);
  }, LONG);

  it('conv VAE on a folder of PNGs the test writes, resized to 16x16 RGB', async () => {
    const photos = join(dir, 'photos');
    mkdirSync(photos);
    for (let k = 0; k < 24; k++) {
      // 20x24 pictures: a coloured square at a position that moves with k.
      const w = 20, h = 24, data = new Uint8Array(w * h * 3);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        const inside = Math.abs(x - 4 - (k % 12)) < 4 && Math.abs(y - 12) < 5;
        data.set(inside ? [200, 40 + 8 * k, 30] : [20, 30, 90], (y * w + x) * 3);
      }
      writeFileSync(join(photos, `p${k}.png`), encode({ width: w, height: h, data, channels: 3, depth: 8 }));
    }
    writeFileSync(join(photos, 'broken.png'), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
    const out = join(dir, 'folder-run');
    const r = await cli(['train', '--dataset', 'folder', '--data-dir', photos, '--image-size', '16', '--image-channels', '3', '--arch', 'conv', '--channels', '4,8', '--dense', '8',
      '--limit', '16', '--batch', '8', '--epochs', '1', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: .*broken\.png/); // skipped with a warning that names it, on stderr
    expect(r.stdout).not.toMatch(/warning/);
    expect(r.stdout + r.stderr).toMatch(/conv 3x16x16 -> 4-8 -> 8 -> 20 /);
    const samples = decode(readFileSync(join(out, 'samples.png')));
    expect([samples.channels, samples.width]).toEqual([3, 1 + 8 * (16 * 2 + 1)]);
    const strict = await cli(['train', '--dataset', 'folder', '--data-dir', photos, '--image-size', '16', '--strict', '--epochs', '1', '--out', join(dir, 'strict')]);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/broken\.png/);
  }, LONG);

  it('records the held-out pictures of a folder run, and eval warns once the folder holds out others', async () => {
    const photos = join(dir, 'held-out');
    mkdirSync(photos);
    const png = (k: number) => encode({ width: 8, height: 8, data: Uint8Array.from({ length: 64 }, (_, p) => (k * 23 + p * 5) & 255), channels: 1, depth: 8 });
    for (let k = 0; k < 20; k++) writeFileSync(join(photos, `p${String(k).padStart(2, '0')}.png`), png(k));
    const out = join(dir, 'held-out-run');
    const r = await cli(['train', '--dataset', 'folder', '--data-dir', photos, '--image-size', '8', '--image-channels', '1', '--hidden', '16', '--latent', '2',
      '--batch', '8', '--epochs', '1', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).run).toMatchObject({ dataset: 'folder', dataDir: photos, imageSize: 8, imageChannels: 1, strict: false });
    const model = join(out, 'model.safetensors');
    const { metadata } = readCheckpoint(new Uint8Array(readFileSync(model)));
    const held = await loadDataSource('folder', { dir: photos, imageSize: 8, channels: 1, seed: 0 });
    expect(metadata.heldOutPictures).toMatch(/^[0-9a-f]{16}$/);
    expect(metadata.heldOutPictures).toBe(held.testFingerprint);
    const fair = await cli(['eval', '--checkpoint', model, '--data-dir', photos]);
    expect(fair.code, fair.stderr).toBe(0);
    expect(fair.stdout + fair.stderr).not.toMatch(/warning/);
    // A --limit past the small test split says it read them all.
    const beyond = await cli(['eval', '--checkpoint', model, '--data-dir', photos, '--limit', '500']);
    expect(beyond.code, beyond.stderr).toBe(0);
    expect(beyond.stdout).toMatch(/over (\d+) folder test examples \(--limit 500 is more than the test split holds, so all \1\)/);
    // One more picture, sorting last: no other file moves, but the shuffle of 21 holds out others.
    writeFileSync(join(photos, 'p20.png'), png(20));
    const changed = await cli(['eval', '--checkpoint', model, '--data-dir', photos]);
    expect(changed.code, changed.stderr).toBe(0);
    // The warning goes to stderr, so that `eval ... > result.txt` holds the result alone.
    expect(changed.stderr).toMatch(
      /warning: the pictures in .*held-out changed since the run that wrote .*model\.safetensors, or are another folder's .*some of these may be pictures it trained on.*For a fair figure, restore the folder/,
    );
    expect(changed.stdout).not.toMatch(/warning/);
    expect(changed.stdout).toMatch(/test -ELBO/);
    // Without --data-dir, the folder the run read (its config.json records it, absolute) is read,
    // and stderr says so; once that folder is gone, the refusal names it.
    const noDir = await cli(['eval', '--checkpoint', model]);
    expect(noDir.code, noDir.stderr).toBe(0);
    expect(noDir.stderr).toContain(`reading --data-dir ${photos}, the folder the run that wrote the checkpoint read (--data-dir DIR for another)`);
    expect(noDir.stdout).toBe(changed.stdout);
    const moved = `${photos}-moved`;
    renameSync(photos, moved);
    try {
      const gone = await cli(['eval', '--checkpoint', model]);
      expect([gone.code, gone.stdout]).toEqual([1, '']);
      expect(gone.stderr).toContain(`give their folder with --data-dir DIR (the run that wrote it read --data-dir ${photos}, which is no longer there)`);
    } finally {
      renameSync(moved, photos);
    }
    // A checkpoint from before the record is read as before: no warning.
    const vae = { config: readCheckpoint(new Uint8Array(readFileSync(model))).config };
    const warnings: string[] = [];
    const { heldOutPictures: _, ...older } = metadata;
    const test = await heldOutTestSet(vae, older, model, 'folder', undefined, photos, (line) => warnings.push(line));
    expect([test.count, warnings]).toEqual([2, []]);
    await heldOutTestSet(vae, metadata, model, 'folder', undefined, photos, (line) => warnings.push(line));
    expect(warnings).toEqual([expect.stringMatching(/changed since the run/)]);
  }, LONG);

  it('a folder run records its folder absolute, and --init-from takes the checkpoint\'s picture size', async () => {
    const photos = join(dir, 'relative');
    mkdirSync(photos);
    const png = (k: number) => encode({ width: 12, height: 12, data: Uint8Array.from({ length: 144 }, (_, p) => (k * 31 + p * 7) & 255), channels: 1, depth: 8 });
    for (let k = 0; k < 10; k++) writeFileSync(join(photos, `q${k}.png`), png(k));
    const out = join(dir, 'relative-run');
    // Given relative to the working directory, recorded absolute: a resume from elsewhere finds it.
    const r = await cli(['train', '--dataset', 'folder', '--data-dir', 'relative', '--image-size', '8', '--image-channels', '1', '--hidden', '16', '--latent', '2',
      '--batch', '8', '--epochs', '1', '--out', out], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).run.dataDir).toBe(photos);
    const resumed = await cli(['train', '--resume', out, '--epochs', '2']);
    expect(resumed.code, resumed.stderr).toBe(0);
    // A data flag of its own may not change on a resume (it was taken in, and kept, before).
    const strict = await cli(['train', '--resume', out, '--epochs', '3', '--strict']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/--strict does not match the run in .*relative-run, which was started without --strict; resume without --strict/);
    // A picture replaced by another under its name: as many pictures, but not the same ones. The
    // refusal says so, and how to train this model on the folder as it is now.
    const original = readFileSync(join(photos, 'q3.png'));
    writeFileSync(join(photos, 'q3.png'), png(7));
    try {
      const changed = await cli(['train', '--resume', out, '--epochs', '3']);
      expect(changed.code).toBe(1);
      expect(changed.stderr).toMatch(/differs from what the run in .*relative-run trained on \(9 training pictures and 1 test picture, 9 and 1 now\): changed: q3\.png\./);
      expect(changed.stderr).toMatch(/to train this model on the folder as it is now, start a new run from it: (npx )?webgpu-vae train --init-from /);
      expect(changed.stderr).toContain(`train --init-from ${out} --dataset folder --data-dir ${photos} --out NEW_RUN`);
      // A run without the list (started by an earlier version) still says what it can.
      rmSync(join(out, 'pictures.json'));
      const unlisted = await cli(['train', '--resume', out, '--epochs', '3']);
      expect(unlisted.stderr).toMatch(/: as many pictures, but some were replaced, renamed or changed\./);
    } finally {
      writeFileSync(join(photos, 'q3.png'), original);
    }
    // A new run from that model on the same folder: 1x8x8 from the checkpoint, not the 3x64x64 default.
    const init = await cli(['train', '--init-from', out, '--dataset', 'folder', '--data-dir', photos, '--epochs', '1', '--batch', '8', '--out', join(dir, 'init-run')]);
    expect(init.code, init.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'init-run', 'config.json'), 'utf8')).run).toMatchObject({ imageSize: 8, imageChannels: 1 });
    // These pictures are grey: a colour model of them is trained, with a warning that says how not to.
    const colour = await cli(['train', '--dataset', 'folder', '--data-dir', photos, '--image-size', '8', '--hidden', '16', '--latent', '2', '--batch', '8', '--epochs', '1', '--out', join(dir, 'colour-of-grey')]);
    expect(colour.code, colour.stderr).toBe(0);
    expect(colour.stderr).toMatch(/warning: the pictures in .*relative are all greyscale, and the model is built for 3 colour channels: --image-channels 1 trains a grey model/);
    expect(init.stderr).not.toMatch(/greyscale/);
    const other = await cli(['train', '--init-from', out, '--dataset', 'folder', '--data-dir', photos, '--image-size', '12', '--epochs', '1', '--out', join(dir, 'init-12')]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/was trained on 1x8x8 pictures and these are 1x12x12; start from a model of the same picture size \(for a folder of pictures: --image-size 8 --image-channels 1, or leave both out/);
    // The folder moved: a resume says so before any device starts, and takes its new place.
    renameSync(photos, join(dir, 'moved'));
    const gone = await cli(['train', '--resume', out, '--epochs', '3']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe(`webgpu-vae train: error: the run in ${out} read --data-dir ${photos}, which does not exist now; if its data moved, give its new place with --data-dir\n`);
    renameSync(join(dir, 'moved'), photos);
  }, LONG);

  it('refuses what cannot work, naming the flag and the fix', async () => {
    const pictures = join(dir, 'pictures-only');
    mkdirSync(pictures, { recursive: true });
    writeFileSync(join(pictures, 'a.png'), encode({ width: 4, height: 4, data: new Uint8Array(16), channels: 1, depth: 8 }));
    const batches = join(dir, 'cifar-only');
    mkdirSync(batches, { recursive: true });
    writeFileSync(join(batches, 'test_batch.bin'), new Uint8Array(3073));
    const cases: [string[], RegExp][] = [
      [['--dataset', 'folder', '--data-dir', dir, '--conditional'], /no labels; leave out --conditional/],
      [['--channels', '8,16'], /--channels sets the conv architecture's convolution widths; add --arch conv/],
      [['--channels', '1'], /--channels sets the conv architecture's convolution widths; add --arch conv, .* \(a picture's colour channels are --image-channels 1\)/],
      [['--arch', 'conv', '--channels', '3'], /--channels 3 would make one convolution of 3 filter\(s\): --channels sets the convolution widths \(e\.g\. --channels 32,64\); a picture's colour channels are --image-channels 3/],
      [['--data-dir', pictures], /--data-dir .*pictures-only holds PNG or JPEG pictures, and the data set is mnist by default, which reads IDX files: add --dataset folder/],
      [['--data-dir', batches], /--data-dir .*cifar-only holds CIFAR-10 batch files \(data_batch_\*\.bin, test_batch\.bin\), and the data set is mnist by default, which reads IDX files: add --dataset cifar10/],
      [['--image-size', '16'], /--image-size applies to --dataset folder .*so leave out --image-size \(for a folder of your own pictures, add --dataset folder\)/],
      [['--dataset', 'cifar10'], /give their folder with --data-dir/],
      [['--arch', 'conv', '--channels', '8,16,32'], /divisible by 8/],
      [['--dataset', 'mnist', '--dequantize'], /gaussian likelihood/],
      [['--arch', 'cnn'], /--arch/],
      [['--arch', 'conv', '--hidden', '256'], /give the conv architecture its dense layers with --dense/],
      [['--dense', '256'], /--dense sets the conv architecture's dense layers; add --arch conv, or give the mlp architecture its layers with --hidden/],
      [['--norm', 'group'], /--norm group normalizes the conv architecture's convolutions; add --arch conv/],
      [['--arch', 'conv', '--norm-groups', '4'], /--norm-groups sets GroupNorm's groups; add --norm group/],
      [['--arch', 'conv', '--norm', 'batch'], /--norm must be one of none, group/],
      [['--init', 'kaiming'], /init kaiming sets the conv architecture's convolution weights/],
      [['--arch', 'conv', '--init', 'he'], /--init must be one of pytorch, kaiming/],
      // SwiftShader has no shader-f16: refused once the device is known, naming the feature, for
      // an MLP and a conv model alike.
      [['--precision', 'f16', '--limit', '256', '--test-limit', '64'], /needs the WebGPU feature 'shader-f16'/],
      [['--arch', 'conv', '--precision', 'f16', '--limit', '256', '--test-limit', '64'], /needs the WebGPU feature 'shader-f16'/],
    ];
    // In this process (main() as the command runs it): 20 spawned commands would spend most of
    // their time loading the sources.
    for (const [args, message] of cases) {
      const r = await runMain(['train', ...args, '--epochs', '1', '--out', join(dir, 'refused')]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr.trim().split('\n').filter((l) => /error/.test(l)).length, args.join(' ')).toBe(1);
    }
  }, LONG);
});
