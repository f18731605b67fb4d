// A checkpoint whose parameters are finite but give NaN or infinite numbers (a model saved from a
// run that diverged: weights near 1e30): every reading command refuses it in one line, exit 1,
// naming what went bad, instead of printing "test -ELBO NaN" with exit 0 or drawing NaN pixels as
// black; and it writes no picture.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors';
import { readCheckpoint } from '../src/checkpoint';
import { runMain } from './helpers/cli-main';
import { tempDir } from './helpers/temp-dir';

const FIXTURE = join(__dirname, 'fixtures', 'v1-checkpoint.safetensors');
const dir = tempDir('webgpu-vae-diverged-');

/** The fixture's model with every parameter times 1e30: finite as stored, overflowing in use. */
function divergedCheckpoint(): string {
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(FIXTURE)));
  const scaled = Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, { shape: t.shape, data: t.data.map((v) => v * 1e30) }]));
  const path = join(dir, 'diverged.safetensors');
  writeFileSync(path, encodeSafetensors(scaled, metadata));
  return path;
}

describe('reading commands on a model whose numbers went bad', () => {
  const path = divergedCheckpoint();

  it('is a checkpoint the reader takes (every stored value finite)', () => {
    expect(readCheckpoint(new Uint8Array(readFileSync(path))).flat.every(Number.isFinite)).toBe(true);
  });

  it.each([
    ['eval', ['eval', '--checkpoint', path, '--limit', '16'], 'a test -ELBO', null],
    ['sample', ['sample', '--checkpoint', path, '--n', '16', '--out', join(dir, 'samples.png')], 'samples', 'samples.png'],
    ['reconstruct', ['reconstruct', '--checkpoint', path, '--n', '4', '--out', join(dir, 'recon.png')], 'codes for the test pictures', 'recon.png'],
    ['interpolate', ['interpolate', '--checkpoint', path, '--pairs', '2', '--out', join(dir, 'interp.png')], 'codes for the test pictures', 'interp.png'],
    ['traverse', ['traverse', '--checkpoint', path, '--dataset', 'mnist', '--limit', '16', '--out', join(dir, 'trav.png')], 'codes for the test pictures', 'trav.png'],
  ])('%s refuses it, exit 1, one line, no picture', async (_name, argv, what, picture) => {
    const r = await runMain(argv);
    expect(r.code, r.stderr).toBe(1);
    // Status lines (the adapter) come first; the refusal is the one error line, the last.
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.filter((l) => l.includes('error')), r.stderr).toHaveLength(1);
    const error = lines.at(-1)!;
    expect(error).toMatch(new RegExp(`^webgpu-vae ${argv[0]}: error: `));
    expect(error).toContain(`${path}: its parameters give ${what} that `);
    expect(error).toMatch(/not finite \(.*NaN or infinite\): the model was saved from a run whose numbers went bad; use a checkpoint written before that/);
    if (picture) expect(existsSync(join(dir, picture))).toBe(false);
  }, 120_000);
});
