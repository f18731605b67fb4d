// The model a training Session is handed: its configuration from the page's settings and the
// data (configFor), the classes a conditional model needs, the GPU memory a page's model may
// take, and its creation on the worker's device with each graph's compile progress in the status
// line. Kept apart from the training loop (session.ts), which only trains what it is given;
// fits.ts checks a model's classes against the data with the same count.
import { VAE, type AcquiredDevice, type GraphKind, type VaeConfig } from '../../src/index';
import { datasetChannels } from '../../src/data/mnist';
import type { FromWorker, Settings } from '../shared/protocol';
import type { LoadedData } from './data';

/** What a graph being compiled is for, in the status line's words; the views' graphs are the rest. */
const GRAPH_WORDS: Partial<Record<GraphKind, string>> = { train: 'the training step', eval: 'the test evaluation', 'iwae-eval': 'the test evaluation' };

/** Classes a conditional model needs for `data`: one per label value up to the largest (10 for digits). */
export function classesOf(data: LoadedData): number {
  let top = 0;
  for (const split of [data.train, data.test]) for (const label of split.labels) top = Math.max(top, label);
  return top + 1;
}

export function configFor(settings: Settings, data: LoadedData): Partial<VaeConfig> {
  const { rows, cols } = data.train, channels = datasetChannels(data.train);
  return {
    inputDim: channels * rows * cols, imageShape: [rows, cols], imageChannels: channels,
    arch: settings.arch, channels: settings.arch === 'conv' ? settings.channels : [], dense: settings.arch === 'conv' ? settings.dense ?? [] : [],
    norm: settings.arch === 'conv' ? settings.norm ?? 'none' : 'none',
    upsample: settings.arch === 'conv' ? settings.upsample ?? 'transposed' : 'transposed',
    hidden: settings.hidden, latent: settings.latent,
    likelihood: settings.likelihood, beta: settings.beta,
    // A fixed sigma of 1 on [0, 1] pixels barely rewards reconstruction: learn a global one, or
    // let the decoder predict one per pixel.
    sigma: settings.likelihood === 'gaussian' ? settings.sigma : 1,
    dequantize: settings.likelihood === 'gaussian' && settings.dequantize,
    objective: settings.objective, tcEstimator: settings.objective === 'tcvae' ? settings.tcEstimator ?? 'mws' : 'mws', samples: settings.samples, warmupSteps: settings.warmupSteps, klCycleSteps: settings.klCycleSteps ?? 0, freeBits: settings.freeBits,
    klCapacity: settings.klCapacity ?? 0, capacitySteps: settings.capacitySteps ?? 0,
    classes: settings.conditional ? classesOf(data) : 0,
    binarize: settings.binarize,
  };
}

/**
 * GPU memory a page's model may take: 1 GiB on a software adapter (its buffers live in the GPU
 * process's RAM: 2 GiB of model and optimizer crashed it) and 4 GiB on a GPU, whose memory WebGPU
 * does not report. Beyond that a browser tab is the wrong place to train; the CLI takes more.
 */
export function pageMemoryBudget(device: Pick<AcquiredDevice, 'adapter'>): number {
  return (device.adapter.isSoftware ? 1 : 4) * 2 ** 30;
}

/** A new model from `settings`, or with a checkpoint's configuration and weights (`loaded`) when given. */
export function createModel(device: AcquiredDevice, settings: Settings, data: LoadedData, post: (m: FromWorker) => void,
  loaded?: { config: VaeConfig; flat: Float32Array }): Promise<VAE> {
  return VAE.create(loaded?.config ?? configFor(settings, data), {
    // owned: false, so vae.destroy() frees the model's buffers but keeps the worker's device.
    device: { ...device, owned: false },
    batch: Math.min(settings.batch, data.train.count), lr: settings.lr, seed: settings.seed,
    precision: settings.precision ?? 'f32',
    initialParams: loaded?.flat,
    // A model past what the browser's GPU process can hold crashed it, and left WebGPU unusable
    // until a browser restart; refused at plan time instead, with the batch or model that fits.
    memoryBudget: pageMemoryBudget(device),
    // Said beside the run's state, not as one: the views compile while training or paused too.
    onCompileProgress: compileProgressPoster(post),
  });
}

/**
 * The model's compile progress as `compiling` messages: what is still compiling, by graph, so that
 * one graph finishing does not clear another's progress (the views and an evaluation may compile
 * at once); null once nothing is.
 */
export function compileProgressPoster(post: (m: FromWorker) => void): (done: number, total: number, graph: GraphKind) => void {
  const pending = new Map<GraphKind, string>();
  return (done, total, graph) => {
    if (done < total) pending.set(graph, `Compiling ${GRAPH_WORDS[graph] ?? 'the views'}: kernels ${done}/${total}…`);
    else pending.delete(graph);
    post({ type: 'compiling', detail: [...pending.values()].at(-1) ?? null });
  };
}
