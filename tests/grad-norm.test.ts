// The step's health check (shaders/grad-norm.ts) and the gated optimizer (shaders/adam.ts) against
// their float64 references (tests/reference/grad-norm.ts, tests/reference/adam.ts): the global
// gradient norm at sizes that do not divide the grid, NaN/Inf/overflow in the gradient and the
// loss, the divergence rule over a sequence of steps, clipping, Adam's step count and bias
// corrections (only an applied step counts), and a bad step leaving the parameters and Adam's
// moments bit for bit as they were. Outputs start as NaN, so an element a
// kernel forgets to write fails.
import { describe, expect, it } from 'vitest';
import { optimizerStep } from '../shaders/adam';
import { GRAD_NORM, gradNormPartial, initialWatch, stepHealth, WATCH_VEC4S } from '../shaders/grad-norm';
import { STEP_PARAMS } from '../shaders/common';
import { encodeStepParams } from '../src/step-params';
import { expectClose, f32, testData } from './helpers/compare';
import { runKernels } from './helpers/gpu';
import { adamBiasCorrectionsRef, adamStepRef, sgdStepRef, type AdamHyper } from './reference/adam';
import { stepHealthRef, type WatchState } from './reference/grad-norm';

/** Loss-history slots in these tests; the step writes slot SLOT, the others must stay NaN. */
const SLOTS = 4, SLOT = 2;

const params = (clipNorm = 0, extra: Parameters<typeof encodeStepParams>[0] = {}) =>
  new Uint32Array(encodeStepParams({ historySlot: SLOT, clipNorm, ...extra }));

const nan = (n: number) => new Float32Array(n).fill(NaN);

/** The bit patterns, so equality holds NaN for NaN and tells -0 from 0. */
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

function watchOf(w: WatchState): Float32Array {
  const out = initialWatch();
  out.set([w.smoothed, w.lowest, w.seen, w.t]);
  return out;
}

/** A flat gradient of `count` floats padded with zeros to a whole vec4, as in the model's buffer. */
function gradient(count: number, seed: number, scale = 1): Float32Array {
  const g = new Float32Array(Math.ceil(count / 4) * 4);
  g.set(f32(testData(count, seed, -scale, scale)));
  return g;
}

const FRESH: WatchState = { smoothed: 0, lowest: 0, seen: 0, t: 0 };

async function health(g: Float32Array, loss: number, clipNorm = 0, watch: WatchState = FRESH, extra: Parameters<typeof encodeStepParams>[0] = {}) {
  const history = nan(SLOTS * 4);
  history[SLOT * 4] = loss;
  const out = await runKernels([gradNormPartial({ count: g.length }), stepHealth()], {
    params: params(clipNorm, extra), g, history, watch: watchOf(watch), partials: nan(GRAD_NORM.partials), health: nan(SLOTS * 4),
  }, {});
  return { health: out.health, watch: out.watch, partials: out.partials, ref: stepHealthRef(loss, g, clipNorm, watch) };
}

