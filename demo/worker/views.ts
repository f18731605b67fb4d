// The live pictures, computed on the GPU and drawn from the model's output buffers without a
// read-back: samples from a fixed set of z (same seed every time, so the grid visibly sharpens),
// test images above their reconstructions, the 2-D manifold and the interpolation strip. Only
// small results come back to the CPU: the latent means for the scatter plot and the two
// interpolation endpoints. View work is serialised by a lock because the model's forward graphs
// share their input/output buffers between calls of the same kind.
// A conditional model decodes every image with a class: the samples show one row per class, the
// reconstructions and latent means use the test images' own labels, and the manifold and the
// interpolation path use a class chosen on the page.
// The traversal view (drawTraversal in traversal.ts) refreshes with the slow views; when each kind
// refreshes while training is decided in refresh-schedule.ts. Colour
// images stay planar (NCHW) from the test split to the GPU buffers the grids read.
import { Philox, type VAE } from '../../src/index';
import { datasetChannels } from '../../src/data/mnist';
import { gridSpec, INTERP_STEPS, RECON_COUNT } from '../shared/layout';
import { manifoldGrid } from '../shared/probit';
import type { FromWorker, PresentMode, ViewName } from '../shared/protocol';
import { VIEW_NAMES } from '../shared/protocol';
import type { Split } from './data';
import { EMPTY_TILE, GridRenderer, tile } from './grid-renderer';
import { createPresenter } from './presenter';
import { RefreshSchedule, type TrainingClock } from './refresh-schedule';
import { drawTraversal } from './traversal';

/** Gap colour between tiles: the page's panel background, so grids sit flush in their cards. */
const BACKGROUND: [number, number, number] = [0.09, 0.11, 0.15];
const MANIFOLD_N = 20;
const toFloats = (pixels: Uint8Array) => Float32Array.from(pixels, (v) => v / 255);

export class Views {
  private readonly grids: Record<ViewName, GridRenderer>;
  private device: GPUDevice | null = null;
  private originals: GPUBuffer | null = null;
  private endpoints: GPUBuffer | null = null;
  private test: Split | null = null;
  private testX: Float32Array | null = null;
  private pair: [number, number] = [0, 1];
  /** Classes of the model on show (0: unconditional); shapes the samples grid. */
  private classes = 0;
  /** Planes per image of the data on show (1: grey, 3: RGB). */
  private channels = 1;
  /** Latent size the traversal grid is shaped for. */
  private latent = 1;
  private manifoldClass = 0;
  /** Class the interpolation path is decoded as; null: the first endpoint's own label. */
  private interpClass: number | null = null;
  /** When the views were last drawn, and when they are due again (refresh-schedule.ts). */
  private readonly schedule = new RefreshSchedule();
  private lock: Promise<unknown> = Promise.resolve();

  constructor(canvases: Record<ViewName, OffscreenCanvas>, mode: PresentMode, private readonly post: (m: FromWorker, transfer?: Transferable[]) => void) {
    this.grids = Object.fromEntries(VIEW_NAMES.map((v) => [v, new GridRenderer(createPresenter(canvases[v], mode), BACKGROUND)])) as Record<ViewName, GridRenderer>;
  }

  /**
   * Binds every view to `device`, the test split's image size and the model's class count (kept
   * when not given, e.g. on a new device); clears the pictures and the class choices.
   */
  attach(device: GPUDevice, test: Split | null, classes = this.classes, imgW = 28, imgH = 28, latent = this.latent): void {
    this.device = device;
    this.classes = classes;
    this.latent = latent;
    this.channels = test ? datasetChannels(test) : 1;
    this.manifoldClass = 0;
    this.interpClass = null;
    for (const v of VIEW_NAMES) this.grids[v].setup(device, gridSpec(v, test?.cols ?? imgW, test?.rows ?? imgH, classes, latent, test?.count), this.channels);
    this.originals?.destroy();
    this.endpoints?.destroy();
    this.originals = this.endpoints = null;
    this.test = test;
    this.testX = test ? toFloats(test.images) : null;
    if (test) {
      const shown = Math.min(RECON_COUNT, test.count);
      this.originals = this.upload(this.testX!.subarray(0, shown * this.exampleSize));
      this.pair = [0, Math.min(1, test.count - 1)];
    }
    this.clear();
  }

  /** Values per test image: channels * rows * cols. */
  private get exampleSize(): number {
    return this.test ? this.channels * this.test.rows * this.test.cols : 0;
  }

