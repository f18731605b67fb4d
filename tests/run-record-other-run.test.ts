// A training state of another run of the same architecture (another seed, other data), copied into
// a run folder, is refused before the run resumes: it would overwrite the folder's model and leave
// its config.json and metrics.jsonl describing two runs as one.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRecordMatchesState } from '../src/cli/run-dir';
import { configForFile, resolveConfig } from '../src/model/config';
import type { TrainingState } from '../src/training-state';
import { tempDir } from './helpers/temp-dir';

const config = resolveConfig({ inputDim: 784, hidden: [32], latent: 4 });
const TRAINING = { batch: 128, optimizer: 'adam', lr: 1e-3, seed: 0 };
const RUN = { dataset: 'mnist', trainData: '0d920d8b8e1bc32a', lr: 1e-3, seed: 0 };

function folder(): string {
  const dir = tempDir('webgpu-vae-other-run-');
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ format: 'webgpu-vae-run', started: '', config: configForFile(config), training: TRAINING, run: RUN, resumed: [] }));
  return dir;
}
const state = (training: object, run: object) => ({ training, run }) as unknown as Pick<TrainingState, 'training' | 'run'>;

describe('a training state of another run', () => {
  it('the run\'s own (a new --lr on an earlier resume included): accepted', () => {
    expect(() => checkRecordMatchesState(folder(), config, state({ ...TRAINING, lr: 1e-4 }, { ...RUN, lr: 1e-4 }))).not.toThrow();
  });
  it('another seed: refused', () => {
    expect(() => checkRecordMatchesState(folder(), config, state({ ...TRAINING, seed: 3 }, { ...RUN, seed: 3 }))).toThrow(/are of different runs \(training seed 0 and 3\): the folder mixes files of two runs/);
  });
  it('other training data: refused', () => {
    expect(() => checkRecordMatchesState(folder(), config, state(TRAINING, { ...RUN, trainData: 'ffffffffffffffff' }))).toThrow(/run trainData "0d920d8b8e1bc32a" and "ffffffffffffffff"/);
  });
});
