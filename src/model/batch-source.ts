// Where a model's batches come from on the GPU. A BatchSource fills a plan's input rows with
// examples perm[batch_start + r] of its set (and, for a conditional model, their one-hot labels),
// in dispatches built once per plan and recorded into each step's encoder; `setOrder` uploads an
// epoch's shuffle, which only training follows: an evaluation (elbo, logLikelihood and their
// per-example figures) visits the examples in their own order, so its figures and their noise
// are those of example i whatever shuffle training last set. GpuExamples holds what every source shares (the order, the labels, the graphs);
// a source adds its rows' dispatch: stored pictures (ResidentData, resident-data.ts) or pictures
// drawn at each step (GeneratedSprites, generated-data.ts).
import { gatherLabels } from '../../shaders/batch';
import { type BufferArena, writeData } from '../gpu/buffers';
import { ConfigError, kindOfValue, shown } from '../errors';
import type { PipelineCache } from '../gpu/pipelines';
import { KernelGraph } from '../graph';
import type { VaeConfig } from './config';
import type { ModelBuffers, Plan } from './graphs';

export interface BatchSource {
  /** Examples in the set. */
  readonly count: number;
  /** Values per example (the model's inputDim). */
  readonly dim: number;
  /** The device its buffers live on. */
  readonly device?: GPUDevice;
  /** Whether its buffers are gone: destroy() was called, or the model that made it was destroyed. */
  readonly destroyed?: boolean;
  /**
   * Whether every value is 0 or 255 (binary pictures): then a Bernoulli likelihood of them is a
   * discrete one and logLikelihood gives bits/dim without binarization. Absent counts as false.
   */
  readonly binaryPixels?: boolean;
  /**
   * The class count its labels were checked against and are gathered for (the uploading model's),
   * 0 when it has none. A conditional model takes only a set of its own class count.
   */
  readonly classes?: number;
  /**
   * The model call that makes such a set (`upload` where absent), which a refusal asking for the
   * set again names: rows of values cannot go to `upload`, which takes 8-bit pictures.
   */
  readonly madeBy?: 'upload' | 'uploadRows' | 'generateSprites';
  /** Uploads the order training visits examples in (e.g. an epoch's shuffle): a permutation of 0..count-1. Evaluations keep the examples' own order. */
  setOrder(order: Uint32Array): void;
  /**
   * The dispatches filling a plan's input (and condition) with rows perm[batch_start + r], built
   * once per plan; refused for a destroyed set, in the words of the call `what` that reads it.
   */
  gatherFor(plan: Plan, buffers: ModelBuffers, cache: PipelineCache, what?: string): Promise<KernelGraph>;
  destroy(): void;
}

/**
 * How a refusal asks for a set again, by the call that made it (`madeBy`): the verb, and that call
 * with the arguments a labelled set takes. Rows of values would be refused by `upload`.
 */
export const REMAKE = {
  upload: { verb: 'upload it', call: 'vae.upload({ images, count, labels })' },
  uploadRows: { verb: 'upload it', call: 'vae.uploadRows({ rows, count, labels })' },
  generateSprites: { verb: 'make it', call: 'vae.generateSprites(indices)' },
} as const;

/** The refusal of a call (`what`) that reads a data set whose buffers are gone. */
export function destroyedDataError(what: string, madeBy: BatchSource['madeBy'] = 'upload'): ConfigError {
  return new ConfigError(`${what}: this data set was destroyed (data.destroy() or its model's destroy()); ${REMAKE[madeBy].verb} again with this model (vae.${madeBy})`);
}

/**
 * Refuses an array of `length` values that is not `count` examples of the model's `dim`, saying
 * whether `count` or the examples' size is wrong. `array` names the field ('images', 'rows').
 */
export function checkExampleLength(label: string, length: number, count: number, dim: number, array: 'images' | 'rows'): void {
  if (length === count * dim) return;
  // Either count is wrong (the length is a whole number of the model's examples) or the examples
  // are of another size (a whole number of values each, e.g. MNIST's 784 for an 8x8 model).
  const perExample = length / count, ofModel = length / dim;
  const things = array === 'images' ? 'pictures' : 'rows';
  const otherSize = `${count} examples of ${perExample} values each, while the model takes ${dim} (inputDim): build the model for ${perExample}-value ${things}${array === 'images' ? ', or resize the pictures' : ''}`;
  const wrongCount = `${ofModel} examples of ${dim} values: give count: ${ofModel}`;
  const fix = Number.isInteger(perExample) && Number.isInteger(ofModel) ? `the ${array} hold either ${wrongCount}, or ${otherSize}`
    : Number.isInteger(perExample) ? `the ${array} hold ${otherSize}`
    : Number.isInteger(ofModel) ? `count and the ${array}' length disagree: the ${array} hold ${wrongCount}`
    : `the model's inputDim (${dim}) must match the data's values per example`;
  throw new ConfigError(`dataset ${label} has ${length} ${array === 'images' ? 'pixels' : 'values'}, expected ${count} examples x ${dim} values; ${fix}`);
}

/** Refuses labels that are not one class number below `classes` per example, for a conditional model. */
export function checkExampleLabels(label: string, labels: ArrayLike<number> | undefined, count: number, classes: number): void {
  if (classes === 0) return;
  if (!labels || labels.length !== count) throw new ConfigError(`dataset ${label} has ${labels ? `${labels.length} labels` : 'no labels'} for its ${count} examples, but the model is conditional on ${classes} classes: pass one label per example (labels: integers, e.g. a Uint8Array, or a Uint16Array past 256 classes), or create the model without classes`);
  // Stored as u32: a negative or fractional label would wrap or round into some other class.
  const odd = Array.prototype.findIndex.call(labels, (l: number) => !(Number.isInteger(l) && l >= 0));
  if (odd >= 0) throw new ConfigError(`dataset ${label}: label ${shown(labels[odd])} of example ${odd} is not a class number; labels are integers 0..${classes - 1}`);
  let top = 0;
  for (let i = 0; i < labels.length; i++) top = Math.max(top, labels[i]);
  if (top >= classes) throw new ConfigError(`dataset ${label} has label ${top}, but the model knows classes 0..${classes - 1}; set classes to at least ${top + 1}`);
}

