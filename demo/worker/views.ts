// The live pictures, computed on the GPU and drawn from the model's output buffers without a
// read-back: samples from a fixed set of z (same seed every time, so the grid visibly sharpens),
// test images above their reconstructions, the 2-D manifold and the interpolation strip. Only
// small results come back to the CPU: the latent means for the scatter plot and the two
// interpolation endpoints. View work is serialised by a lock because the model's forward graphs
// share their input/output buffers between calls of the same kind.
import type { VAE } from '../../src/index';
import { gridSpec, INTERP_STEPS, RECON_COUNT } from '../shared/layout';
import { manifoldGrid } from '../shared/probit';
import type { FromWorker, PresentMode, ViewName } from '../shared/protocol';
import { VIEW_NAMES } from '../shared/protocol';
import type { Split } from './data';
import { EMPTY_TILE, GridRenderer, tile } from './grid-renderer';
import { createPresenter } from './presenter';

/** Gap colour between tiles: the page's panel background, so grids sit flush in their cards. */
const BACKGROUND: [number, number, number] = [0.09, 0.11, 0.15];
const MANIFOLD_N = 20;
/**
 * Refresh cadence. The fast views (samples, reconstructions) cost about 110 image-rows of forward
 * passes, the slow ones (manifold, scatter, interpolation) about 900, while a training step costs
 * about 3 x batch rows (forward + backward). Each kind waits for its minimum time AND for enough
 * steps that it takes at most ~10% of the GPU: on a real GPU the times rule (1 s, 4 s), on a
 * software one the step counts do, so views never slow training down much.
 */
const FAST = { ms: 1000, rows: 110 };
const SLOW = { ms: 4000, rows: 900 };
const VIEW_SHARE = 0.1;
const stepsFor = (rows: number, batch: number) => Math.ceil(rows / (3 * batch) / VIEW_SHARE);

const toFloats = (pixels: Uint8Array) => Float32Array.from(pixels, (v) => v / 255);

export class Views {
  private readonly grids: Record<ViewName, GridRenderer>;
  private device: GPUDevice | null = null;
  private originals: GPUBuffer | null = null;
  private endpoints: GPUBuffer | null = null;
  private test: Split | null = null;
  private testX: Float32Array | null = null;
  private pair: [number, number] = [0, 1];
  private lastFast = { ms: 0, step: -Infinity };
  private lastSlow = { ms: 0, step: -Infinity };
  private lock: Promise<unknown> = Promise.resolve();

  constructor(canvases: Record<ViewName, OffscreenCanvas>, mode: PresentMode, private readonly post: (m: FromWorker, transfer?: Transferable[]) => void) {
    this.grids = Object.fromEntries(VIEW_NAMES.map((v) => [v, new GridRenderer(createPresenter(canvases[v], mode), BACKGROUND)])) as Record<ViewName, GridRenderer>;
  }

  /** Binds every view to `device` and the test split's image size; clears the pictures. */
  attach(device: GPUDevice, test: Split | null, imgW = 28, imgH = 28): void {
    this.device = device;
    for (const v of VIEW_NAMES) this.grids[v].setup(device, gridSpec(v, test?.cols ?? imgW, test?.rows ?? imgH));
    this.originals?.destroy();
    this.endpoints?.destroy();
    this.originals = this.endpoints = null;
    this.test = test;
    this.testX = test ? toFloats(test.images) : null;
    if (test) {
      const shown = Math.min(RECON_COUNT, test.count);
      this.originals = this.upload(this.testX!.subarray(0, shown * test.rows * test.cols));
      this.pair = [0, Math.min(1, test.count - 1)];
    }
    this.clear();
  }

  clear(): void {
    for (const v of VIEW_NAMES) this.grids[v].draw([]);
    this.lastFast = { ms: 0, step: -Infinity };
    this.lastSlow = { ms: 0, step: -Infinity };
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

  /** Called between training steps: refreshes what is due, keeping views to a small share of the GPU. */
  async maybeRefresh(vae: VAE): Promise<void> {
    const now = performance.now(), step = vae.step, batch = vae.training.batch;
    const due = (last: { ms: number; step: number }, kind: typeof FAST) => now - last.ms >= kind.ms && step - last.step >= stepsFor(kind.rows, batch);
    if (due(this.lastSlow, SLOW)) await this.refresh(vae, true);
    else if (due(this.lastFast, FAST)) await this.refresh(vae, false);
  }

  refresh(vae: VAE, all: boolean): Promise<void> {
    return this.exclusive(async () => {
      this.lastFast = { ms: performance.now(), step: vae.step };
      await this.drawSamples(vae);
      await this.drawReconstructions(vae);
      if (!all) return;
      this.lastSlow = this.lastFast;
      await this.drawManifold(vae);
      await this.drawInterpolation(vae);
      await this.postLatents(vae);
    });
  }

  private async drawSamples(vae: VAE): Promise<void> {
    const g = this.grids.samples, n = 64;
    // Same seed on every call: the same 64 points z ~ N(0, I), decoded by the current weights.
    g.draw([await vae.sampleToBuffer(n, vae.training.seed)], GridRenderer.sequence(gridSpec('samples', 1, 1), n));
  }

  private async drawReconstructions(vae: VAE): Promise<void> {
    if (!this.test || !this.originals) return;
    const { cols, rows } = gridSpec('reconstructions', 1, 1);
    const shown = Math.min(RECON_COUNT, this.test.count), D = this.test.rows * this.test.cols;
    const out = await vae.reconstructToBuffer(this.testX!.subarray(0, shown * D));
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
    const out = await vae.decodeToBuffer(manifoldGrid(MANIFOLD_N));
    this.grids.manifold.draw([out], GridRenderer.sequence(gridSpec('manifold', 1, 1), MANIFOLD_N * MANIFOLD_N));
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
    const D = this.test.rows * this.test.cols, Z = vae.config.latent;
    const [a, b] = this.pair;
    const x = new Float32Array(2 * D);
    x.set(this.testX!.subarray(a * D, (a + 1) * D), 0);
    x.set(this.testX!.subarray(b * D, (b + 1) * D), D);
    this.endpoints?.destroy();
    this.endpoints = this.upload(x);
    const { mu } = await vae.encode(x);
    // Straight line between the two posterior means, endpoints included.
    const z = new Float32Array(INTERP_STEPS * Z);
    for (let s = 0; s < INTERP_STEPS; s++) {
      const t = s / (INTERP_STEPS - 1);
      for (let k = 0; k < Z; k++) z[s * Z + k] = (1 - t) * mu[k] + t * mu[Z + k];
    }
    const out = await vae.decodeToBuffer(z);
    const map = new Uint32Array(INTERP_STEPS + 2);
    map[0] = tile(1, 0);
    for (let s = 0; s < INTERP_STEPS; s++) map[s + 1] = tile(0, s);
    map[INTERP_STEPS + 1] = tile(1, 1);
    this.grids.interpolation.draw([out, this.endpoints], map);
    this.post({ type: 'interpolation', a, b, labels: [this.test.labels[a], this.test.labels[b]] });
  }

  /** Posterior means of the test examples for the scatter plot (2-D latents only). */
  private async postLatents(vae: VAE): Promise<void> {
    if (!this.test || vae.config.latent !== 2) return;
    const { mu } = await vae.encode(this.testX!);
    const labels = this.test.labels.slice();
    this.post({ type: 'latents', mu, labels }, [mu.buffer, labels.buffer]);
  }
}
