// Reading and replacing what a model has learned: its parameters, gradients, Adam's moments, the
// step count and the step health check's watch. Every read and write goes through the model's
// operation queue (VaeBase.exclusive), so it happens where it was called among the model's other
// calls: a save after an un-awaited trainStep holds that step's weights, and setFlatParameters
// after one is not undone by it. The checks of what restoreOptimizer is given are in
// optimizer-state.ts.
import { initialWatch, WATCH_VEC4S } from '../../shaders/grad-norm';
import { readFloats, writeData } from '../gpu/buffers';
import { ConfigError, kindOfValue } from '../errors';
import { firstNonFinite, flatLengthProblem, tensorsByName } from './params';
import { ADAM_STEP_LIMIT, checkRestoredState, type RestoredState } from './optimizer-state';
import { VaeBase } from './vae-base';

/** What a saved run continues from, read together (trainingSnapshot). */
export interface TrainingSnapshot {
  /** Adam steps taken when it was read. */
  step: number;
  params: Float32Array<ArrayBuffer>;
  /** Adam's moments; null for SGD. */
  m: Float32Array<ArrayBuffer> | null;
  v: Float32Array<ArrayBuffer> | null;
  /** The step health check's watch (watchState()). */
  watch: number[];
}

type Moments = { m: Float32Array<ArrayBuffer>; v: Float32Array<ArrayBuffer> };

export abstract class VaeState extends VaeBase {
  /** The gradients of the last training step called before this, copied to the CPU (flat layout). */
  async flatGradients(): Promise<Float32Array<ArrayBuffer>> {
    return this.readInOrder(() => readFloats(this.device, this.buffers.grads));
  }

  /** Every parameter tensor by name, copied to the CPU. */
  async parameters(): Promise<Record<string, { shape: number[]; data: Float32Array<ArrayBuffer> }>> {
    const flat = await this.flatParameters();
    return tensorsByName(this.layout, flat);
  }

  /** The parameters as the calls made before this one leave them (flat layout), copied to the CPU. */
  async flatParameters(): Promise<Float32Array<ArrayBuffer>> {
    return this.readInOrder(() => readFloats(this.device, this.buffers.params));
  }

  /**
   * The parameters and the step count they are of, read in one queued operation: `vae.step` read
   * beside an un-awaited step may be one behind the parameters the queue later reads.
   */
  async stepAndParameters(): Promise<{ step: number; flat: Float32Array<ArrayBuffer> }> {
    return this.readInOrder(async () => ({ step: this.step, flat: await readFloats(this.device, this.buffers.params) }));
  }

  /**
   * Replaces all parameters (flat layout) and resets the optimizer state, after the calls made
   * before it (writeInOrder). Bad input is refused at once and changes nothing.
   */
  setFlatParameters(flat: Float32Array): Promise<void> {
    this.assertAlive();
    if (!(flat instanceof Float32Array)) throw new ConfigError(`setFlatParameters takes a Float32Array of ${this.layout.totalFloats} floats, got ${kindOfValue(flat)}`);
    const length = flatLengthProblem(this.layout, flat.length);
    if (length) throw new ConfigError(`setFlatParameters: ${length}`);
    const bad = firstNonFinite(this.layout, flat);
    if (bad) throw new ConfigError(`setFlatParameters: ${bad}; a model cannot train from values that are not finite numbers`);
    // Copied now: the caller may change its array before a queued write runs.
    const params = Float32Array.from(flat);
    return this.writeInOrder(() => {
      writeData(this.device, this.buffers.params, 0, params);
      const zeros = new Float32Array(this.buffers.moment1.size / 4);
      writeData(this.device, this.buffers.moment1, 0, zeros);
      writeData(this.device, this.buffers.moment2, 0, zeros);
      this.step = 0;
      this.losses.resetTo(0);
      this.restoreWatch(null, 0);
    });
  }

  /** Adam's first and second moments (flat layout, like the parameters), copied to the CPU; null for SGD, which keeps none. */
  async optimizerState(): Promise<Moments | null> {
    return this.readInOrder(() => this.momentsNow());
  }

