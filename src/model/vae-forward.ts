// The model's forward passes for callers: encode, decode, sample and reconstruct into CPU arrays,
// and the *ToBuffer forms that fill a GPU buffer for drawing without a round trip. Every one runs
// in chunks of the training batch's row count, and a last, smaller chunk in a plan of its own
// size only where that plan's pipelines are compiled already (chunkPlan), so that no row count
// compiles a pipeline of its own. Each runs in the call order (exclusive, call-queue.ts). Training
// and evaluation are VAE's (vae.ts).
import { ourLabel } from '../gpu/labels';
import { formatBytes, MemoryBudgetError, readFloats, writeData } from '../gpu/buffers';
import { lendBuffer } from '../gpu/handed-out';
import { ConfigError, kindOfValue } from '../errors';
import { STREAM, type StepParams } from '../step-params';
import type { GraphKind, Plan } from './graphs';
import { planKey } from './vae-base';
import { checkLabels, oneHot } from './labels';
import { checkSeed } from './vae-options';
import { checkLentRows, checkNoLabels, checkRowCount, copyLabels, resultArray, rowsOf, type RowValues } from './vae-inputs';
import { VaeState } from './vae-state';

/** Where a chunk's output rows go: read back into a CPU array, or copied into a GPU buffer. */
type ChunkSink = { array: Float32Array } | { buffer: GPUBuffer };

export abstract class VaeForward extends VaeState {
  /** What this model's input rows hold: a Bernoulli model's pixels are probabilities, checked to lie in [0, 1]. */
  protected get pixelValues(): RowValues {
    return this.config.likelihood === 'bernoulli' ? 'probabilities' : 'pixels';
  }

  /** Values in one input row of graph `kind` (codes for the decoders, pixels otherwise). */
  private inputWidth(kind: GraphKind): number {
    return kind === 'decode' || kind === 'decode-output' ? this.config.latent : this.config.inputDim;
  }

  /** Values in one output row of graph `kind`. */
  private outputWidth(kind: GraphKind): number {
    return kind === 'encode' ? this.parts.sampler.posteriorWidth : kind === 'decode-output' ? this.parts.likelihood.outputWidth : this.config.inputDim;
  }

  /**
   * Runs a forward-only plan for one chunk of rows; returns the plan, whose output holds the
   * result. `copy`: the output's first bytes are also copied into a buffer, in the same submit.
   */
  private async dispatchForward(plan: Plan, input: Float32Array | null, labels: ArrayLike<number> | undefined, step: Partial<StepParams> = {}, copy?: { to: GPUBuffer; offset: number; bytes: number }): Promise<Plan> {
    this.assertAlive(); // destroyed while the plan was built: its buffers are gone
    const { kind, rows } = plan;
    const valid = input ? this.writeRows(plan, input, labels, kind, this.inputWidth(kind)) : (step.validRows ?? rows);
    if (!input && plan.condition) writeData(this.device, plan.condition.buffer, 0, oneHot(labels, valid, rows, this.config.classes, kind));
    this.writeStep({ validRows: valid, ...step });
    const enc = this.device.createCommandEncoder({ label: ourLabel(kind) });
    plan.graph.encode(enc);
    if (copy) {
      const out = plan.output.resolve();
      enc.copyBufferToBuffer(out.buffer, out.offset ?? 0, copy.to, copy.offset, copy.bytes);
    }
    this.device.queue.submit([enc.finish()]);
    return plan;
  }

  /** A forward graph over any number of rows into a CPU array. */
  private async runForward(kind: GraphKind, input: Float32Array | null, rows: number, labels: ArrayLike<number> | undefined, step: Partial<StepParams> = {}): Promise<Float32Array<ArrayBuffer>> {
    this.checkForwardLabels(kind, rows, labels);
    // Made at the call, so that a result too large to hold is refused before any GPU work.
    const result = resultArray(kind, rows, this.outputWidth(kind));
    // The input and labels as checked, copied now: the caller may change them before the queued run.
    const ownInput = input?.slice() ?? null, ownLabels = copyLabels(labels);
    return this.exclusive(async () => {
      await this.forwardInChunks(kind, ownInput, rows, ownLabels, step, { array: result });
      return result;
    });
  }

