// The kernel factories as `webgpu-vae/kernels` exports them: each refuses a parameter name it does
// not know, with the nearest known one, before building anything. A factory reads only the names
// it knows, so `matmul({ M, N, K, transb: true })` would otherwise build A·B where A·Bᵀ was meant,
// with no error and, for shapes that fit, no wrong-size binding to give it away. The check is here,
// at the public entry, and not in shaders/: the model's own callers build their parameter objects
// from wider ones, which carry names a kernel does not read. (The factories' own value checks throw
// the same ConfigError, from shaders/errors.ts, since shaders/ imports nothing from src/.)
import { sliceSum as sliceSumF } from '../shaders/common';
import { matmul as matmulF, MATMUL_TILES } from '../shaders/matmul';
import { nonzeroSteps as nonzeroStepsF } from '../shaders/matmul-zeros';
import { columnSum as columnSumF } from '../shaders/column-sum';
import { activationBackward as activationBackwardF, activationForward as activationForwardF } from '../shaders/activation';
import { priorSample as priorSampleF, reparamBackward as reparamBackwardF, reparamForward as reparamForwardF } from '../shaders/reparam';
import { decoderMean as decoderMeanF, likelihoodRows as likelihoodRowsF } from '../shaders/likelihood';
import { conv2dForward as conv2dForwardF, conv2dInputGrad as conv2dInputGradF, conv2dWeightGrad as conv2dWeightGradF } from '../shaders/conv';
import { convBiasGrad as convBiasGradF, convWeightGradSum as convWeightGradSumF } from '../shaders/conv-sums';
import { groupNormForward as groupNormForwardF, groupNormInputGrad as groupNormInputGradF, groupNormParamGrad as groupNormParamGradF } from '../shaders/group-norm';
import { channelsToRows as channelsToRowsF, col2im as col2imF, im2col as im2colF, rowsToChannels as rowsToChannelsF } from '../shaders/conv-im2col';
import { elboReduce as elboReduceF, klCapacity as klCapacityF, klDivergence as klDivergenceF, klFreeBits as klFreeBitsF } from '../shaders/elbo';
import { tcPosteriorGrad as tcPosteriorGradF, tcRows as tcRowsF } from '../shaders/tc';
import { upsampleBackward as upsampleBackwardF, upsampleForward as upsampleForwardF } from '../shaders/upsample';
import { concatBackward as concatBackwardF, concatForward as concatForwardF } from '../shaders/concat';
import { iwaeChunk as iwaeChunkF, iwaeReduce as iwaeReduceF, iwaeWeights as iwaeWeightsF } from '../shaders/iwae';
import { optimizerStep as optimizerStepF } from '../shaders/adam';
import { gradNormPartial as gradNormPartialF } from '../shaders/grad-norm';
import { gatherBatch as gatherBatchF, gatherLabels as gatherLabelsF, gatherRows as gatherRowsF } from '../shaders/batch';
import { dspritesRaster as dspritesRasterF } from '../shaders/dsprites';
import { checkKnownKeys } from './edit-distance';
import { ConfigError, shown } from './errors';

/** Any factory of one parameter object. */
type Factory = (p: any) => unknown;
/**
 * Every parameter name of a factory, as a record: tsc refuses a list that misses one of the
 * parameter type's names or has one it lacks, so a list cannot drift from its factory. A boolean
 * parameter is marked 'flag' (tsc insists), and refused unless it is true or false: a factory tests
 * it for truth, so `transB: 'false'` from JSON or plain JavaScript would build the transposed product.
 */
type Names<F extends Factory> = { [K in keyof Required<Parameters<F>[0]>]-?: NonNullable<Parameters<F>[0][K]> extends boolean ? 'flag' : true };

/** Every factory's parameter names, by factory name (docs/API.md tabulates them; the declaration types say which are optional). */
export const FACTORY_PARAMETERS: Record<string, readonly string[]> = {};

/**
 * `factory`, refusing anything but an object of parameters, and an unknown parameter name
 * (ConfigError naming the nearest known one); `more` checks what lies inside the parameters.
 */
