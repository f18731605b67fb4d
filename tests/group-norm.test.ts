// Group normalization kernels (shaders/group-norm.ts) against the float64 reference
// (tests/reference/group-norm.ts), whose backward is first checked against central finite
// differences of its forward. Shapes are odd on purpose: channels 1, 3 and 33, segments shorter
// and much longer than the workgroup, one pixel per channel, a grid of more segments than one
// row of workgroups covers in some, groups of one channel (instance norm) and of all channels
// (layer norm). Extreme inputs: a large common offset (the two-pass variance must not lose the
// spread), a constant segment (variance 0: rstd is 1 / sqrt(eps), outputs stay finite), and a
// tiny spread.
import { describe, expect, it } from 'vitest';
import { type Activation } from '../shaders/activation';
import { groupNormForward, groupNormInputGrad, groupNormParamGrad } from '../shaders/group-norm';
import { expectClose, f32, testData } from './helpers/compare';
import { gpu, runKernels, TEST_HOST } from './helpers/gpu';
import { VAE } from '../src/model/vae';
import { groupNormBackwardRef, groupNormRef, type GroupNormRefShape } from './reference/group-norm';

type Case = GroupNormRefShape & { act: Activation; offset?: number; spread?: number; constantFirst?: boolean };
const c = (batch: number, channels: number, pixels: number, groups: number, act: Activation, extra: Partial<Case> = {}): Case =>
  ({ batch, channels, pixels, groups, act, ...extra });

const CASES: Case[] = [
  c(1, 1, 63, 1, 'relu'),
  c(3, 3, 169, 3, 'leaky_relu'),
  c(3, 33, 35, 3, 'tanh'),
  c(2, 32, 64, 8, 'none'),
  c(5, 4, 1, 2, 'sigmoid'),
  c(2, 33, 7, 1, 'softplus'),
  c(2, 16, 1024, 4, 'relu', { offset: 50 }),
  c(3, 8, 9, 4, 'none', { constantFirst: true }),
  c(2, 6, 25, 2, 'none', { spread: 1e-3 }),
  c(16500, 4, 1, 4, 'none'),
  // One segment of 64 channels x 64x64 pixels (262,144 values) at a common offset: the serial sweep adds it all.
  c(1, 64, 4096, 1, 'none', { offset: 50 }),
];
const label = (k: Case) => `N${k.batch} C${k.channels} P${k.pixels} G${k.groups} ${k.act}${k.offset ? ` offset ${k.offset}` : ''}${k.constantFirst ? ' constant segment' : ''}${k.spread ? ` spread ${k.spread}` : ''}`;

function data(k: Case, seed: number) {
  const n = k.batch * k.channels * k.pixels;
  const spread = k.spread ?? 2;
  const x = f32(testData(n, seed, -spread, spread).map((v) => v + (k.offset ?? 0)));
  if (k.constantFirst) x.fill(0.75, 0, (k.channels / k.groups) * k.pixels);
  const gamma = f32(testData(k.channels, seed + 1, 0.5, 1.5));
  const beta = f32(testData(k.channels, seed + 2, -0.5, 0.5));
  const dPre = f32(testData(n, seed + 3));
  return { x, gamma, beta, dPre };
}

/** A backward case: inputs, the forward's stats as the kernels store them, and the reference gradients. */
function backwardCase(k: Case, seed: number) {
  const { x, gamma, beta, dPre } = data(k, seed);
  const fwd = groupNormRef(x, gamma, beta, k, 'none');
  const stats = f32(Float64Array.from({ length: 2 * k.batch * k.groups }, (_, j) => (j % 2 === 0 ? fwd.mean : fwd.rstd)[j >> 1]));
  return { x, gamma, dPre, stats, rstd: fwd.rstd, ref: groupNormBackwardRef(x, gamma, dPre, k) };
}

