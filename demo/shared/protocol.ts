// Messages between the page (demo/main.ts) and the training worker (demo/worker/worker.ts). Both
// sides import these types so a renamed field is a compile error, not a silent no-op.
import type { VaeConfig } from '../../src/index';
import type { DataSourceName } from '../../src/data/sources';

/** Everything the form controls decide; the model part becomes a VaeConfig. */
export interface Settings {
  latent: number;
  /** Dense layers, or stride-2 convolutions down to a small picture ('conv'). */
  arch: 'mlp' | 'conv';
  hidden: number[];
  /** Widths of the conv architecture's convolutions, one per halving (empty: chosen from the image size). */
  channels: number[];
  /** Dense layer widths of the conv architecture (encoder order); empty: none. Absent in runs saved before it existed. */
  dense?: number[];
  /** GroupNorm after each hidden convolution of the conv architecture. Absent in runs saved before it existed. */
  norm?: 'none' | 'group';
  /** How the conv decoder doubles its sides. Absent in runs saved before it existed. */
  upsample?: 'transposed' | 'nearest';
  /** Storage of the hidden activations (dense, conv, GroupNorm); 'f16' needs the GPU's shader-f16. Absent in runs saved before it existed. */
  precision?: 'f32' | 'f16';
  likelihood: 'bernoulli' | 'gaussian';
  /** Gaussian scale: one learned sigma, or a log-scale the decoder predicts for every pixel. */
  sigma: 'learned' | 'predicted';
  /** Uniform dequantization of the 8-bit levels (Gaussian only), so the loss reads as bits/dim. */
  dequantize: boolean;
  /** Training objective: the ELBO, the importance-weighted bound (IWAE), or beta-TCVAE. */
  objective: VaeConfig['objective'];
  /** beta-TCVAE's total-correlation estimator. Absent in runs saved before it existed (then 'mws'). */
  tcEstimator?: VaeConfig['tcEstimator'];
  /** z samples per example: L for the ELBO, K for IWAE. */
  samples: number;
  beta: number;
  /** Steps over which the KL weight ramps up linearly to beta (0: off). */
  warmupSteps: number;
  /** Cyclical annealing: the warm-up restarts every this many steps (0: off; needs warmupSteps). Absent in runs saved before it existed. */
  klCycleSteps?: number;
  /** Nats of KL per latent dimension that go unpenalised (0: off). */
  freeBits: number;
  /** Capacity control: the loss is rec + beta |KL - C|, C growing to this many nats (0: off). Absent in runs saved before it existed. */
  klCapacity?: number;
  /** Steps over which C grows from 0 to klCapacity (0: at once). */
  capacitySteps?: number;
  /** Condition encoder and decoder on the example's label (one class per distinct label). */
  conditional: boolean;
  binarize: 'none' | 'dynamic' | 'fixed';
  batch: number;
  lr: number;
  seed: number;
  /** Training examples used (the first N of the training split). */
  subset: number;
}

export type ViewName = 'samples' | 'reconstructions' | 'manifold' | 'interpolation' | 'traversal';
export const VIEW_NAMES: ViewName[] = ['samples', 'reconstructions', 'manifold', 'interpolation', 'traversal'];

/**
 * How rendered frames reach the page. 'canvas': a WebGPU context on the transferred
 * OffscreenCanvas. 'bitmap': render into a detached WebGPU OffscreenCanvas and hand its
 * ImageBitmap (still a GPU image) to a 'bitmaprenderer' context; headless Chromium on
 * SwiftShader composites only this second path.
 */
export type PresentMode = 'canvas' | 'bitmap';

/** IDX file bytes for one split (gzip or plain). */
export interface IdxPair {
  images: ArrayBuffer;
  labels: ArrayBuffer;
  imagesName: string;
  labelsName: string;
}

export type DataSource =
  | { kind: 'mnist'; baseUrl: string }
  | { kind: 'files'; name: string; train: IdxPair; test?: IdxPair }
  /** Another IDX data set the page's server provides under MNIST's file names (Fashion-MNIST). */
  | { kind: 'served'; name: string; baseUrl: string }
  /** dSprites drawn in the worker: the training subset and test examples of a seeded permutation. */
  | { kind: 'dsprites'; colour: boolean; seed: number }
  /** The user's own pictures, decoded in the worker, centre-cropped and resized to imageSize. */
  | { kind: 'images'; files: File[]; imageSize: number; channels: 1 | 3; seed: number };

