// The importance-weighted log-likelihood estimate (Burda et al. 2015), the VAE literature's
// yardstick: -log p(x) ~ -(logsumexp_k log w_k - log K) with K importance samples from q(z|x).
// K is large (5000 in the literature), so the samples of a batch of examples are drawn K_c at a
// time (a chunk sized to fit the device) and folded into a running logsumexp per example on the
// GPU; after the last chunk each example's estimate lands in a per-example buffer, read once at
// the end. The mean over examples is the NLL; its standard error is from the per-example values.
import { ourLabel } from '../gpu/labels';
import { ConfigError, DeviceLimitError, shown } from '../errors';
import { MemoryBudgetError, readFloats } from '../gpu/buffers';
import { widestTensorBytes } from './graphs';
import { STREAM } from '../step-params';
import type { VaeConfig } from './config';
import type { BatchSource } from './resident-data';
import type { VAE } from './vae';
import { gentleWait } from '../gpu/gentle-wait';
import { checkKnownKeys } from '../edit-distance';
import { checkSeed } from './vae-options';

export interface LogLikelihoodOptions {
  /** Importance samples per example (K). */
  samples: number;
  /** Examples per batch; default: as many as keep a chunk's decoder rows near `maxRows`. */
  batch?: number;
  /** Decoder rows (examples x samples) per chunk; default 8192, or as many as keep the chunk's widest tensor (a hidden layer, a conv feature map) within the device's binding limit. */
  maxRows?: number;
  seed?: number;
  /** Called after each chunk with (chunks done, chunks in all). */
  onProgress?: (done: number, total: number) => void;
}

export interface LogLikelihoodResult {
  /** Mean of the per-example estimates of -log p(x), in nats. */
  nll: number;
  /** Standard error of that mean (sample standard deviation / sqrt(n)). */
  stderr: number;
  /**
   * The same in bits per dimension (`bitsPerDim`): (nll + D ln 256) / (D ln 2) on dequantized data,
   * nll / (D ln 2) for a Bernoulli likelihood of binary (or binarized) pixels; null where the nats
   * are not those of a likelihood of the 8-bit pixels (`noBitsPerDim` says why).
   */
  bitsPerDim: number | null;
  examples: number;
  samples: number;
  perExample: Float32Array<ArrayBuffer>;
}

/**
 * Samples per chunk: the largest divisor of k not above cap, so that the chunks are equal, unless
 * that divisor is under half the cap (k = 4999 would give chunks of 1, and 4999 submits a batch);
 * then the cap itself, and the last chunk holds the remainder.
 */
export function chunkOf(k: number, cap: number): number {
  const most = Math.min(k, Math.max(1, cap));
  for (let c = most; 2 * c >= most; c--) if (k % c === 0) return c;
  return most;
}

const OPTION_NAMES: readonly (keyof LogLikelihoodOptions)[] = ['samples', 'batch', 'maxRows', 'seed', 'onProgress'];

/**
 * logLikelihood's options, checked when it is called rather than when its turn in the model's
 * queue comes: known names only (a misspelt one would be ignored, silently), counts that are
 * counts, a seed Philox takes, a callback that is a function.
 */
export function checkLogLikelihoodOptions(opts: unknown): asserts opts is LogLikelihoodOptions {
  if (!opts || typeof opts !== 'object' || Array.isArray(opts)) throw new ConfigError('logLikelihood needs options with the number of importance samples, e.g. { samples: 5000 }');
  checkKnownKeys('logLikelihood option', Object.keys(opts), OPTION_NAMES);
  const o = opts as LogLikelihoodOptions;
  const K = o.samples;
  if (!Number.isInteger(K) || K < 1 || K > 1e6) throw new ConfigError(`logLikelihood: samples (importance samples per example) must be an integer in 1..1000000, got ${shown(K)}`);
  const counts = { batch: 'examples per batch', maxRows: 'decoder rows (examples x samples) per chunk' } as const;
  for (const [name, what] of Object.entries(counts) as [keyof typeof counts, string][]) {
    const v = o[name];
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new ConfigError(`logLikelihood: ${name} (${what}) must be an integer >= 1, got ${shown(v)}`);
  }
  if (o.seed !== undefined) checkSeed(o.seed, 'logLikelihood: seed');
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw new ConfigError(`logLikelihood: onProgress must be a function (done, total) => ..., got ${shown(o.onProgress)}`);
}