describe('global gradient norm and step health', () => {
  // 4 and 8: fewer vec4s than partial sums; 1001: not a whole vec4; 70001: many vec4s per partial
  // sum (GRAD_NORM.partials vec4s = 4096 floats per pass), and not a multiple of a pass.
  for (const count of [4, 8, 1001, 4100, 70001]) {
    it(`count=${count}: ||g||, no flags, scale 1, the watch takes the first loss`, async () => {
      const g = gradient(count, count);
      const { health: h, watch, partials, ref } = await health(g, 123.5);
      expect(partials.every(Number.isFinite), 'every partial written').toBe(true);
      // Each partial is a sequential f32 sum of up to 68 squares here: relative error well under 1e-5.
      expectClose([h[SLOT * 4]], [ref.norm], { atol: 0, rtol: 1e-5 }, 'norm');
      expect(Array.from(h.subarray(SLOT * 4 + 1, SLOT * 4 + 4))).toEqual([0, 1, 123.5]);
      expect(Array.from(h.subarray(0, SLOT * 4)).concat(Array.from(h.subarray(SLOT * 4 + 4))).every(Number.isNaN), 'other slots untouched').toBe(true);
      expect(Array.from(watch.subarray(0, 4))).toEqual([123.5, 123.5, 1, 1]);
      expect(watch[4]).toBe(1);
      expect(watch[5]).toBe(1);
      expectClose([watch[6]], [ref.norm], { atol: 0, rtol: 1e-5 }, 'norm in the gate');
      expect(watch[7]).toBe(0);
      expectClose(watch.subarray(8, 10), adamBiasCorrectionsRef(1, 0.9, 0.999), { atol: 0, rtol: 5e-7 }, 'the first step\'s bias corrections');
      expect(Array.from(watch.subarray(10))).toEqual([0, 0]);
    });
  }

  it('a zero gradient has norm 0 and, clipped, scale 1', async () => {
    const { health: h } = await health(new Float32Array(64), 10, 1);
    expect(Array.from(h.subarray(SLOT * 4, SLOT * 4 + 3))).toEqual([0, 0, 1]);
  });

  it('clipping: scale = min(1, max_norm / (||g|| + 1e-6)) as in clip_grad_norm_', async () => {
    const g = gradient(4100, 7, 3);
    for (const clip of [0.5, 10, 1e6]) {
      const { health: h, watch, ref } = await health(g, 1, clip);
      expectClose([h[SLOT * 4 + 2], watch[5]], [ref.scale, ref.scale], { atol: 0, rtol: 3e-6 }, `clip ${clip}`);
      if (clip === 1e6) expect(h[SLOT * 4 + 2]).toBe(1);
    }
  });

  const CASES: [string, (g: Float32Array) => void, number, number][] = [
    ['NaN in one gradient', (g) => { g[1234] = NaN; }, 50, 2],
    ['+Inf in one gradient', (g) => { g[5] = Infinity; }, 50, 2],
    ['-Inf in the last gradient', (g) => { g[4099] = -Infinity; }, 50, 2],
    ['finite gradients whose squares overflow f32 (|g| = 1e20)', (g) => { g[17] = 1e20; }, 50, 2],
    ['a NaN loss', () => {}, NaN, 1],
    ['an infinite loss', () => {}, Infinity, 1],
    ['NaN everywhere', (g) => g.fill(NaN), NaN, 3],
  ];
  for (const [what, spoil, loss, flags] of CASES) {
    it(`${what}: flagged (${flags}), not applied, the watch and Adam's step count unchanged`, async () => {
      const g = gradient(4100, 3);
      spoil(g);
      const before = { smoothed: 100, lowest: 90, seen: 5, t: 7 };
      const { health: h, watch, ref } = await health(g, loss, 1, before);
      expect(ref.flags).toBe(flags);
      expect(h[SLOT * 4 + 1]).toBe(flags);
      expect(watch[7]).toBe(flags);
      expect(watch[4], 'apply').toBe(0);
      expect(Array.from(watch.subarray(0, 4))).toEqual([100, 90, 5, 7]);
      expect(h[SLOT * 4 + 3], 'the smoothed loss reported is the one kept').toBe(100);
    });
  }

  it('divergence: a sequence of losses against the running minimum of the smoothed loss', async () => {
    // Falling, one hard batch (4x the running minimum of about 470: absorbed by the smoothing), a
    // loss 200x the minimum (flagged, and not counted), recovery, then a blow-up that stays.
    const losses = [540, 400, 250, 180, 150, 600, 1e5, 140, 130, 2e6, 5e6, 1e9];
    let w: WatchState = FRESH;
    const g = gradient(256, 1);
    const flags: number[] = [];
    for (const loss of losses) {
      const { health: h, watch, ref } = await health(g, loss, 0, w);
      expect(h[SLOT * 4 + 1], `loss ${loss}`).toBe(ref.flags);
      expectClose(watch.subarray(0, 4), [ref.next.smoothed, ref.next.lowest, ref.next.seen, ref.next.t], { atol: 0, rtol: 1e-6 }, `watch after loss ${loss}`);
      flags.push(ref.flags);
      w = ref.next;
    }
    expect(flags).toEqual([0, 0, 0, 0, 0, 0, 4, 0, 0, 4, 4, 4]);
  });

  it('a negative running minimum (a Gaussian likelihood) gives the margin 9 |min|', async () => {
    const w = { smoothed: -800, lowest: -1000, seen: 50, t: 50 };
    const g = gradient(64, 2);
    // Diverged when -800 + (loss + 800) / 16 - (-1000) > 9 * 1000, i.e. loss > 140000: one each side.
    expect((await health(g, 130000, 0, w)).health[SLOT * 4 + 1]).toBe(0);
    expect((await health(g, 150000, 0, w)).health[SLOT * 4 + 1]).toBe(4);
  });
});

