// What a model allocates once, before any graph: the flat parameters, their gradients, Adam's two
// moments (4-byte stand-ins under SGD, which keeps none), the per-step uniform block, the loss and
// health rings the LossRing reads, the evaluation sums and the step watch. All come from the
// model's arena, so they count against its memory budget; the parameters, gradients and moments
// are reserved first, so a model whose weights alone exceed the budget is refused by name.
import { STEP_PARAMS } from '../../shaders/common';
import { initialWatch } from '../../shaders/grad-norm';
import type { BufferArena } from '../gpu/buffers';
import { ConfigError, kindOfValue } from '../errors';
import type { ModelBuffers } from './graphs';
import { firstNonFinite, flatLengthProblem, initialParams, type ParamLayout } from './params';
import type { TrainingOptions } from './vae-options';
import { BufferUsage } from '../gpu/webgpu-flags';

/**
 * Counts the parameters, their gradients and the optimizer's moments against the arena's budget,
 * refusing by name what does not fit. Also how the CLI checks a model before reading its data.
 */
export function reserveParameterState(arena: BufferArena, totalFloats: number, optimizer: TrainingOptions['optimizer']): void {
  arena.reserve('the parameters, their gradients and the optimizer state', totalFloats * 4 * (optimizer === 'adam' ? 4 : 2));
}

export function createModelBuffers(arena: BufferArena, layout: ParamLayout, t: TrainingOptions, given?: Float32Array): ModelBuffers {
  const P = layout.totalFloats;
  // VAE.create refuses other types first; checked again because this uploads the array's bytes as they are.
  if (given !== undefined && !(given instanceof Float32Array)) throw new ConfigError(`initialParams must be a Float32Array of ${P} floats, got ${kindOfValue(given)}`);
  const length = given ? flatLengthProblem(layout, given.length) : null;
  if (length) throw new ConfigError(`initialParams: ${length}`);
  const bad = given ? firstNonFinite(layout, given) : null;
  if (bad) throw new ConfigError(`initialParams: ${bad}; a model cannot start from values that are not finite numbers`);
  reserveParameterState(arena, P, t.optimizer);
  const init = given ?? initialParams(layout, t.seed);
  return {
    params: arena.upload('params', init),
    grads: arena.create('grads', P * 4),
    moment1: arena.create('adam.m', t.optimizer === 'adam' ? P * 4 : 4),
    moment2: arena.create('adam.v', t.optimizer === 'adam' ? P * 4 : 4),
    stepParams: arena.create('step-params', STEP_PARAMS.bytes, BufferUsage.UNIFORM | BufferUsage.COPY_DST),
    history: arena.create('loss-history', (t.lossEvery + 1) * 16),
    accum: arena.create('accum', 16),
    watch: arena.upload('step-watch', initialWatch()),
    health: arena.create('step-health', (t.lossEvery + 1) * 16),
  };
}