describe('group norm reference', () => {
  it.each(CASES.filter((k) => !k.constantFirst).map((k) => [label(k), k] as const))('backward matches central differences: %s', (_, k) => {
    const small = { ...k, batch: Math.min(k.batch, 2), pixels: Math.min(k.pixels, 9) };
    const { x, gamma, beta, dPre } = data(small, 7);
    const loss = (xs: ArrayLike<number>, gs: ArrayLike<number>, bs: ArrayLike<number>) =>
      groupNormRef(xs, gs, bs, small, 'none').pre.reduce((s, v, i) => s + v * dPre[i], 0);
    const { dx, dgamma, dbeta } = groupNormBackwardRef(x, gamma, dPre, small);
    const h = 1e-6 * (k.spread ?? 1);
    const fd = (values: Float64Array, i: number, f: (v: Float64Array) => number) => {
      const plus = Float64Array.from(values), minus = Float64Array.from(values);
      plus[i] += h; minus[i] -= h;
      return (f(plus) - f(minus)) / (2 * h);
    };
    const tol = { atol: 1e-6, rtol: 1e-5 };
    expectClose(dx, Array.from(dx, (_, i) => fd(x, i, (v) => loss(v, gamma, beta))), { atol: 1e-6 / (k.spread ?? 1), rtol: 1e-5 }, 'dx');
    expectClose(dgamma, Array.from(dgamma, (_, i) => fd(gamma, i, (v) => loss(x, v, beta))), tol, 'dgamma');
    expectClose(dbeta, Array.from(dbeta, (_, i) => fd(beta, i, (v) => loss(x, gamma, v))), tol, 'dbeta');
  });
});

describe.each(CASES.map((k, i) => [label(k), k, i] as const))('group norm kernels: %s', (_, k, i) => {
  const count = k.batch * k.channels * k.pixels;

  // Both sweeps of a segment: a workgroup's tree sum, and one invocation alone (software adapters).
  it.each([false, true])('forward: act((x - mean) rstd gamma + beta), and the stats (serial %s)', async (serial) => {
    const { x, gamma, beta } = data(k, 10 + i);
    const ref = groupNormRef(x, gamma, beta, k, k.act);
    const kernel = groupNormForward({ ...k, activation: k.act, serial });
    expect(kernel.name.includes('_serial')).toBe(serial);
    const out = await runKernels([kernel], { x, gamma, beta }, { y: count, stats: 2 * k.batch * k.groups });
    // The common offset costs the f32 mean about offset * 2^-24 per term before it is divided out.
    const atol = 2e-5 + (k.offset ?? 0) * 2e-6;
    expectClose(out.y, ref.y, { atol, rtol: 1e-4 }, kernel.name);
    expectClose(out.stats.filter((_, j) => j % 2 === 0), ref.mean, { atol: 1e-5 * (1 + (k.offset ?? 0)), rtol: 1e-5 }, 'mean');
    expectClose(out.stats.filter((_, j) => j % 2 === 1), ref.rstd, { atol: 1e-5, rtol: k.spread ? 1e-3 : 2e-4 }, 'rstd');
    if (k.constantFirst) expect(Math.abs(out.stats[1] - 1 / Math.sqrt(1e-5)) / out.stats[1]).toBeLessThan(1e-3);
  });

  it.each([false, true])('input gradient (serial %s)', async (serial) => {
    const { x, gamma, dPre, stats, rstd, ref } = backwardCase(k, 20 + i);
    const kernel = groupNormInputGrad({ ...k, serial });
    expect(kernel.name.includes('_serial')).toBe(serial);
    const out = await runKernels([kernel], { x, stats, gamma, dy: dPre }, { dx: count });
    // dx scales with rstd: a tiny spread or a constant segment multiplies the f32 rounding of x - mean.
    const rstdMax = Math.max(...rstd);
    expectClose(out.dx, ref.dx, { atol: 2e-5 * rstdMax * (1 + (k.offset ?? 0)), rtol: 1e-3 }, kernel.name);
  });

  it('gamma and beta gradients', async () => {
    const { x, dPre, stats, ref } = backwardCase(k, 30 + i);
    const kernel = groupNormParamGrad(k);
    const out = await runKernels([kernel], { x, stats, dy: dPre }, { dgamma: k.channels, dbeta: k.channels });
    const terms = k.batch * k.pixels;
    expectClose(out.dgamma, ref.dgamma, { atol: 2e-6 * terms * (1 + (k.offset ?? 0)), rtol: 1e-4 }, `${kernel.name} dgamma`);
    expectClose(out.dbeta, ref.dbeta, { atol: 2e-6 * terms, rtol: 1e-4 }, `${kernel.name} dbeta`);
  });
});

