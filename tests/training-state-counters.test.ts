// A training state's counters, step watch and moments are checked when the file is read, with the
// file named: not accepted as they are (1.5 epochs done, a watch counting more steps than were
// taken), nor refused later by restoreOptimizer, once the device has started, without the file's name.
import { describe, expect, it } from 'vitest';
import { TRAINING_STATE_FORMAT } from '../src/checkpoint';
import { CheckpointError, encodeSafetensors } from '../src/io/safetensors';
import { paramLayout } from '../src/model/build';
import { configForFile, resolveConfig } from '../src/model/config';
import { tensorsByName } from '../src/model/params';
import { readTrainingState, TRAINING_STATE_VERSION } from '../src/training-state';

const config = resolveConfig({ inputDim: 784, hidden: [8], latent: 2 });
const layout = paramLayout(config);
const zeros = () => new Float32Array(layout.totalFloats);
const GOOD = { step: 4, epochsDone: 2, epochStep: 0, stepsPerEpoch: 2, epochLossSum: 0, epochExamples: 0, seconds: 1, watch: [550, 550, 4, 4] };

function state(progress: object, v = zeros()): Uint8Array {
  return encodeSafetensors({ ...tensorsByName(layout, zeros()), ...tensorsByName(layout, zeros(), 'adam.m.'), ...tensorsByName(layout, v, 'adam.v.') }, {
    format: TRAINING_STATE_FORMAT, version: TRAINING_STATE_VERSION, config: JSON.stringify(configForFile(config)),
    training: JSON.stringify({ optimizer: 'adam', lr: 1e-3, seed: 0 }), run: '{}', progress: JSON.stringify(progress),
  });
}

const refusal = (bytes: Uint8Array) => {
  try {
    readTrainingState(bytes, 'runs/x/training-state.safetensors');
  } catch (e) {
    return e;
  }
  return null;
};

describe('readTrainingState: counters, watch and moments', () => {
  it('reads a good state', () => {
    expect(readTrainingState(state(GOOD)).progress.step).toBe(4);
  });

  const cases: [string, object, RegExp][] = [
    ['1.5 epochs done', { ...GOOD, step: 3, epochsDone: 1.5 }, /progress\.epochsDone is 1\.5, not a whole number/],
    ['epochs of 0 steps', { ...GOOD, step: 0, epochsDone: 1, stepsPerEpoch: 0, watch: [550, 550, 0, 0] }, /1 epochs done of 0 steps each/],
    ['a watch of 2 numbers', { ...GOOD, watch: [1, 2] }, /progress\.watch: watch must be the 4 finite numbers/],
    ['a watch of negative counts', { ...GOOD, watch: [1, 1, -2, -2] }, /progress\.watch: .*must be integers from 0/],
    ['a watch that is text', { ...GOOD, watch: 'abc' }, /progress\.watch: watch must be the 4 finite numbers/],
    ['a watch counting more steps than taken', { ...GOOD, watch: [550, 550, 4, 99] }, /99 applied steps, more than the 4 steps taken/],
  ];
  for (const [what, progress, message] of cases) {
    it(`refuses ${what}, naming the file`, () => {
      const e = refusal(state(progress));
      expect(e).toBeInstanceOf(CheckpointError);
      expect((e as Error).message).toMatch(/^runs\/x\/training-state\.safetensors: /);
      expect((e as Error).message).toMatch(message);
    });
  }

  it('refuses a negative second moment, naming the file and the tensor', () => {
    const v = zeros();
    v[layout.byName.get('encoder.head.bias')!.offset] = -1;
    const e = refusal(state(GOOD, v));
    expect(e).toBeInstanceOf(CheckpointError);
    expect((e as Error).message).toMatch(/^runs\/x\/training-state\.safetensors: adam\.v\.encoder\.head\.bias\[0\] is -1/);
  });
});