export abstract class GpuExamples implements BatchSource {
  readonly madeBy?: BatchSource['madeBy'];
  readonly perm: GPUBuffer;
  readonly labels: GPUBuffer | null;
  /**
   * The identity order, for the graphs other than training's once a shuffle is set (before that,
   * `perm` is the identity): uploaded when such a graph first gathers, so a set that is only
   * trained on (the command line's) or only evaluated (a test set) never holds it.
   */
  private identity: GPUBuffer | null = null;
  /** Whether setOrder has been called: `perm` may then differ from the identity. */
  private shuffled = false;
  /** Keyed weakly: a plan the model's plan cache evicts takes its gather graph with it. */
  private gathers = new WeakMap<Plan, KernelGraph>();

  /** Uploads the identity order and, for a conditional model, `labels` (one class per example). */
  protected constructor(protected readonly arena: BufferArena, readonly count: number, readonly dim: number, protected readonly config: VaeConfig,
    label: string, labels: Uint32Array | null) {
    this.perm = arena.upload(`${label}.perm`, Uint32Array.from({ length: count }, (_, i) => i));
    this.labels = config.classes > 0 && labels ? arena.upload(`${label}.labels`, labels) : null;
  }

  /** The dispatch writing the plan's input rows from examples order[batch_start + r]. */
  protected abstract recordRows(g: KernelGraph, plan: Plan, buffers: ModelBuffers, order: GPUBuffer): void;

  /** The order a plan gathers in: the shuffle set for training, the examples' own for every other graph. */
  private orderFor(plan: Plan): GPUBuffer {
    if (plan.kind === 'train' || !this.shuffled) return this.perm;
    if (!this.identity) {
      const label = `${this.perm.label.replace(/\.perm$/, '')}.identity`;
      this.arena.reserve(`the evaluation order of ${label} (${this.count} examples, read in their own order rather than training's shuffle)`, 4 * this.count,
        'evaluate fewer examples at a time, or a set that is not trained on');
      this.identity = this.arena.upload(label, Uint32Array.from({ length: this.count }, (_, i) => i));
    }
    return this.identity;
  }

  /** The buffers this source holds besides the order and labels (freed by destroy). */
  protected abstract ownBuffers(): GPUBuffer[];

  get device(): GPUDevice {
    return this.arena.device;
  }

  get classes(): number {
    return this.labels ? this.config.classes : 0;
  }

  /**
   * Whether the buffers are gone, by destroy() or by the destroy() of the model whose arena holds
   * them (which may not be the model training on it): asked of the arena, which knows both.
   */
  get destroyed(): boolean {
    return !this.arena.holds(this.perm);
  }

  setOrder(order: Uint32Array): void {
    // Written to a destroyed buffer, the order would reach the device as an uncaptured error only.
    if (this.destroyed) throw destroyedDataError('setOrder', this.madeBy);
    if (!(order instanceof Uint32Array)) throw new ConfigError(`setOrder takes a Uint32Array permutation of 0..${this.count - 1}, got ${kindOfValue(order)}`);
    if (order.length !== this.count) throw new ConfigError(`setOrder: the order has ${order.length} entries but the data set has ${this.count} examples; give one index per example`);
    // An index past the end would gather another buffer's bytes (or zeros) without an error.
    // A repeated index would train on some examples twice an epoch and on others never.
    const seen = new Uint8Array(this.count);
    for (let i = 0; i < order.length; i++) {
      if (order[i] >= this.count) throw new ConfigError(`setOrder: entry ${i} is ${order[i]}, past the data set's last example (${this.count - 1})`);
      if (seen[order[i]]++) throw new ConfigError(`setOrder: entry ${i} repeats example ${order[i]}; the order must be a permutation of 0..${this.count - 1}, each example once (new Philox(seed, stream).permutation(count) gives one)`);
    }
    if (!this.shuffled) {
      // Graphs other than training's gathered through `perm` while it was the identity: they are
      // built again, through an identity order of their own (orderFor).
      this.shuffled = true;
      this.gathers = new WeakMap();
    }
    writeData(this.arena.device, this.perm, 0, order);
  }

  async gatherFor(plan: Plan, buffers: ModelBuffers, cache: PipelineCache, what = 'gatherFor'): Promise<KernelGraph> {
    // A call queued behind this set's destroy() would otherwise upload to an arena it left.
    if (this.destroyed) throw destroyedDataError(what, this.madeBy);
    let g = this.gathers.get(plan);
    if (!g) {
      g = new KernelGraph(`${this.constructor.name}[${plan.rows}]`);
      const order = this.orderFor(plan);
      this.recordRows(g, plan, buffers, order);
      if (plan.condition) {
        g.add(gatherLabels({ rows: plan.rows, classes: this.config.classes }), { params: buffers.stepParams, labels: this.labels!, perm: order, condition: plan.condition });
      }
      await g.build(cache);
      this.gathers.set(plan, g);
    }
    return g;
  }

  destroy(): void {
    for (const b of [...this.ownBuffers(), this.perm, this.identity, this.labels]) if (b) this.arena.release(b);
    this.identity = null;
    this.gathers = new WeakMap();
  }
}