// With a variance under eps, rstd nears 1 / sqrt(eps) = 316 and multiplies any error of the mean:
// a plain f32 mean of 50 values of 10000.123 normalized them to +-0.3 instead of 0.
describe('group norm of constant and nearly constant segments', () => {
  it.each([false, true])('outputs beta where a segment is constant, the reference where it nearly is (serial %s)', async (serial) => {
    const k = { batch: 4, channels: 4, pixels: 25, groups: 2 }, M = 50;
    const spread = f32(testData(4 * M, 61, -1.5e-3, 1.5e-3));
    // Segments 0-1 constant at a large offset, 2-3 at a small one, 4-7 spread by 1.5e-3 around 3.7.
    const x = f32(Array.from({ length: 8 * M }, (_, i) => (i < 2 * M ? 10000.123 : i < 4 * M ? 3.7 : 3.7 + spread[i - 4 * M])));
    const gamma = f32([1, 1.25, 1.5, 1.75]), beta = f32([0, 0.1, 0.2, 0.3]);
    const ref = groupNormRef(x, gamma, beta, k, 'none');
    const out = await runKernels([groupNormForward({ ...k, activation: 'none', serial })], { x, gamma, beta }, { y: x.length, stats: 16 });
    const channelOf = (i: number) => Math.floor(i / k.pixels) % k.channels;
    expect(Array.from(out.y.subarray(0, 4 * M)), 'constant segments give beta').toEqual(Array.from({ length: 4 * M }, (_, i) => beta[channelOf(i)]));
    expectClose(out.stats.filter((_, j) => j % 2 === 0), ref.mean, { atol: 0, rtol: 1e-7 }, 'mean');
    expectClose(out.y, ref.y, { atol: 1e-4, rtol: 1e-4 }, 'y');
  });
});

describe('group norm shapes', () => {
  it('refuses groups that do not divide the channels, naming both', () => {
    expect(() => groupNormForward({ batch: 1, channels: 6, pixels: 4, groups: 4, activation: 'none' })).toThrow(/4 groups do not divide 6 channels/);
    expect(() => groupNormParamGrad({ batch: 0, channels: 6, pixels: 4, groups: 2 })).toThrow(/batch=0/);
  });
});

// The model's choice of sweep is TypeScript alike in every host; the kernels themselves are
// checked in all three above. This whole-model run stays in Node.
describe.runIf(TEST_HOST === 'node')('GroupNorm in a model', () => {
  it('runs serial on a software adapter and trains as the workgroup sweep does', { timeout: 300_000 }, async () => {
    const { device } = await gpu();
    const config = { arch: 'conv' as const, inputDim: 64, imageShape: [8, 8] as [number, number], channels: [4, 8], norm: 'group' as const, normGroups: 2, latent: 2 };
    const x = Float32Array.from({ length: 4 * 64 }, (_, i) => ((i * 7919) % 256) / 255);
    const run = async (groupNormSerial?: boolean) => {
      const vae = await VAE.create(config, { device, batch: 4, seed: 3, ...(groupNormSerial === undefined ? {} : { kernels: { groupNormSerial } }) });
      const names = (await vae.plan('train', 4)).graph.kernels.map((k) => k.name).filter((n) => n.startsWith('group_norm'));
      for (let s = 0; s < 3; s++) await vae.trainStep(x);
      const losses = (await vae.readLosses()).map((l) => l.loss);
      const { isSoftware } = vae.adapter;
      vae.destroy();
      return { names, losses, isSoftware };
    };
    const chosen = await run();
    const sweeps = chosen.names.filter((n) => n.startsWith('group_norm_forward') || n.startsWith('group_norm_input_grad'));
    expect(sweeps.length).toBeGreaterThan(0);
    // The adapter's default: serial on a software adapter (as here), the workgroup sweep on a GPU.
    expect(sweeps.every((n) => n.includes('_serial'))).toBe(chosen.isSoftware);
    const shared = await run(false);
    expect(shared.names.some((n) => n.includes('_serial'))).toBe(false);
    // Other summation orders: the same losses to f32 rounding.
    expectClose(chosen.losses, shared.losses, { atol: 0, rtol: 1e-5 }, 'losses, serial against shared');
  });
});
