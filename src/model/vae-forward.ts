// The model's forward passes for callers: encode, decode, sample and reconstruct into CPU arrays,
// in chunks of the training batch so that no new pipelines are compiled, and the *ToBuffer forms
// that hand out a graph's output buffer for drawing without a round trip. Each runs in the call
// order (exclusive, call-queue.ts). Training and evaluation are VAE's (vae.ts).
import { ourLabel } from '../gpu/labels';
import { readFloats, writeData } from '../gpu/buffers';
import { lendBuffer } from '../gpu/handed-out';
import { ConfigError, kindOfValue } from '../errors';
import { STREAM, type StepParams } from '../step-params';
import { widestTensorBytes, type GraphKind, type Plan } from './graphs';
import { checkLabelList, oneHot } from './labels';
import { checkSeed } from './vae-options';
import { checkNoLabels, checkPlanRows, checkRowCount, copyLabels, resultArray, rowsOf, type RowValues } from './vae-inputs';
import { VaeState } from './vae-state';

export abstract class VaeForward extends VaeState {
  /** What this model's input rows hold: a Bernoulli model's pixels are probabilities, checked to lie in [0, 1]. */
  protected get pixelValues(): RowValues {
    return this.config.likelihood === 'bernoulli' ? 'probabilities' : 'pixels';
  }

  /**
   * Runs a forward-only graph for one chunk of rows; returns the plan, whose output holds the
   * result. `handOut`: the output buffer goes to the caller (the *ToBuffer calls), so the plan is kept.
   */
  protected async dispatchForward(kind: GraphKind, rows: number, input: Float32Array | null, labels: ArrayLike<number> | undefined, step: Partial<StepParams> = {}, handOut = false): Promise<Plan> {
    this.assertAlive();
    const plan = await this.planKept(kind, rows, {}, handOut);
    const width = kind === 'decode' || kind === 'decode-output' ? this.config.latent : this.config.inputDim;
    const valid = input ? this.writeRows(plan, input, labels, kind, width) : (step.validRows ?? rows);
    if (!input && plan.condition) writeData(this.device, plan.condition.buffer, 0, oneHot(labels, valid, rows, this.config.classes, kind));
    this.writeStep({ validRows: valid, ...step });
    const enc = this.device.createCommandEncoder({ label: ourLabel(kind) });
    plan.graph.encode(enc);
    this.device.queue.submit([enc.finish()]);
    return plan;
  }

  /** A forward graph over any number of rows, in chunks of the training batch (so no new pipelines). */
  private async runForward(kind: GraphKind, input: Float32Array | null, rows: number, labels: ArrayLike<number> | undefined, step: Partial<StepParams> = {}): Promise<Float32Array<ArrayBuffer>> {
    checkNoLabels(this.config, labels, kind);
    checkLabelList(labels, rows, kind);
    if (this.config.classes > 0 && labels && labels.length !== rows) throw new ConfigError(`${kind}: got ${labels.length} labels for ${rows} rows; give one class per row`);
    const outWidth = kind === 'encode' ? this.parts.sampler.posteriorWidth : kind === 'decode-output' ? this.parts.likelihood.outputWidth : this.config.inputDim;
    // Made at the call, so that a result too large to hold is refused before any GPU work.
    const result = resultArray(kind, rows, outWidth);
    // The input and labels as checked, copied now: the caller may change them before the queued run.
    const ownInput = input?.slice() ?? null, ownLabels = copyLabels(labels);
    return this.exclusive(() => this.runForwardNow(kind, ownInput, rows, ownLabels, step, result, outWidth));
  }

  private async runForwardNow(kind: GraphKind, input: Float32Array | null, rows: number, labels: ArrayLike<number> | undefined, step: Partial<StepParams>, result: Float32Array<ArrayBuffer>, outWidth: number): Promise<Float32Array<ArrayBuffer>> {
    const B = this.training.batch;
    const inWidth = kind === 'decode' || kind === 'decode-output' ? this.config.latent : this.config.inputDim;
    // Copied once: copying the whole array for each chunk made 100,000 rows take seconds.
    const allLabels = labels ? Array.from(labels) : undefined;
    for (let r0 = 0; r0 < rows; r0 += B) {
      const n = Math.min(B, rows - r0);
      const chunk = input ? input.subarray(r0 * inWidth, (r0 + n) * inWidth) : null;
      const chunkLabels = allLabels?.slice(r0, r0 + n);
      // Prior draws are numbered from the chunk's first row, so n samples do not depend on B.
      const plan = await this.dispatchForward(kind, B, chunk, chunkLabels, { ...step, ...(kind === 'sample' ? { validRows: n, noiseRow0: r0 } : {}) });
      result.set(await readFloats(this.device, plan.output.buffer, 0, n * outWidth), r0 * outWidth);
    }
    return result;
  }