  /**
   * Runs graph `kind` over `rows` rows in chunks of the training batch. A chunk of fewer rows runs
   * in a plan of its own size where that compiles nothing (chunkPlan), else padded to the
   * batch; only its valid rows reach `sink`.
   */
  private async forwardInChunks(kind: GraphKind, input: Float32Array | null, rows: number, labels: ArrayLike<number> | undefined, step: Partial<StepParams>, sink: ChunkSink): Promise<void> {
    const B = this.training.batch, inWidth = this.inputWidth(kind), outWidth = this.outputWidth(kind);
    // Copied once: copying the whole array for each chunk made 100,000 rows take seconds.
    const allLabels = labels ? Array.from(labels) : undefined;
    for (let r0 = 0; r0 < rows; r0 += B) {
      const n = Math.min(B, rows - r0);
      const chunk = input ? input.subarray(r0 * inWidth, (r0 + n) * inWidth) : null;
      // Prior draws are numbered from the chunk's first row, so n samples do not depend on B.
      const chunkStep = { ...step, ...(kind === 'sample' ? { validRows: n, noiseRow0: r0 } : {}) };
      const copy = 'buffer' in sink ? { to: sink.buffer, offset: r0 * outWidth * 4, bytes: n * outWidth * 4 } : undefined;
      this.assertAlive();
      const plan = await this.dispatchForward(await this.chunkPlan(kind, n), chunk, allLabels?.slice(r0, r0 + n), chunkStep, copy);
      if ('array' in sink) {
        const out = plan.output.resolve();
        sink.array.set(await readFloats(this.device, out.buffer, (out.offset ?? 0) / 4, n * outWidth), r0 * outWidth);
      }
    }
  }

  /** Whether a plan of `kind` for fewer rows than the batch needs no new pipeline, by `kind:rows`, with the compiled count it was judged at. */
  private readonly ownSizePlans = new Map<string, { free: boolean; compiled: number }>();

  /**
   * The plan a chunk of `rows` rows runs in. Fewer rows than the batch cost less in a plan of their
   * own size (a frame that draws 8 pictures with a model trained at batch 64 would otherwise
   * compute 64), so that plan is used when every pipeline it needs is compiled already: the
   * forward kernels take their sizes from uniforms and bindings where the matmuls are
   * shape-generic (software adapters' default, `matmulGeneric` elsewhere), so after the first call
   * of a kind at the batch size no row count compiles anything. Where some kernel is specialized to
   * its rows (a GPU's default matmuls), or the plan would not fit the memory budget, the chunk runs
   * padded in the batch's plan instead.
   */
  private async chunkPlan(kind: GraphKind, rows: number): Promise<Plan> {
    const B = this.training.batch;
    if (rows < B) {
      const own = planKey(kind, rows, {});
      if (this.plans.has(own)) return this.plan(kind, rows);
      // Only beside the batch's plan, which the call's full chunks and any fallback need (so the
      // plan of fewer rows can never take the memory that one would need), and only where it
      // evicts no plan (a small maxPlans would otherwise swap the two at every call).
      if (this.plans.has(planKey(kind, B, {})) && this.plans.hasRoom && !this.refusedPlans.has(own) && this.compilesNothing(kind, rows)) {
        try {
          return await this.plan(kind, rows);
        } catch (e) {
          if (!(e instanceof MemoryBudgetError)) throw e;
          this.refusedPlans.add(own); // over the memory budget: padded from now on
        }
      }
    }
    return this.plan(kind, B);
  }

  /** Plans of fewer rows that the memory budget refused, by plan key. */
  private readonly refusedPlans = new Set<string>();