  /**
   * Everything a saved run continues from, read in one queued operation so that the parts belong
   * to one step: the step count, the parameters, Adam's moments and the step watch.
   */
  async trainingSnapshot(): Promise<TrainingSnapshot> {
    return this.readInOrder(async () => {
      const step = this.step;
      const params = await readFloats(this.device, this.buffers.params);
      const moments = await this.momentsNow();
      return { step, params, m: moments?.m ?? null, v: moments?.v ?? null, watch: await this.watchNow() };
    });
  }

  /**
   * Continues a saved run: Adam's moments (flat layout; none for SGD), the number of steps
   * already taken, which fixes the next step's noise, data draws, learning rate and KL weight, and
   * the step watch, whose fourth number is Adam's step count for the bias corrections (without a
   * watch, every step taken counts as applied). Give the saved parameters as `initialParams` when
   * creating the model. In call order, like setFlatParameters.
   */
  restoreOptimizer(state: RestoredState): Promise<void> {
    this.assertAlive();
    // Everything is checked before anything is written: a refused call changes nothing.
    checkRestoredState(state, this.layout, this.training.optimizer);
    const adam = this.training.optimizer === 'adam';
    // Copied now: the caller may change its arrays before a queued write runs.
    const m = adam ? Float32Array.from(state.m!) : null, v = adam ? Float32Array.from(state.v!) : null;
    const watch = state.watch ? Array.from(state.watch) : null, step = state.step;
    return this.writeInOrder(() => {
      if (m && v) {
        writeData(this.device, this.buffers.moment1, 0, m);
        writeData(this.device, this.buffers.moment2, 0, v);
      }
      this.step = step;
      this.losses.resetTo(step);
      this.restoreWatch(watch, step);
    });
  }

  /**
   * The step health check's watch (shaders/grad-norm.ts): smoothed loss, its running minimum,
   * accepted steps, and Adam's step count t (the steps applied, which the bias corrections follow).
   * Saved with a checkpoint so that a resumed run judges its steps and corrects Adam's moments
   * exactly as an uninterrupted one.
   */
  async watchState(): Promise<number[]> {
    return this.readInOrder(() => this.watchNow());
  }

  /**
   * Sets the watch (checked by checkWatch) and clears the last step's verdict. With none, nothing
   * is seen yet and Adam's t is the `steps` taken, every one counted as applied. A watch whose t is
   * 0 was saved before t was kept, when every step counted in t: t is the `steps` taken then too
   * (not the watch's accepted steps, which restart at 0 wherever a restore started the watch
   * afresh, and would shrink the next updates). t is kept within the 2^24 the watch can count.
   */
  protected restoreWatch(watch: ArrayLike<number> | null, steps: number): void {
    const w = initialWatch();
    if (watch) w.set(watch);
    if (w[3] === 0) w[3] = Math.min(steps, ADAM_STEP_LIMIT);
    writeData(this.device, this.buffers.watch, 0, w.subarray(0, 4 * WATCH_VEC4S));
  }

  // The unqueued reads, for use inside a queued operation (which must not queue behind itself).
  private async momentsNow(): Promise<Moments | null> {
    if (this.training.optimizer !== 'adam') return null;
    return { m: await readFloats(this.device, this.buffers.moment1), v: await readFloats(this.device, this.buffers.moment2) };
  }

  private async watchNow(): Promise<number[]> {
    return Array.from(await readFloats(this.device, this.buffers.watch, 0, 4));
  }

  /** A read of model state, queued behind every call made before it, so that it sees their results. */
  private readInOrder<T>(read: () => Promise<T>): Promise<T> {
    this.assertAlive();
    return this.exclusive(async () => {
      this.assertAlive(); // destroyed, or failed, while it waited
      return read();
    });
  }

  /**
   * A write of model state (its input already checked), in call order: at once when no operation
   * is queued or running, so that `step` and the buffers have changed when the call returns (a
   * model restored right after creation needs no await), else queued behind them. The promise
   * never rejects, so a caller that does not await it leaves no unhandled rejection: a model
   * destroyed meanwhile has nothing left to write.
   */
  private writeInOrder(write: () => void): Promise<void> {
    if (this.calls.idle) {
      write();
      return Promise.resolve();
    }
    return this.exclusive(async () => {
      if (!this.isDestroyed) write();
    });
  }
}