describe("Adam's step count and bias corrections", () => {
  // t from 1 to the last count an f32 holds exactly; betas from PyTorch's defaults to the largest
  // f32 below 1, where 1 - beta^t keeps a single bit at t = 1.
  const TS = [1, 2, 3, 10, 100, 1000, 4321, 65536, 2 ** 24 - 1];
  const BETAS: [number, number][] = [[0.9, 0.999], [0.8, 0.99], [0, 0.5], [0.5, 0.9999], [1 - 2 ** -24, 1 - 2 ** -23]];
  for (const [beta1, beta2] of BETAS) {
    it(`betas ${beta1}, ${beta2}: c1 = 1 / (1 - beta1^t) and c2 = 1 / sqrt(1 - beta2^t) within a few f32 ulp of float64`, async () => {
      const g = gradient(64, 5);
      for (const t of TS) {
        const { watch } = await health(g, 10, 0, { smoothed: 0, lowest: 0, seen: 0, t: t - 1 }, { beta1, beta2 });
        expect(watch[3], 'this step counted').toBe(t);
        // The f32 conversion of 1 - beta^t (1 ulp), the division (2.5 ulp) and inverseSqrt (2 ulp).
        expectClose(watch.subarray(8, 10), adamBiasCorrectionsRef(t, beta1, beta2), { atol: 0, rtol: 4e-7 }, `t = ${t}`);
      }
    });
  }

  it("StepParams' corrections are passed on as they are while their step is t, the health check's own are used otherwise", async () => {
    const g = gradient(64, 7);
    for (const [step, t] of [[5, 5], [6, 5], [1, 3]]) {
      // Marked corrections in the uniform, so that passing them on shows.
      const uniform = new Uint32Array(encodeStepParams({ historySlot: SLOT, step }));
      const view = new DataView(uniform.buffer);
      view.setFloat32(STEP_PARAMS.offsetOf('bias_c1'), 7.5, true);
      view.setFloat32(STEP_PARAMS.offsetOf('bias_c2'), 8.5, true);
      const history = nan(SLOTS * 4);
      history[SLOT * 4] = 10;
      const { watch } = await runKernels([gradNormPartial({ count: g.length }), stepHealth()], {
        params: uniform, g, history, watch: watchOf({ smoothed: 0, lowest: 0, seen: 0, t: t - 1 }), partials: nan(GRAD_NORM.partials), health: nan(SLOTS * 4),
      }, {});
      expect(watch[3]).toBe(t);
      if (step === t) expect(Array.from(watch.subarray(8, 10)), `StepParams for t = ${t}`).toEqual([7.5, 8.5]);
      else expectClose(watch.subarray(8, 10), adamBiasCorrectionsRef(t, 0.9, 0.999), { atol: 0, rtol: 4e-7 }, `StepParams for ${step}, t = ${t}`);
    }
  });

  it('a refused step leaves t; the next applied step is corrected for t + 1, its own', async () => {
    const g = gradient(64, 6);
    const before = { smoothed: 50, lowest: 40, seen: 4, t: 4 };
    const refused = await health(g, NaN, 0, before);
    expect(refused.watch[4], 'apply').toBe(0);
    expect(refused.watch[3]).toBe(4);
    const applied = await health(g, 45, 0, refused.ref.next);
    expect(applied.watch[4], 'apply').toBe(1);
    expect(applied.watch[3]).toBe(5);
    expectClose(applied.watch.subarray(8, 10), adamBiasCorrectionsRef(5, 0.9, 0.999), { atol: 0, rtol: 4e-7 }, 't = 5');
  });
});

