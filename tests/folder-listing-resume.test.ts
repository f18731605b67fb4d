// A folder run started before 0.15.0 resumes on the pictures it trained on. 0.15.0 reads more
// endings (.jfif, ...) and a file reached under two names once, so listing an unchanged folder by
// the new rules could give another set, and the resume was refused as if pictures had been
// added and removed. A training state without `run.pictureListing` (written before) is listed by
// the old rules (1); a new run records 2. Here a run is made, its state stripped of the field as
// an older version wrote it, and the folder gains a .jfif file, which the old rules pass over.
// (A link that was there when an old run started is the same case for the second rule, which
// the listing test below covers: rules 1 read it under both names, as that run did.) `eval` of
// such a run reads the test pictures it held out by those rules, which its checkpoint records.
import { copyFileSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import { encode as encodeJpeg } from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { stampPictures } from '../src/data/image-listing';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors';
import { runMain } from './helpers/cli-main';
import { tempDir } from './helpers/temp-dir';

const png = (k: number) => encodePng({ width: 8, height: 8, data: new Uint8Array(192).map((_, i) => (i * 7 + k * 29) % 256), channels: 3, depth: 8 });

function pictureFolder(): string {
  const dir = tempDir('webgpu-vae-listing-');
  for (let k = 0; k < 12; k++) writeFileSync(join(dir, `p${String(k).padStart(2, '0')}.png`), png(k));
  return dir;
}

/** A newer ending and a second name: each read by one of the two rules only. */
function addNewKinds(dir: string): void {
  writeFileSync(join(dir, 'x.jfif'), new Uint8Array(encodeJpeg({ width: 8, height: 8, data: new Uint8Array(256).fill(90) }, 90).data));
  symlinkSync('p03.png', join(dir, 'link03.png'));
}

describe('picture listing rules', () => {
  it('rules 1 list .png, .jpg and .jpeg under every name; rules 2 every ending and a file once', async () => {
    const dir = pictureFolder();
    addNewKinds(dir);
    const names = async (listing: 1 | 2) => (await stampPictures(dir, listing)).pictures.map((p) => p.name);
    expect(await names(1)).toContain('link03.png');
    expect(await names(1)).not.toContain('x.jfif');
    expect(await names(2)).toContain('x.jfif');
    expect(await names(2)).not.toContain('link03.png');
  });

  it('a run whose training state predates the rules resumes on an unchanged folder that holds files the new rules read otherwise', async () => {
    const dir = pictureFolder();
    const out = join(tempDir('webgpu-vae-listing-run-'), 'run');
    const common = ['--dataset', 'folder', '--data-dir', dir, '--image-size', '8', '--arch', 'mlp', '--hidden', '8', '--latent', '2', '--batch', '4'];
    const first = await runMain(['train', ...common, '--epochs', '1', '--out', out]);
    expect(first.code, first.stderr).toBe(0);
    const statePath = join(out, 'training-state.safetensors');
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(statePath)));
    expect(JSON.parse(metadata.run).pictureListing, 'a new run records its rules').toBe(2);
    copyFileSync(statePath, `${statePath}.new`);
    // As a version before 0.15.0 wrote it: no pictureListing.
    const { pictureListing: _, ...olderRun } = JSON.parse(metadata.run);
    writeFileSync(statePath, encodeSafetensors(tensors, { ...metadata, run: JSON.stringify(olderRun) }));
    writeFileSync(join(dir, 'x.jfif'), new Uint8Array(encodeJpeg({ width: 8, height: 8, data: new Uint8Array(256).fill(90) }, 90).data));
    const resumed = await runMain(['train', '--resume', out, '--epochs', '2']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).not.toMatch(/differs/);
    // The same folder under the new rules is another set of pictures: refused, as before.
    copyFileSync(`${statePath}.new`, statePath);
    const refused = await runMain(['train', '--resume', out, '--epochs', '3']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/differs from what the run .* trained on .*added: x\.jfif/);
  }, 120_000);

  it('eval lists a folder by the rules its checkpoint records, and one recording none by the rules that give its held-out pictures', async () => {
    const dir = pictureFolder();
    const out = join(tempDir('webgpu-vae-listing-eval-'), 'run');
    const first = await runMain(['train', '--dataset', 'folder', '--data-dir', dir, '--image-size', '8', '--arch', 'mlp', '--hidden', '8', '--latent', '2', '--batch', '4', '--epochs', '1', '--out', out]);
    expect(first.code, first.stderr).toBe(0);
    const modelPath = join(out, 'model.safetensors');
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(modelPath)));
    expect(metadata.pictureListing, 'a new checkpoint records its rules').toBe('2');
    const evaluate = () => runMain(['eval', '--checkpoint', modelPath, '--data-dir', dir, '--json']);
    const own = await evaluate();
    expect(own.code, own.stderr).toBe(0);
    writeFileSync(join(dir, 'x.jfif'), new Uint8Array(encodeJpeg({ width: 8, height: 8, data: new Uint8Array(256).fill(90) }, 90).data));
    const changed = /the pictures in .* changed since the run/;
    // Its rules read x.jfif: the folder holds out another picture of the 13 now, and eval says so.
    const now = await evaluate();
    expect(now.code, now.stderr).toBe(0);
    expect(now.stderr).toMatch(changed);
    // As a version before 0.16.0 wrote it (no pictureListing), the folder as a run before 0.15.0
    // saw it: the old rules pass over x.jfif and hold out the run's own pictures, with its figures.
    const { pictureListing: _, ...older } = metadata;
    writeFileSync(modelPath, encodeSafetensors(tensors, older));
    const old = await evaluate();
    expect(old.code, old.stderr).toBe(0);
    expect(old.stderr).not.toMatch(changed);
    expect(old.stdout).toBe(own.stdout);
    // A picture the old rules read too is a change of the folder, said as before.
    writeFileSync(join(dir, 'p12.png'), png(12));
    expect((await evaluate()).stderr).toMatch(changed);
  }, 120_000);
});