  /** Forgets the test split and frees its GPU copies (after Reset); attach brings data back. */
  forgetData(): void {
    this.originals?.destroy();
    this.endpoints?.destroy();
    this.originals = this.endpoints = null;
    this.test = null;
    this.testX = null;
    this.clear();
  }

  clear(): void {
    for (const v of VIEW_NAMES) this.grids[v].draw([]);
    this.schedule.reset();
  }

  private upload(data: Float32Array): GPUBuffer {
    const buffer = this.device!.createBuffer({ label: 'demo:view-input', size: Math.max(16, data.byteLength), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    this.device!.queue.writeBuffer(buffer, 0, data as Float32Array<ArrayBuffer>);
    return buffer;
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.lock.then(work, work);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /**
   * Called between training steps with where training stands: refreshes what is due, keeping the
   * views to a small share of the GPU but never far behind (refresh-schedule.ts).
   */
  async maybeRefresh(vae: VAE, at: TrainingClock, beforeSlowDraw?: () => void): Promise<void> {
    const kind = this.schedule.due(at, vae.training.batch);
    if (kind === 'slow') beforeSlowDraw?.();
    if (kind) await this.draw(vae, kind === 'slow', at.trainedMs);
  }

  /** Redraws the fast views, or all of them (`all`): between runs, or on a change of model or data. */
  refresh(vae: VAE, all: boolean): Promise<void> {
    return this.draw(vae, all);
  }

  private draw(vae: VAE, all: boolean, trainedMs?: number): Promise<void> {
    return this.exclusive(async () => {
      this.matchClasses(vae);
      this.schedule.drawn(all ? 'slow' : 'fast', vae.step, trainedMs);
      await this.drawSamples(vae);
      await this.drawReconstructions(vae);
      if (!all) return;
      await this.drawManifold(vae);
      await this.drawInterpolation(vae);
      await this.postLatents(vae);
      await this.drawTraversalView(vae);
    });
  }

  /** Reshapes the samples grid if `vae` has another class count than the views were attached for. */
  private matchClasses(vae: VAE): void {
    if (!this.device) return;
    const [w, h] = [this.test?.cols ?? 28, this.test?.rows ?? 28];
    if (vae.config.classes !== this.classes) {
      this.classes = vae.config.classes;
      this.grids.samples.setup(this.device, gridSpec('samples', w, h, this.classes), this.channels);
    }
    if (vae.config.latent !== this.latent) {
      this.latent = vae.config.latent;
      this.grids.traversal.setup(this.device, gridSpec('traversal', w, h, this.classes, this.latent), this.channels);
    }
  }

  private async drawTraversalView(vae: VAE): Promise<void> {
    const factors = (this.test as { factors?: Uint8Array } | null)?.factors;
    const test = this.test && this.testX ? { x: this.testX, labels: this.test.labels, count: this.test.count, ...(factors ? { factors } : {}) } : null;
    const rows = await drawTraversal(vae, this.grids.traversal, test);
    this.post({ type: 'traversal', ...rows });
  }

  /** Chooses the class the manifold or the interpolation decodes (conditional models) and redraws it. */
  setClass(vae: VAE | null, view: 'manifold' | 'interpolation', label: number | null): Promise<void> {
    const valid = label !== null && Number.isInteger(label) && label >= 0 && label < this.classes ? label : null;
    if (view === 'manifold') this.manifoldClass = valid ?? 0;
    else this.interpClass = valid;
    if (!vae || !vae.config.classes) return Promise.resolve();
    return this.exclusive(() => (view === 'manifold' ? this.drawManifold(vae) : this.drawInterpolation(vae)));
  }

  private async drawSamples(vae: VAE): Promise<void> {
    const g = this.grids.samples;
    if (!vae.config.classes) {
      const n = 64;
      // Same seed on every call: the same 64 points z ~ N(0, I), decoded by the current weights.
      g.draw([await vae.sampleToBuffer(n, vae.training.seed)], GridRenderer.sequence(gridSpec('samples', 1, 1), n));
      return;
    }
    // One row per class, one fixed z per column: across a column only the class changes, so the
    // rows show what the label controls and the columns what the latent code does.
    const spec = gridSpec('samples', 1, 1, vae.config.classes), Z = vae.config.latent;
    // A CPU stream of the training seed (not the shuffle's, 1): the same codes on every refresh.
    const prior = new Philox(vae.training.seed, 2);
    const draws = Array.from({ length: spec.cols * Z }, () => prior.nextNormal());
    const z = new Float32Array(spec.rows * spec.cols * Z), labels = new Uint32Array(spec.rows * spec.cols);
    for (let r = 0; r < spec.rows; r++) {
      for (let c = 0; c < spec.cols; c++) {
        z.set(draws.slice(c * Z, (c + 1) * Z), (r * spec.cols + c) * Z);
        labels[r * spec.cols + c] = r;
      }
    }
    g.draw([await vae.decodeToBuffer(z, labels)], GridRenderer.sequence(spec, spec.rows * spec.cols));
  }

  private async drawReconstructions(vae: VAE): Promise<void> {
    if (!this.test || !this.originals) return;
    const { cols, rows } = gridSpec('reconstructions', 1, 1, 0, 1, this.test.count);
    const shown = Math.min(RECON_COUNT, this.test.count), D = this.exampleSize;
    const labels = vae.config.classes ? this.test.labels.subarray(0, shown) : undefined;
    const out = await vae.reconstructToBuffer(this.testX!.subarray(0, shown * D), labels);
    const map = new Uint32Array(cols * rows).fill(EMPTY_TILE);
    for (let i = 0; i < shown; i++) {
      const r = Math.floor(i / cols) * 2, c = i % cols;
      map[r * cols + c] = tile(0, i); // original
      map[(r + 1) * cols + c] = tile(1, i); // its reconstruction, just below
    }
    this.grids.reconstructions.draw([this.originals, out], map);
  }

  private async drawManifold(vae: VAE): Promise<void> {
    if (vae.config.latent !== 2) return this.grids.manifold.draw([]);
    const n = MANIFOLD_N * MANIFOLD_N;
    const out = await vae.decodeToBuffer(manifoldGrid(MANIFOLD_N), vae.config.classes ? new Uint32Array(n).fill(this.manifoldClass) : undefined);
    this.grids.manifold.draw([out], GridRenderer.sequence(gridSpec('manifold', 1, 1), n));
  }

  /** Chooses the interpolation endpoints (test-set indices) and redraws the strip. */
  interpolate(vae: VAE | null, a: number, b: number): Promise<void> {
    if (!this.test) return Promise.resolve();
    const clampIndex = (i: number) => Math.max(0, Math.min(this.test!.count - 1, Math.floor(i) || 0));
    this.pair = [clampIndex(a), clampIndex(b)];
    return vae ? this.exclusive(() => this.drawInterpolation(vae)) : Promise.resolve();
  }

  private async drawInterpolation(vae: VAE): Promise<void> {
    if (!this.test) return;
    const D = this.exampleSize, Z = vae.config.latent;
    const [a, b] = this.pair;
    const x = new Float32Array(2 * D);
    x.set(this.testX!.subarray(a * D, (a + 1) * D), 0);
    x.set(this.testX!.subarray(b * D, (b + 1) * D), D);
    this.endpoints?.destroy();
    this.endpoints = this.upload(x);
    const ends = [this.test.labels[a], this.test.labels[b]] as [number, number];
    const conditional = vae.config.classes > 0;
    // Each endpoint is encoded with its own label; the path between them is decoded as one class.
    const { mu } = await vae.encode(x, conditional ? ends : undefined);
    // A model whose parameters went bad encodes to NaN: its path is drawn at z = 0 instead.
    if (!mu.every(Number.isFinite)) mu.fill(0);
    const decodedAs = conditional ? (this.interpClass ?? ends[0]) : null;
    // Straight line between the two posterior means, endpoints included.
    const z = new Float32Array(INTERP_STEPS * Z);
    for (let s = 0; s < INTERP_STEPS; s++) {
      const t = s / (INTERP_STEPS - 1);
      for (let k = 0; k < Z; k++) z[s * Z + k] = (1 - t) * mu[k] + t * mu[Z + k];
    }
    const out = await vae.decodeToBuffer(z, decodedAs === null ? undefined : new Uint32Array(INTERP_STEPS).fill(decodedAs));
    const map = new Uint32Array(INTERP_STEPS + 2);
    map[0] = tile(1, 0);
    for (let s = 0; s < INTERP_STEPS; s++) map[s + 1] = tile(0, s);
    map[INTERP_STEPS + 1] = tile(1, 1);
    this.grids.interpolation.draw([out, this.endpoints], map);
    this.post({ type: 'interpolation', a, b, labels: ends, decodedAs });
  }

  /** Posterior means of the test examples for the scatter plot (2-D latents only). */
  private async postLatents(vae: VAE): Promise<void> {
    if (!this.test || vae.config.latent !== 2) return;
    const { mu } = await vae.encode(this.testX!, vae.config.classes ? this.test.labels : undefined);
    const labels = this.test.labels.slice();
    this.post({ type: 'latents', mu, labels }, [mu.buffer, labels.buffer]);
  }
}