  /** Whether graph `kind` for `rows` rows needs only pipelines that are compiled already. */
  private compilesNothing(kind: GraphKind, rows: number): boolean {
    const key = `${kind}:${rows}`, compiled = this.cache.compiles;
    let judged = this.ownSizePlans.get(key);
    // The library's pipelines are never dropped (an app's clear() leaves them): a plan found free
    // stays free, one that was not is judged again once more are compiled.
    if (!judged || (!judged.free && judged.compiled !== compiled)) {
      judged = { free: this.record(kind, rows).graph.kernels.every((k) => this.cache.has(k, 'library')), compiled };
      this.ownSizePlans.set(key, judged);
    }
    return judged.free;
  }

  /**
   * Every label checked at the call, before any chunk runs: a refusal found at a later chunk
   * would come after earlier chunks were drawn (into a lent buffer, too) and name a row of its chunk.
   */
  private checkForwardLabels(kind: GraphKind, rows: number, labels: ArrayLike<number> | undefined, what: string = kind): void {
    checkNoLabels(this.config, labels, what);
    if (this.config.classes > 0) checkLabels(labels, rows, this.config.classes, what);
  }

  /** The buffers lent by the *ToBuffer calls, by call and row count: each is drawn into again at the next such call. */
  private readonly lent = new Map<string, GPUBuffer>();

  /**
   * A forward graph over any number of rows into the buffer lent for this call and row count
   * (made at its first use, freed by destroy()). It is returned once the work is submitted.
   */
  private async forwardToBuffer(call: string, kind: GraphKind, input: Float32Array | null, rows: number, labels: ArrayLike<number> | undefined, step: Partial<StepParams> = {}): Promise<GPUBuffer> {
    this.checkForwardLabels(kind, rows, labels, call);
    const outWidth = this.outputWidth(kind);
    checkLentRows(call, rows, outWidth * 4, this.device);
    const ownInput = input?.slice() ?? null, ownLabels = copyLabels(labels);
    return this.exclusive(async () => {
      this.assertAlive();
      const key = `${call}:${rows}`;
      let buffer = this.lent.get(key);
      if (!buffer) {
        // Refused in its own terms: what fills the budget may be the buffers lent before, one per
        // row count drawn, which a smaller batch or model would not free.
        const held = [...this.lent.values()].reduce((sum, b) => sum + b.size, 0);
        this.arena.reserve(`the buffer vae.${call}() lends for ${rows} rows`, rows * outWidth * 4,
          `the *ToBuffer calls keep one buffer per call and row count until vae.destroy() (${this.lent.size} held, ${formatBytes(held)}): draw at fewer distinct row counts (a few fixed sizes), or use a smaller batch or model`);
        buffer = lendBuffer(this.arena.create(`${call}[${rows}]`, rows * outWidth * 4), `came from vae.${call}()`, 'draws into it again at the next call of that kind and size');
        this.lent.set(key, buffer);
      }
      await this.forwardInChunks(kind, ownInput, rows, ownLabels, step, { buffer });
      return buffer;
    });
  }

  /**
   * GPU-side variants for rendering without a CPU round trip: they return a buffer of the model's
   * ([rows, D] decoder means, f32) as soon as the work is submitted. Every call of the same kind
   * and row count returns the same buffer, overwritten; it stays valid until destroy(), so each
   * row count drawn this way holds its buffer's memory for the model's life. Bind it read-only.
   */
  async sampleToBuffer(n: number, seed = this.training.seed, labels?: ArrayLike<number>): Promise<GPUBuffer> {
    checkRowCount(n, 'sampleToBuffer');
    checkSeed(seed, 'sampleToBuffer: seed');
    return this.forwardToBuffer('sampleToBuffer', 'sample', null, n, labels, { seed, stream: STREAM.prior });
  }

  async decodeToBuffer(z: Float32Array, labels?: ArrayLike<number>): Promise<GPUBuffer> {
    return this.forwardToBuffer('decodeToBuffer', 'decode', z, rowsOf(z, this.config.latent, 'decodeToBuffer', 'codes'), labels);
  }

  async reconstructToBuffer(x: Float32Array, labels?: ArrayLike<number>): Promise<GPUBuffer> {
    return this.forwardToBuffer('reconstructToBuffer', 'reconstruct', x, rowsOf(x, this.config.inputDim, 'reconstructToBuffer', this.pixelValues), labels);
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
