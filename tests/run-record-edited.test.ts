// A run's config.json whose config was edited into one the library cannot read (a field mistyped,
// one added) is refused for that, naming the field: not as "the folder mixes files of two runs"
// with fields the edit never touched (every one the file leaves to its default) named as differing.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRecordMatchesState } from '../src/cli/run-dir';
import { configForFile, resolveConfig } from '../src/model/config';
import { tempDir } from './helpers/temp-dir';

const config = resolveConfig({ inputDim: 784, hidden: [32], latent: 4 });

function folder(edit: Record<string, unknown>): string {
  const dir = tempDir('webgpu-vae-record-');
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ format: 'webgpu-vae-run', started: '', config: { ...configForFile(config), ...edit }, training: {}, run: {}, resumed: [] }));
  return dir;
}

describe('an edited config.json', () => {
  it('as written by the run: accepted', () => {
    expect(() => checkRecordMatchesState(folder({}), config)).not.toThrow();
  });
  it('latent as text: refused for that, not for tcEstimator', () => {
    expect(() => checkRecordMatchesState(folder({ latent: '4' }), config)).toThrow(/config\.json: its config is not a model configuration this webgpu-vae reads \(latent must be a positive integer/);
    expect(() => checkRecordMatchesState(folder({ latent: '4' }), config)).not.toThrow(/tcEstimator/);
  });
  it('an unknown field: refused naming it, with the fix', () => {
    expect(() => checkRecordMatchesState(folder({ note: 'mine' }), config)).toThrow(/unknown config field 'note'.*restore config\.json as the run wrote it, or remove it/);
  });
  it('another valid model: still the two-runs refusal', () => {
    expect(() => checkRecordMatchesState(folder({ latent: 8 }), config)).toThrow(/describe different models \(latent differ\): the folder mixes files of two runs/);
  });
});
