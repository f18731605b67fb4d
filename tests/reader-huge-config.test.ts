// A checkpoint or training state whose configuration describes a far larger model than its tensors
// (a hand-edited or damaged config: hidden [2^30]) is refused by its tensors' shapes, with the
// file named, rather than by a RangeError from an array of the described model's size.
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, readCheckpoint, TRAINING_STATE_FORMAT } from '../src/checkpoint';
import { CheckpointError, encodeSafetensors } from '../src/io/safetensors';
import { paramLayout } from '../src/model/build';
import { configForFile, resolveConfig } from '../src/model/config';
import { tensorsByName } from '../src/model/params';
import { readTrainingState, TRAINING_STATE_VERSION } from '../src/training-state';

const small = resolveConfig({ inputDim: 784, hidden: [8], latent: 2 });
const layout = paramLayout(small);
const params = tensorsByName(layout, new Float32Array(layout.totalFloats));
const huge = (over: object) => JSON.stringify({ ...configForFile(small), ...over });

describe('a configuration far larger than the file', () => {
  for (const over of [{ hidden: [2 ** 30] }, { latent: 2 ** 30 }]) {
    it(`checkpoint with ${JSON.stringify(over)}: a CheckpointError naming the shapes`, () => {
      const bytes = encodeSafetensors(params, { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, config: huge(over) });
      let error: unknown;
      try { readCheckpoint(bytes, 'big.safetensors'); } catch (e) { error = e; }
      expect(error).toBeInstanceOf(CheckpointError);
      expect((error as Error).message).toMatch(/^big\.safetensors: .*wrong shape/);
    });
  }

  it('training state with hidden [2^30]: a CheckpointError naming the shapes', () => {
    const tensors = { ...params, ...tensorsByName(layout, new Float32Array(layout.totalFloats), 'adam.m.'), ...tensorsByName(layout, new Float32Array(layout.totalFloats), 'adam.v.') };
    const progress = { step: 0, epochsDone: 0, epochStep: 0, stepsPerEpoch: 1, epochLossSum: 0, epochExamples: 0, seconds: 0 };
    const bytes = encodeSafetensors(tensors, {
      format: TRAINING_STATE_FORMAT, version: TRAINING_STATE_VERSION, config: huge({ hidden: [2 ** 30] }),
      training: JSON.stringify({ optimizer: 'adam' }), run: '{}', progress: JSON.stringify(progress),
    });
    let error: unknown;
    try { readTrainingState(bytes, 'state.safetensors'); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toMatch(/^state\.safetensors: .*wrong shape/);
  });
});