function checked<F extends Factory>(kernel: string, factory: F, names: Names<F>, more?: (p: Parameters<F>[0]) => void): F {
  const known = Object.keys(names);
  FACTORY_PARAMETERS[kernel] = Object.freeze([...known]);
  const wrapped = (p: Parameters<F>[0]) => {
    if (p === null || typeof p !== 'object' || Array.isArray(p)) {
      throw new ConfigError(`${kernel}() takes one object of parameters (${known.join(', ')}), e.g. ${kernel}({ ${known.slice(0, 3).map((k) => `${k}: ...`).join(', ')} }); got ${shown(p)}`);
    }
    checkKnownKeys(`${kernel} parameter`, Object.keys(p), known);
    for (const [name, kind] of Object.entries(names)) {
      const v = (p as Record<string, unknown>)[name];
      if (kind === 'flag' && v !== undefined && typeof v !== 'boolean') throw new ConfigError(`${kernel} ${name} must be true or false (or left out), got ${shown(v)}`);
    }
    more?.(p);
    return factory(p);
  };
  // Named as exported, so a factory passed where its kernel belongs is named in the message.
  return Object.defineProperty(wrapped, 'name', { value: kernel }) as unknown as F;
}


/** A matmul tile's fields: every variant's default has them all. */
const TILE_FIELDS = Object.keys(MATMUL_TILES.register);

const shape = { M: true, N: true, K: true } as const;
const geometry = { batch: true, inChannels: true, inHeight: true, inWidth: true, outChannels: true, kernel: true, stride: true, padding: true } as const;
const epilogue = { bias: 'flag', activation: true, gradActivation: true } as const;
const channels = { batch: true, channels: true, pixels: true } as const;
const groupNorm = { ...channels, groups: true, f16: true } as const;