  /**
   * GPU-side variants for rendering without a CPU round trip: they return the graph's output
   * buffer ([rows, D] decoder means, f32) as soon as the work is submitted. The buffer belongs to
   * the model: every call of the same kind and size returns it again, overwritten, and it stays
   * valid until destroy(), since its plan is kept out of the plan cache's eviction (so each size
   * used costs a plan's memory for the model's life); bind it read-only.
   */
  async sampleToBuffer(n: number, seed = this.training.seed, labels?: ArrayLike<number>): Promise<GPUBuffer> {
    checkRowCount(n, 'sampleToBuffer');
    checkPlanRows('sampleToBuffer', n, this.bytesPerRow('sample'), this.device);
    checkSeed(seed, 'sampleToBuffer: seed');
    checkNoLabels(this.config, labels, 'sampleToBuffer');
    const own = copyLabels(labels);
    return this.exclusive(async () => lendBuffer((await this.dispatchForward('sample', n, null, own, { seed, stream: STREAM.prior, counter: 0 }, true)).output.buffer, 'sampleToBuffer'));
  }

  async decodeToBuffer(z: Float32Array, labels?: ArrayLike<number>): Promise<GPUBuffer> {
    const rows = rowsOf(z, this.config.latent, 'decodeToBuffer', 'codes');
    checkPlanRows('decodeToBuffer', rows, this.bytesPerRow('decode'), this.device);
    checkNoLabels(this.config, labels, 'decodeToBuffer');
    const own = z.slice(), ownLabels = copyLabels(labels);
    return this.exclusive(async () => lendBuffer((await this.dispatchForward('decode', rows, own, ownLabels, {}, true)).output.buffer, 'decodeToBuffer'));
  }

  async reconstructToBuffer(x: Float32Array, labels?: ArrayLike<number>): Promise<GPUBuffer> {
    const rows = rowsOf(x, this.config.inputDim, 'reconstructToBuffer', this.pixelValues);
    checkPlanRows('reconstructToBuffer', rows, this.bytesPerRow('reconstruct'), this.device);
    checkNoLabels(this.config, labels, 'reconstructToBuffer');
    const own = x.slice(), ownLabels = copyLabels(labels);
    return this.exclusive(async () => lendBuffer((await this.dispatchForward('reconstruct', rows, own, ownLabels, {}, true)).output.buffer, 'reconstructToBuffer'));
  }

  private readonly rowBytes = new Map<GraphKind, number>();

  /** Bytes a row of the widest tensor of graph `kind` takes (recorded once per kind; nothing is allocated). */
  private bytesPerRow(kind: GraphKind): number {
    let bytes = this.rowBytes.get(kind);
    if (bytes === undefined) this.rowBytes.set(kind, (bytes = widestTensorBytes(this.record(kind, 1))));
    return bytes;
  }

  /** mu and logvar of q(z|x) for each row of x ([rows, D] in [0,1]). */
  async encode(x: Float32Array, labels?: ArrayLike<number>): Promise<{ mu: Float32Array<ArrayBuffer>; logvar: Float32Array<ArrayBuffer> }> {
    const rows = rowsOf(x, this.config.inputDim, 'encode', this.pixelValues);
    const q = await this.runForward('encode', x, rows, labels);
    return this.parts.sampler.split(q, rows);
  }

  /** Decoder mean for each row of z ([rows, Z]): pixel probabilities (Bernoulli) or means (Gaussian). */
  async decode(z: Float32Array, labels?: ArrayLike<number>): Promise<Float32Array<ArrayBuffer>> {
    return this.runForward('decode', z, rowsOf(z, this.config.latent, 'decode', 'codes'), labels);
  }

  /**
   * The decoder's raw output for each row of z, what the likelihood reads: Bernoulli logits
   * [rows, D]; Gaussian means [rows, D], or with sigma 'predicted' [rows, 2D], each row's D means
   * then its D log-scales as the network gives them (the likelihood clamps them to [-7, 2]).
   */
  async decodeOutput(z: Float32Array, labels?: ArrayLike<number>): Promise<Float32Array<ArrayBuffer>> {
    return this.runForward('decode-output', z, rowsOf(z, this.config.latent, 'decodeOutput', 'codes'), labels);
  }

  /**
   * `n` examples from the prior: z ~ N(0, I) drawn on the GPU from `seed`, decoded (of class
   * `labels[i]` when conditional). The same seed draws the same z, so by default (the model's
   * training seed) every call gives the same pictures; pass another seed for other draws.
   */
  async sample(n: number, seed = this.training.seed, labels?: ArrayLike<number>): Promise<Float32Array<ArrayBuffer>> {
    checkRowCount(n, 'sample');
    // The labels given second, the seed left out: say where they go.
    if (typeof seed === 'object' && seed !== null) throw new ConfigError(`sample: seed must be a non-negative integer, got ${kindOfValue(seed)}; labels come third: sample(n, seed, labels), e.g. sample(${n}, 0, labels)`);
    checkSeed(seed, 'sample: seed');
    return this.runForward('sample', null, n, labels, { seed, stream: STREAM.prior });
  }

  /** Decoder mean at z = mu(x) for each row of x. */
  async reconstruct(x: Float32Array, labels?: ArrayLike<number>): Promise<Float32Array<ArrayBuffer>> {
    return this.runForward('reconstruct', x, rowsOf(x, this.config.inputDim, 'reconstruct', this.pixelValues), labels);
  }
}
