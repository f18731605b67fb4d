// Whole training steps with extreme settings (the kernels alone are tested at the extremes in
// their own files): Adam at lr 10, inputs all 0 and all 1, the posterior's log-variance driven to
// +-80 through the encoder head's bias, a pixel whose loss overflows, and --clip-grad. After every step either the
// step was good (finite loss and gradient norm, no flags, parameters finite) or the GPU's health
// check flagged it, and then the optimizer left every parameter and Adam moment bit for bit as
// it was. The losses and flags come back through the loss ring only.
import { afterAll, describe, expect, it } from 'vitest';
import { HEALTH_FLAGS } from '../shaders/grad-norm';
import { loadMnistNode } from '../src/data/mnist-node';
import { flaggedQuantities, type StepLoss } from '../src/model/loss-ring';
import type { VaeConfig } from '../src/model/config';
import { VAE, type VaeOptions } from '../src/model/vae';
import { gpu } from './helpers/gpu';

const SMALL = { hidden: [32], latent: 4 };
const B = 16, D = 784;

const live: VAE[] = [];
afterAll(() => live.forEach((v) => v.destroy()));

async function model(opts: Partial<VaeOptions> = {}, config: Partial<VaeConfig> = {}): Promise<VAE> {
  const { device } = await gpu();
  const vae = await VAE.create({ ...SMALL, ...config }, { device, batch: B, seed: 5, ...opts });
  live.push(vae);
  return vae;
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const allFinite = (a: ArrayLike<number>) => Array.from(a).every(Number.isFinite);

/** Parameters and moments as bits, for "unchanged" checks. */
async function snapshot(vae: VAE) {
  const m = await vae.optimizerState();
  return { p: bits(await vae.flatParameters()), m: m ? bits(m.m) : null, v: m ? bits(m.v) : null };
}

/**
 * Runs one step and reads its loss record; checks the invariant: a good step is finite and moves
 * the parameters (to finite values), a flagged one changes nothing.
 */
async function checkedStep(vae: VAE, x: Float32Array): Promise<StepLoss> {
  const before = await snapshot(vae);
  await vae.trainStep(x);
  const [l] = await vae.readLosses();
  const after = await snapshot(vae);
  if (l.flags === 0) {
    expect(Number.isFinite(l.loss) && Number.isFinite(l.gradNorm), `step ${l.step}: unflagged but loss ${l.loss}, norm ${l.gradNorm}`).toBe(true);
    expect(allFinite(await vae.flatParameters()), `step ${l.step}: parameters finite`).toBe(true);
    expect(after.p, `step ${l.step}: a good step is applied`).not.toEqual(before.p);
  } else {
    expect(after, `step ${l.step} flagged ${flaggedQuantities(l.flags).join(', ')}: nothing changed`).toEqual(before);
  }
  return l;
}

const filled = (v: number) => new Float32Array(B * D).fill(v);

describe('whole training steps at the extremes', async () => {
  const mnist = await loadMnistNode('train', { limit: B * 8 });
  const batch = (i: number) => Float32Array.from(mnist.images.subarray(i * B * D, (i + 1) * B * D), (v) => v / 255);

  it('Adam at lr 10: the blow-up is flagged as divergence and never applied; until then every step is finite', async () => {
    const vae = await model({ lr: 10 });
    const seen: StepLoss[] = [];
    for (let i = 0; i < 12; i++) seen.push(await checkedStep(vae, batch(i % 8)));
    const flagged = seen.filter((l) => l.flags);
    expect(flagged.length, `losses ${seen.map((l) => l.loss.toPrecision(3)).join(' ')}`).toBeGreaterThan(0);
    expect(seen[0].flags, 'the first step only sets the watch').toBe(0);
    expect(flagged.every((l) => l.flags & HEALTH_FLAGS.diverged || !Number.isFinite(l.loss) || !Number.isFinite(l.gradNorm))).toBe(true);
    expect(flaggedQuantities(flagged[0].flags).join()).toMatch(/loss|gradient norm/);
  });

  it('inputs all 0 and all 1 (the Bernoulli targets at their bounds): 20 finite, applied steps each', async () => {
    for (const v of [0, 1]) {
      const vae = await model();
      for (let i = 0; i < 20; i++) {
        const l = await checkedStep(vae, filled(v));
        expect(l.flags, `inputs all ${v}, step ${i}`).toBe(0);
      }
    }
  });

  it('logvar driven to -80 by the head bias: a finite step; to +80: the overflowing gradient norm is flagged and the step not applied', async () => {
    for (const logvar of [-80, 80]) {
      const vae = await model();
      const flat = await vae.flatParameters();
      const bias = vae.layout.byName.get('encoder.head.bias')!;
      flat.fill(logvar, bias.offset + SMALL.latent, bias.offset + 2 * SMALL.latent); // rows Z..2Z-1: log-variance
      vae.setFlatParameters(flat);
      const l = await checkedStep(vae, batch(0));
      if (logvar < 0) {
        expect(l.flags).toBe(0);
        expect(l.kl).toBeGreaterThan(SMALL.latent * 39); // (e^-80 + mu^2 - 1 + 80) / 2 per dimension
      } else {
        // e^80 = 5.5e34 is finite in f32, so the KL is; its gradient (e^80 - 1) / 2 is too, but its
        // square is not: the gradient norm overflows and the step is refused.
        expect(l.flags & HEALTH_FLAGS.gradNormNotFinite).toBeTruthy();
      }
    }
  });

  // A NaN pixel no longer reaches the GPU (trainStep refuses it); a finite one whose squared error
  // overflows f32 under a Gaussian likelihood makes the same non-finite loss there.
  it('a pixel whose loss overflows makes the loss and the gradient norm non-finite: flagged, not applied; the next clean batch trains again', async () => {
    const vae = await model({}, { likelihood: 'gaussian' });
    await checkedStep(vae, batch(0));
    const x = batch(1);
    x[3 * D + 100] = 3e38;
    const bad = await checkedStep(vae, x);
    expect(bad.flags & HEALTH_FLAGS.lossNotFinite).toBeTruthy();
    expect(flaggedQuantities(bad.flags)[0]).toBe('loss: NaN or infinite');
    expect((await checkedStep(vae, batch(2))).flags).toBe(0);
  });

  // PyTorch's GradScaler leaves Adam's step count alone on a step it skips; so does the GPU's
  // count t (the watch's fourth number), which the bias corrections are taken from.
  it('skipped steps are not counted in Adam\'s bias corrections: the first step applied after 15 skipped moves each weight by lr', async () => {
    const lr = 1e-3;
    const vae = await model({ lr }, { likelihood: 'gaussian' });
    const bad = batch(1);
    bad[3 * D + 100] = 3e38;
    for (let i = 0; i < 15; i++) expect((await checkedStep(vae, bad)).flags & HEALTH_FLAGS.lossNotFinite).toBeTruthy();
    const before = await vae.flatParameters();
    expect((await checkedStep(vae, batch(2))).flags).toBe(0);
    const after = await vae.flatParameters();
    // Adam's first update is lr m c1 / (sqrt(v) c2 + eps) = lr g / (|g| + eps): lr wherever |g| >> eps.
    // Counting the skipped steps (t = 16) would make it lr (0.1 / 0.81) / (0.032 / 0.126) = 0.49 lr.
    const moved = Array.from(after, (p, i) => Math.abs(p - before[i]) / lr).filter((r) => r > 0.01).sort((a, b) => a - b);
    expect(moved.length).toBeGreaterThan(1000);
    expect(moved[moved.length >> 1], 'the median step, in units of lr').toBeCloseTo(1, 3);
    const watch = await vae.watchState();
    expect(watch[2], 'accepted steps').toBe(1);
    expect(watch[3], "Adam's step count t").toBe(1);
    expect(vae.step, 'steps taken, skipped ones included').toBe(16);
  });

  it("a run restored after skipped steps goes on bit for bit: the saved watch carries Adam's step count", async () => {
    const vae = await model({}, { likelihood: 'gaussian' });
    const bad = batch(1);
    bad[3 * D + 100] = 3e38;
    await checkedStep(vae, batch(0));
    for (let i = 0; i < 3; i++) await checkedStep(vae, bad);
    const saved = await vae.trainingSnapshot();
    expect(saved.watch[3], 'one step applied of four').toBe(1);
    const restored = async (watch?: number[]) => {
      const v = await model({ initialParams: saved.params }, { likelihood: 'gaussian' });
      await v.restoreOptimizer({ m: saved.m!, v: saved.v!, step: saved.step, watch });
      return v;
    };
    const [resumed, watchless] = [await restored(saved.watch), await restored()];
    for (const v of [vae, resumed, watchless]) expect((await checkedStep(v, batch(2))).flags).toBe(0);
    expect(bits(await resumed.flatParameters())).toEqual(bits(await vae.flatParameters()));
    // Without the watch every step taken counts as applied: t = 5 instead of 2, another update.
    expect(bits(await watchless.flatParameters())).not.toEqual(bits(await vae.flatParameters()));
  });

  it('--clip-grad: the reported scale is min(1, c / ||g||) and the step moves the weights less than unclipped SGD', async () => {
    const runs = await Promise.all([0, 1].map((clipGrad) => model({ optimizer: 'sgd', lr: 0.01, clipGrad })));
    const start = await runs[0].flatParameters();
    const [free, clipped] = [await checkedStep(runs[0], batch(0)), await checkedStep(runs[1], batch(0))];
    expect(free.clipScale).toBe(1);
    expect(clipped.gradNorm).toBeGreaterThan(1);
    expect(clipped.clipScale).toBeCloseTo(1 / (clipped.gradNorm + 1e-6), 6);
    // SGD moves every weight by lr * scale * g: the clipped step is the free one times the scale.
    const [a, b] = [await runs[0].flatParameters(), await runs[1].flatParameters()];
    let ratio = 0, n = 0;
    for (let i = 0; i < a.length; i++) {
      const d = a[i] - start[i];
      if (Math.abs(d) > 1e-4) { ratio += (b[i] - start[i]) / d; n++; }
    }
    expect(n).toBeGreaterThan(100);
    expect(ratio / n).toBeCloseTo(clipped.clipScale, 3);
  });
});