/** The estimate; `opts` were checked by checkLogLikelihoodOptions when logLikelihood was called. */
export async function estimateLogLikelihood(vae: VAE, data: BatchSource, opts: LogLikelihoodOptions): Promise<LogLikelihoodResult> {
  const K = opts.samples;
  const bounds = vae.scratchBuffer('iwae.bounds', data.count * 4);
  // The widest tensor of a chunk must fit one binding: measured on the graph recorded for one row
  // and one sample, so a conv decoder's feature maps and im2col matrices count, not only its output.
  const widest = widestTensorBytes(vae.record('iwae-eval', 1, { samples: 1, bounds }));
  const fits = Math.max(1, Math.floor(vae.device.limits.maxStorageBufferBindingSize / widest));
  const maxRows = Math.min(opts.maxRows ?? 8192, fits);
  const B = Math.min(data.count, opts.batch ?? Math.max(1, Math.min(256, Math.floor(maxRows / Math.min(K, 64)))));
  const Kc = chunkOf(K, Math.floor(maxRows / B));
  const chunks = Math.ceil(K / Kc);
  const plan = await vae.plan('iwae-eval', B, { samples: Kc, bounds }).catch((e) => {
    throw restateChunkRefusal(e, B, Kc, opts.batch !== undefined);
  });
  const batches = Math.ceil(data.count / B);
  const gather = await data.gatherFor(plan, vae.buffers, vae.cache, 'logLikelihood');
  vae.assertAlive(); // destroyed while the plan was built?
  for (let i = 0; i < batches; i++) {
    for (let c = 0; c < chunks; c++) {
      // Sample k of example e draws counter k at element e * Z + j (reparam.ts, counterPerSample):
      // the estimate of each example depends on neither the batch nor the chunks.
      vae.writeStep({
        seed: opts.seed ?? vae.training.seed, stream: STREAM.iwae, counter: c * Kc, chunk: c, totalSamples: K,
        batchStart: i * B, validRows: Math.min(B, data.count - i * B), datasetCount: data.count, noiseRow0: i * B,
      });
      const enc = vae.device.createCommandEncoder({ label: ourLabel('iwae-eval') });
      if (c === 0) gather.encode(enc);
      plan.graph.encode(enc);
      vae.device.queue.submit([enc.finish()]);
      if (opts.onProgress && (c === chunks - 1 || c % 8 === 7)) {
        await gentleWait(() => vae.device.queue.onSubmittedWorkDone());
        vae.assertAlive();
        opts.onProgress(i * chunks + c + 1, batches * chunks);
      }
    }
  }
  const perExample = await readFloats(vae.device, bounds, 0, data.count);
  vae.assertAlive();
  let sum = 0;
  for (const v of perExample) sum += v;
  const nll = sum / data.count;
  let sq = 0;
  for (const v of perExample) sq += (v - nll) ** 2;
  const stderr = data.count > 1 ? Math.sqrt(sq / (data.count - 1) / data.count) : NaN;
  return { nll, stderr, bitsPerDim: noBitsPerDim(vae.config, data) ? null : bitsPerDim(nll, vae.config), examples: data.count, samples: K, perExample };
}

/**
 * A chunk refused by a device limit or the memory budget, with the fix in logLikelihood's terms:
 * its chunks are sized by maxRows (and batch), not by the training batch the refusal suggests.
 */
function restateChunkRefusal(e: unknown, B: number, Kc: number, batchGiven: boolean): unknown {
  const generic = /use a smaller batch( or model)?/;
  if (!(e instanceof DeviceLimitError) || !generic.test(e.message)) return e;
  const fix = `give logLikelihood fewer rows per chunk (maxRows; ${B * Kc} here, ${B} examples x ${Kc} samples)${batchGiven ? ' or a smaller batch' : ''}`;
  const message = e.message.replace(generic, fix);
  return e instanceof MemoryBudgetError ? new MemoryBudgetError(message, e.what, e.needed, e.inUse, e.budget) : new DeviceLimitError(message);
}

/**
 * Why a model's nats on `data` have no bits/dim comparable with the literature, or null when they
 * do: a dequantized Gaussian density, or a Bernoulli likelihood of binary or binarized pixels.
 */
export function noBitsPerDim(config: Pick<VaeConfig, 'dequantize' | 'likelihood' | 'binarize'>, data: Pick<BatchSource, 'binaryPixels'>): string | null {
  if (config.dequantize) return null;
  if (config.likelihood === 'bernoulli') {
    if (config.binarize !== 'none' || data.binaryPixels) return null;
    return 'grey levels taken as Bernoulli probabilities are not a likelihood of the pixels; binarizing them makes one (binarize: \'dynamic\'; --binarize dynamic in the CLI)';
  }
  // Binarized pixels are 0 or 1, and dequantizing excludes binarizing: the fix is the likelihood.
  if (config.binarize !== 'none') {
    return 'a density on continuous values is not a likelihood of binarized pixels; the bernoulli likelihood is one (likelihood \'bernoulli\'; --likelihood bernoulli in the CLI)';
  }
  return 'a density on continuous values is not a likelihood of the 8-bit pixels; dequantizing them makes one (dequantize: true; --dequantize in the CLI)';
}

/**
 * Bits per dimension of a negative log-likelihood in nats. On dequantized 8-bit data the model is
 * a density on x = (g + u) / 256, and -log P(g) <= E_u[-log p(x)] + D log 256 (each level's bin
 * has width 1/256), so the discrete figure the literature reports adds D log 256 before dividing
 * by D log 2. Otherwise (Bernoulli, or grey levels / 255) the nats are divided as they are.
 * It converts any figure: whether the nats are a likelihood of the pixels is noBitsPerDim's answer.
 */
export function bitsPerDim(nll: number, config: Pick<VaeConfig, 'inputDim' | 'dequantize'>): number {
  const D = config.inputDim;
  return (nll + (config.dequantize ? D * Math.log(256) : 0)) / (D * Math.LN2);
}
