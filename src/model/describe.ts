// The model's shape in one line, as the CLI and the demo print it: "784-400-20" for the mlp, and
// "conv 3x64x64 -> 16-32-64-64 (GroupNorm 8) -> 256 -> 10" for the conv architecture (", nearest
// upsampling" after it for that decoder); and its
// likelihood, "gaussian with a learned scale"; and its
// objective, "ELBO L=1 beta=4 warm-up 50 steps every 200" or "IWAE K=5". Imports only types, so
// the demo's page can use it without loading the library.
import type { VaeConfig } from './config';
import { largestDivisorAtMost } from './layers/group-norm';

/** Separators: ASCII for terminals, or the page's typographic ones. */
export interface ShapeSymbols {
  times: string;
  arrow: string;
  beta: string;
}

export const ASCII_SYMBOLS: ShapeSymbols = { times: 'x', arrow: '->', beta: 'beta' };
export const PAGE_SYMBOLS: ShapeSymbols = { times: '×', arrow: '→', beta: 'β' };

type ShapeFields = Pick<VaeConfig, 'arch' | 'inputDim' | 'hidden' | 'latent' | 'imageChannels' | 'imageShape' | 'channels' | 'dense' | 'norm' | 'normGroups'> & Partial<Pick<VaeConfig, 'upsample'>>;

export function describeShape(c: ShapeFields, { times, arrow }: ShapeSymbols = ASCII_SYMBOLS): string {
  if (c.arch !== 'conv') return [c.inputDim, ...c.hidden, c.latent].join('-');
  // A width the groups do not divide takes its largest divisor below them (build.ts): say so, for
  // the line would otherwise claim groups a layer does not have.
  const fewer = [...new Set(c.channels)].filter((w) => largestDivisorAtMost(w, c.normGroups) !== c.normGroups)
    .map((w) => `${largestDivisorAtMost(w, c.normGroups)} at width ${w}`);
  const norm = c.norm === 'group' ? ` (GroupNorm ${c.normGroups}${fewer.length ? `; ${fewer.join(', ')}` : ''})` : '';
  const upsample = c.upsample === 'nearest' ? ', nearest upsampling' : '';
  return `conv ${[c.imageChannels, ...c.imageShape].join(times)} ${arrow} ${c.channels.join('-')}${norm} ${arrow} ${[...c.dense, c.latent].join(` ${arrow} `)}${upsample}`;
}

type ObjectiveFields = Pick<VaeConfig, 'objective' | 'samples' | 'beta' | 'warmupSteps' | 'klCycleSteps' | 'freeBits'> & Partial<Pick<VaeConfig, 'klCapacity' | 'capacitySteps' | 'tcEstimator'>>;

export function describeObjective(c: ObjectiveFields, { beta }: ShapeSymbols = ASCII_SYMBOLS): string {
  if (c.objective === 'iwae') return `IWAE K=${c.samples}`;
  const warmup = c.warmupSteps ? ` warm-up ${c.warmupSteps} steps${c.klCycleSteps ? ` every ${c.klCycleSteps}` : ''}` : '';
  if (c.objective === 'tcvae') return `${beta}-TCVAE L=${c.samples} TC ${beta}=${c.beta}${c.tcEstimator === 'mss' ? ' (stratified estimate)' : ''}${warmup}${c.freeBits ? ` free bits ${c.freeBits}` : ''}`;
  const capacity = c.klCapacity ? ` capacity ${c.klCapacity} nats${c.capacitySteps ? ` over ${c.capacitySteps} steps` : ''}` : '';
  return `ELBO L=${c.samples}${c.beta !== 1 ? ` ${beta}=${c.beta}` : ''}${warmup}${c.freeBits ? ` free bits ${c.freeBits}` : ''}${capacity}`;
}

type LikelihoodFields = Pick<VaeConfig, 'likelihood' | 'sigma'> & Partial<Pick<VaeConfig, 'dequantize'>>;

/** The likelihood with its scale: 'bernoulli', 'gaussian, sigma 0.5', 'gaussian with a learned scale', ... */
export function describeLikelihood(c: LikelihoodFields): string {
  if (c.likelihood !== 'gaussian') return c.likelihood;
  const scales: Record<string, string> = { predicted: ' with predicted scales', learned: ' with a learned scale', 'learned-pixel': ' with a learned scale per pixel' };
  return `gaussian${scales[String(c.sigma)] ?? `, sigma ${c.sigma}`}${c.dequantize ? ', dequantized' : ''}`;
}