export const sliceSum = checked('sliceSum', sliceSumF, { name: true, from: true, to: true, slices: true, length: true });
export const matmul = checked('matmul', matmulF, {
  ...shape, transA: 'flag', transB: 'flag', ...epilogue, variant: true, tile: true, generic: 'flag', f16: true, subgroups: 'flag', channelsFirstPixels: true, splits: true, skipZeros: true, skipBlock: true,
}, (p) => {
  // A misspelt field ({ vec4: false }) would leave the default it meant to change, with no error.
  if (p.tile !== undefined && (p.tile === null || typeof p.tile !== 'object' || Array.isArray(p.tile))) throw new ConfigError(`matmul tile must be an object of tile fields (${TILE_FIELDS.join(', ')}); got ${shown(p.tile)}`);
  if (p.tile) checkKnownKeys('matmul tile field', Object.keys(p.tile), TILE_FIELDS);
});
export const nonzeroSteps = checked('nonzeroSteps', nonzeroStepsF, { G: true, K: true, layout: true, block: true, generic: 'flag' });
export const columnSum = checked('columnSum', columnSumF, { rows: true, cols: true, slices: true });
export const activationForward = checked('activationForward', activationForwardF, { activation: true, kind: true, count: true, f16: true, sizedByBinding: 'flag' });
export const activationBackward = checked('activationBackward', activationBackwardF, { activation: true, kind: true, count: true, f16: true });
export const reparamForward = checked('reparamForward', reparamForwardF, { batch: true, samples: true, layout: true, meanOnly: 'flag', sizedByBinding: 'flag', counterPerSample: 'flag' });
export const reparamBackward = checked('reparamBackward', reparamBackwardF, { batch: true, samples: true, layout: true, directZ: 'flag' });
export const priorSample = checked('priorSample', priorSampleF, { count: true, latent: true, sizedByBinding: 'flag' });
export const likelihoodRows = checked('likelihoodRows', likelihoodRowsF, {
  batch: true, samples: true, dim: true, likelihood: true, scale: true, gradients: 'flag', rowWeights: 'flag', threadsPerRow: true,
});
export const decoderMean = checked('decoderMean', decoderMeanF, { rows: true, dim: true, likelihood: true, scale: true, sizedByBinding: 'flag' });
export const conv2dForward = checked('conv2dForward', conv2dForwardF, { ...geometry, variant: true, ...epilogue, f16: true, subgroups: 'flag', sizedByBinding: 'flag' });
export const conv2dInputGrad = checked('conv2dInputGrad', conv2dInputGradF, { ...geometry, variant: true, ...epilogue, f16: true, subgroups: 'flag', sizedByBinding: 'flag' });
export const conv2dWeightGrad = checked('conv2dWeightGrad', conv2dWeightGradF, { ...geometry, variant: true, f16: true, subgroups: 'flag', splits: true });
export const convWeightGradSum = checked('convWeightGradSum', convWeightGradSumF, { slices: true, weights: true });
export const convBiasGrad = checked('convBiasGrad', convBiasGradF, { ...channels, threadsPerChannel: true, slices: true });
export const groupNormForward = checked('groupNormForward', groupNormForwardF, { ...groupNorm, activation: true, sizedByBinding: 'flag', serial: 'flag' });
export const groupNormInputGrad = checked('groupNormInputGrad', groupNormInputGradF, { ...groupNorm, serial: 'flag' });
export const groupNormParamGrad = checked('groupNormParamGrad', groupNormParamGradF, groupNorm);
export const im2col = checked('im2col', im2colF, { ...geometry, f16: true, sizedByBinding: 'flag' });
export const col2im = checked('col2im', col2imF, { ...geometry, ...epilogue, f16: true, sizedByBinding: 'flag' });
export const channelsToRows = checked('channelsToRows', channelsToRowsF, { ...channels, f16: true, sizedByBinding: 'flag' });
export const rowsToChannels = checked('rowsToChannels', rowsToChannelsF, { ...channels, ...epilogue, f16: true, sizedByBinding: 'flag' });
export const klDivergence = checked('klDivergence', klDivergenceF, { batch: true, layout: true, gradients: 'flag' });
export const klFreeBits = checked('klFreeBits', klFreeBitsF, { batch: true, layout: true });
export const klCapacity = checked('klCapacity', klCapacityF, { batch: true, layout: true });
export const tcRows = checked('tcRows', tcRowsF, { batch: true, samples: true, layout: true, tcExcess: true, estimator: true, gradients: 'flag' });
export const tcPosteriorGrad = checked('tcPosteriorGrad', tcPosteriorGradF, { batch: true, samples: true, layout: true, tcExcess: true, estimator: true });
export const elboReduce = checked('elboReduce', elboReduceF, { batch: true, samples: true, freeBitsLatent: true, tcExcess: true, capacity: 'flag', examples: 'flag' });
export const iwaeWeights = checked('iwaeWeights', iwaeWeightsF, { batch: true, samples: true, layout: true, gradients: 'flag' });
export const iwaeReduce = checked('iwaeReduce', iwaeReduceF, { batch: true, samples: true });
export const iwaeChunk = checked('iwaeChunk', iwaeChunkF, { batch: true, samples: true, layout: true });
export const optimizerStep = checked('optimizerStep', optimizerStepF, { kind: true, count: true, gated: 'flag' });
export const gradNormPartial = checked('gradNormPartial', gradNormPartialF, { count: true });
export const gatherBatch = checked('gatherBatch', gatherBatchF, { rows: true, dim: true, binarize: true, dequantize: 'flag' });
export const gatherLabels = checked('gatherLabels', gatherLabelsF, { rows: true, classes: true });
export const gatherRows = checked('gatherRows', gatherRowsF, { rows: true, dim: true });
const upsample = { batch: true, channels: true, height: true, width: true, scale: true, f16: true } as const;
export const upsampleForward = checked('upsampleForward', upsampleForwardF, { ...upsample, sizedByBinding: 'flag' });
export const upsampleBackward = checked('upsampleBackward', upsampleBackwardF, upsample);
const concat = { rows: true, features: true, extra: true, conditionRows: true, f16: true } as const;
export const concatForward = checked('concatForward', concatForwardF, { ...concat, sizedByBinding: 'flag' });
export const concatBackward = checked('concatBackward', concatBackwardF, concat);
export const dspritesRaster = checked('dspritesRaster', dspritesRasterF, { rows: true, colour: 'flag', gathered: 'flag' });