describe('the gated optimizer', () => {
  const h: AdamHyper = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
  const stepParams = (t: number) => params(0, { lr: h.lr, beta1: h.beta1, beta2: h.beta2, adamEps: h.eps, weightDecay: h.weightDecay, step: t });

  for (const count of [8, 1001, 4100]) {
    it(`count=${count}: applies Adam and SGD with the gradient scaled by the verdict's clip scale and Adam corrected as the watch says`, async () => {
      const vecs = Math.ceil(count / 4) * 4;
      const p = gradient(count, 11), g = gradient(count, 12, 5);
      const m = gradient(count, 13, 0.1), v = Float32Array.from(gradient(count, 14), Math.abs);
      const scale = 0.3125;
      const watch = initialWatch();
      watch[5] = scale;
      // The corrections of t = 3 in the watch; StepParams' step (1) is the ungated variant's alone.
      watch.set(adamBiasCorrectionsRef(3, h.beta1, h.beta2), 8);
      const out = await runKernels([optimizerStep({ kind: 'adam', count: vecs, gated: true })], { params: stepParams(1), p, g, m, v, watch }, {});
      const ref = adamStepRef(p, Float64Array.from(g, (x) => x * scale), m, v, h, 3);
      expectClose(out.m, ref.m, { atol: 1e-7, rtol: 1e-6 }, 'm');
      expectClose(out.v, ref.v, { atol: 1e-12, rtol: 3e-5 }, 'v');
      expectClose(out.p, ref.p, { atol: 1e-6, rtol: 1e-6 }, 'p');
      const sgd = await runKernels([optimizerStep({ kind: 'sgd', count: vecs, gated: true })], { params: stepParams(3), p, g, watch }, {});
      expectClose(sgd.p, sgdStepRef(p, Float64Array.from(g, (x) => x * scale), h.lr, h.weightDecay), { atol: 1e-7, rtol: 1e-6 }, 'sgd p');
    });
  }

  it('a step judged bad leaves p, m and v bit for bit unchanged, even with NaN gradients', async () => {
    const count = 4100;
    const p = gradient(count, 21), m = gradient(count, 22, 0.1), v = Float32Array.from(gradient(count, 23), Math.abs);
    const g = gradient(count, 24).fill(NaN, 100, 200);
    const watch = new Float32Array(4 * WATCH_VEC4S).fill(0);
    watch.set([0, 1, NaN, 2], 4); // apply 0: the verdict of a NaN gradient norm
    for (const kind of ['adam', 'sgd'] as const) {
      const out = await runKernels([optimizerStep({ kind, count, gated: true })], kind === 'adam' ? { params: stepParams(5), p, g, m, v, watch } : { params: stepParams(5), p, g, watch }, {});
      expect(bits(out.p), `${kind}: p unchanged`).toEqual(bits(p));
      if (kind === 'adam') {
        expect(bits(out.m), 'm unchanged').toEqual(bits(m));
        expect(bits(out.v), 'v unchanged').toEqual(bits(v));
      }
    }
  });

  it('health check then optimizer in one pass: NaN in g stops the update; a clean g goes through clipped', async () => {
    const count = 1001, vecs = 1004;
    const p = gradient(count, 31), m = new Float32Array(vecs), v = new Float32Array(vecs);
    const history = nan(SLOTS * 4);
    history[SLOT * 4] = 77;
    const run = (g: Float32Array) => runKernels([gradNormPartial({ count: vecs }), stepHealth(), optimizerStep({ kind: 'adam', count: vecs, gated: true })], {
      params: params(0.5, { lr: h.lr, beta1: h.beta1, beta2: h.beta2, adamEps: h.eps, weightDecay: 0 }),
      g, p, m, v, history, watch: initialWatch(), partials: nan(GRAD_NORM.partials), health: nan(SLOTS * 4),
    }, {});
    const bad = gradient(count, 32);
    bad[500] = NaN;
    const stopped = await run(bad);
    expect(stopped.health[SLOT * 4 + 1]).toBe(2);
    expect(bits(stopped.p)).toEqual(bits(p));
    const good = gradient(count, 32);
    const applied = await run(good);
    const verdict = stepHealthRef(77, good, 0.5, FRESH);
    expect(verdict.scale).toBeLessThan(1);
    const ref = adamStepRef(p, Float64Array.from(good, (x) => x * verdict.scale), m, v, { ...h, weightDecay: 0 }, 1);
    expectClose(applied.m, ref.m, { atol: 1e-8, rtol: 1e-5 }, 'm after clipping');
    expectClose(applied.p, ref.p, { atol: 1e-6, rtol: 1e-6 }, 'p after clipping');
  });
});

describe('the clipping scale of a tiny gradient', () => {
  it('is clip / (||g|| + 1e-6), the guard included', async () => {
    const g = new Float32Array(8);
    g[0] = 1e-6;
    const got = await runKernels([gradNormPartial({ count: 8 }), stepHealth()],
      { params: new Uint32Array(encodeStepParams({ historySlot: 0, clipNorm: 1e-7 })), g, history: new Float32Array([1, 1, 0, 1]), watch: initialWatch() },
      { partials: GRAD_NORM.partials, health: 4 });
    expect(got.health[2]).toBeCloseTo(1e-7 / (1e-6 + 1e-6), 6);
  });
});