export type RunState = 'starting' | 'idle' | 'loading' | 'training' | 'pausing' | 'paused' | 'lost' | 'failed';
/** Each data set's name as the page's picker words it, by the command line's name. */
export const PAGE_DATA_NAMES: Record<DataSourceName, string> = {
  mnist: 'MNIST', 'fashion-mnist': 'Fashion-MNIST', cifar10: 'CIFAR-10', dsprites: 'dSprites', 'dsprites-color': 'Colour dSprites', folder: 'your own images',
};

/**
 * The detail of the 'paused' state posted as soon as training stops, while the views are redrawn
 * for the step it stopped at (seconds on a slow model); a 'paused' state without it follows.
 */
export const DRAWING_AFTER_PAUSE = 'drawing the pictures of this step…';

export type ErrorKind = 'no-webgpu' | 'device-lost' | 'data' | 'config' | 'checkpoint' | 'kept-run' | 'internal';

export interface LossChunk {
  /** Last step of the chunk (0-based) and the number of steps averaged. */
  step: number;
  steps: number;
  /** Per-example means over the chunk: the training objective (rec + weighted KL, or the IWAE bound), reconstruction, KL. */
  loss: number;
  rec: number;
  kl: number;
}

export interface EpochReport {
  epoch: number;
  /** Last step of the epoch (0-based). */
  step: number;
  train: { loss: number; rec: number; kl: number };
  test: { loss: number; rec: number; kl: number; examples: number };
  /** The epoch's steps and its test evaluation, in seconds; pauses and reloads not counted. */
  seconds: number;
}

export type ToWorker =
  | { type: 'init'; canvases: Record<ViewName, OffscreenCanvas>; present: PresentMode }
  | { type: 'start'; settings: Settings; data: DataSource }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'reset' }
  | { type: 'save' }
  | { type: 'load'; bytes: ArrayBuffer; fileName: string; settings: Settings; data: DataSource }
  | { type: 'interpolate'; a: number; b: number }
  /** Class decoded by the manifold or the interpolation of a conditional model (null: the first endpoint's own label, for the interpolation). */
  | { type: 'view-class'; view: 'manifold' | 'interpolation'; label: number | null }
  | { type: 'recover' }
  /** Continue the run kept in browser storage (demo/shared/saved-run.ts). */
  /** `savedAt`: when the run the page offered was kept, so that another run kept since (by another tab) is not taken for it. */
  | { type: 'continue'; data: DataSource; savedAt: number }
  /** Fresh canvases, sent when the worker asks for them to change the presentation path. */
  | { type: 'canvases'; canvases: Record<ViewName, OffscreenCanvas>; present: PresentMode }
  | { type: 'debug-lose-device' };

export type FromWorker =
  | { type: 'ready'; adapter: string; software: boolean; /** The device's WebGPU features ('shader-f16' decides the f16 option). */ features: string[] }
  | { type: 'state'; state: RunState; detail?: string }
  /**
   * The model compiles kernels for a graph (what it says, "Compiling the views: kernels 2/4…"),
   * or has compiled them (null). The run's state stays as it was: a pause that draws its pictures
   * with new kernels is still a pause, and Resume stays enabled.
   */
  | { type: 'compiling'; detail: string | null }
  | { type: 'dataset'; name: string; train: number; test: number; rows: number; cols: number }
  | { type: 'model'; config: VaeConfig; params: number; batch: number; precision: 'f32' | 'f16' }
  | { type: 'progress'; chunks: LossChunk[]; epoch: number; examplesPerSecond: number }
  | { type: 'epoch'; report: EpochReport }
  | { type: 'latents'; mu: Float32Array; labels: Uint8Array }
  /** decodedAs: the class the path was decoded as (conditional models), else null. */
  | { type: 'interpolation'; a: number; b: number; labels: [number, number]; decodedAs: number | null }
  | { type: 'saved'; bytes: ArrayBuffer; step: number }
  /**
   * The traversal view's rows: latent dimensions from the top, with their mean test KL (null: no
   * test data) and, on dSprites, the factor that explains most of each used row (else null).
   */
  | { type: 'traversal'; dims: number[]; kl: number[] | null; factors: ({ name: string; share: number } | null)[] | null }
  /** Where a restored run stands (after a continue or a recovery), so the status shows it at once. */
  | { type: 'position'; step: number; epoch: number; loss: number }
  /** The run was written to browser storage at this step. */
  | { type: 'stored'; step: number; runId: string }
  /** The worker needs new canvases for presentation `present` (the old ones keep their contexts). */
  | { type: 'need-canvases'; present: PresentMode }
  /** Something the user should know that needs no action (e.g. an automatic recovery). */
  | { type: 'notice'; text: string }
  | { type: 'error'; kind: ErrorKind; message: string; snapshotStep?: number };
