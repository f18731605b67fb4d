// The run options and optimizer settings a training state holds (`run`, `training`) are what a
// resumed run takes where no flag is given, so no flag check sees them: readRunState checks them,
// naming the file, rather than letting a damaged value through (onNan 'explode', retries 1e9, a
// missing lr taken as the default) or be refused later in words about flags the user never gave.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TRAINING_STATE_FORMAT } from '../src/checkpoint';
import { readRunState } from '../src/cli/run-dir';
import { CheckpointError, encodeSafetensors } from '../src/io/safetensors';
import { paramLayout } from '../src/model/build';
import { configForFile, resolveConfig } from '../src/model/config';
import { tensorsByName } from '../src/model/params';
import { TRAINING_STATE_VERSION } from '../src/training-state';
import { tempDir } from './helpers/temp-dir';

const config = resolveConfig({ inputDim: 784, hidden: [8], latent: 2 });
const layout = paramLayout(config);
const zeros = () => new Float32Array(layout.totalFloats);
const TRAINING = { batch: 128, optimizer: 'adam', lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, seed: 0, lossEvery: 16 };
const RUN = { dataset: 'mnist', dataDir: null, limit: 256, testLimit: 256, batch: 128, lrDecay: 'none', lrMin: 0, epochs: 1, saveEvery: 0, onNan: 'stop', clipGrad: 0, retries: 2, precision: 'f32', initFrom: null };
const root = tempDir('webgpu-vae-run-options-');
let n = 0;

function runDir(training: object, run: object): string {
  const dir = join(root, `run${n++}`);
  mkdirSync(dir);
  const progress = { step: 2, epochsDone: 1, epochStep: 0, stepsPerEpoch: 2, epochLossSum: 0, epochExamples: 0, seconds: 1, watch: [550, 550, 2, 2] };
  writeFileSync(join(dir, 'training-state.safetensors'), encodeSafetensors({ ...tensorsByName(layout, zeros()), ...tensorsByName(layout, zeros(), 'adam.m.'), ...tensorsByName(layout, zeros(), 'adam.v.') }, {
    format: TRAINING_STATE_FORMAT, version: TRAINING_STATE_VERSION, config: JSON.stringify(configForFile(config)),
    training: JSON.stringify(training), run: JSON.stringify(run), progress: JSON.stringify(progress),
  }));
  return dir;
}

describe('readRunState: the run options a training state holds', () => {
  it('reads a good state, and one of an older version without some run fields', () => {
    expect(readRunState(runDir(TRAINING, RUN)).run).toEqual(RUN);
    expect(readRunState(runDir(TRAINING, { dataset: 'mnist' })).run).toEqual({ dataset: 'mnist' });
  });

  const cases: [string, object, object, RegExp][] = [
    ['a missing lr', { ...TRAINING, lr: undefined }, RUN, /training\.lr is missing, where a number > 0 belongs/],
    ['a negative lr', { ...TRAINING, lr: -1 }, RUN, /training\.lr is -1/],
    ['a seed as text', { ...TRAINING, seed: '7' }, RUN, /training\.seed is "7"/],
    ['an unknown data set', TRAINING, { ...RUN, dataset: 'nosuch' }, /run\.dataset is "nosuch", where one of mnist/],
    ['an unknown --on-nan', TRAINING, { ...RUN, onNan: 'explode' }, /run\.onNan is "explode"/],
    ['retries past the flag\'s range', TRAINING, { ...RUN, retries: 1e9 }, /run\.retries is 1000000000/],
    ['a negative --save-every', TRAINING, { ...RUN, saveEvery: -1 }, /run\.saveEvery is -1/],
    ['a batch as text', TRAINING, { ...RUN, batch: 'abc' }, /run\.batch is "abc"/],
    ['a limit as text', TRAINING, { ...RUN, limit: '256' }, /run\.limit is "256"/],
  ];
  for (const [what, training, run, message] of cases) {
    it(`refuses ${what}, naming the file`, () => {
      const dir = runDir(training, run);
      let error: unknown;
      try { readRunState(dir); } catch (e) { error = e; }
      expect(error).toBeInstanceOf(CheckpointError);
      expect((error as Error).message).toMatch(new RegExp(`^${join(dir, 'training-state.safetensors').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toMatch(/the training state is damaged; the run cannot be resumed from it/);
    });
  }
});
