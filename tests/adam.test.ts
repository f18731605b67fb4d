// The optimizer kernel (shaders/adam.ts) against PyTorch's Adam and SGD update rules in float64
// (tests/reference/adam.ts): several steps with their bias corrections, weight decay on and off,
// padding that must stay zero, and the vec4 bounds check.
import { describe, expect, it } from 'vitest';
import { optimizerStep, type Optimizer } from '../shaders/adam';
import { encodeStepParams, STREAM } from '../src/step-params';
import { expectClose, f32, testData } from './helpers/compare';
import { runKernels, type Inputs } from './helpers/gpu';
import { adamStepRef, sgdStepRef, type AdamHyper } from './reference/adam';

function params(h: AdamHyper, step: number): Uint32Array {
  return new Uint32Array(encodeStepParams({
    seed: 0, counter: 0, batchStart: 0, validRows: 0, historySlot: 0, stream: STREAM.train, datasetCount: 0,
    lr: h.lr, beta1: h.beta1, beta2: h.beta2, adamEps: h.eps, step, weightDecay: h.weightDecay, klWeight: 1,
  }));
}

/** Step numbers t in order: the first steps (large bias corrections), then later ones. */
const STEPS = [1, 2, 3, 10, 1000];
const COUNTS = [4, 8, 1000, 4100];
/** One vec4 past the parameters, holding values the kernel must not touch. */
const EXTRA = 4;

const HYPER: Record<Optimizer, AdamHyper[]> = {
  adam: [
    { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
    { lr: 3e-3, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.01 },
  ],
  sgd: [
    { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
    { lr: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 },
  ],
};

/**
 * Tolerances against float64 PyTorch. The kernel holds beta and 1 - beta as f32 numbers each
 * rounded once from float64, as PyTorch passes them to its f32 tensors, so m and v are off only
 * by f32 rounding (m absolutely where it cancels towards 0; v up to a few 1e-6 of itself where
 * weight decay's g + wd p cancels in f32), and p by a few f32 ulp of the update on top of its
 * own rounding. Forming 1 - beta in f32 from the f32 beta
 * put v 1.3e-5 (relative) off for beta2 = 0.999, which these bounds refuse.
 */
const tolP = (largestUpdate: number) => ({ atol: 1e-6 * largestUpdate + 1e-12, rtol: 3e-7 });
const tolM = { atol: 5e-8, rtol: 1e-6 };
const tolV = { atol: 1e-16, rtol: 5e-6 };

/** Initial weights in [-1, 1]; for count >= 8 the last vec4 is padding (all zero); then EXTRA sentinels. */
function initialWeights(count: number, seed: number): Float32Array {
  const p = new Float32Array(count + EXTRA);
  p.set(f32(testData(count, seed, -1, 1)));
  if (count >= 8) p.fill(0, count - 4, count);
  p.fill(0.5, count);
  return p;
}

/** Gradient of step t: uniform in [-1, 1] with a few tiny and zero entries (where eps matters), zero on padding. */
function gradient(count: number, seed: number, t: number): Float32Array {
  const g = new Float32Array(count + EXTRA);
  g.set(f32(testData(count, seed * 31 + t, -1, 1)));
  g[1] = 1e-9;
  g[2] = -1e-9;
  g[3] = 0;
  if (count >= 8) g.fill(0, count - 4, count);
  g.fill(1, count);
  return g;
}

describe.each(['adam', 'sgd'] as const)('optimizer %s', (kind) => {
  it('binds p, g (and m, v for adam)', () => {
    const k = optimizerStep({ kind, count: 8 });
    expect(k.bindings.map((b) => b.name)).toEqual(kind === 'adam' ? ['params', 'p', 'g', 'm', 'v'] : ['params', 'p', 'g']);
  });

  for (const count of COUNTS) {
    it(`count=${count}: steps t = ${STEPS.join(', ')}, weight decay off and on`, async () => {
      const k = optimizerStep({ kind, count });
      for (const [hi, h] of HYPER[kind].entries()) {
        const label = `${kind} n=${count} wd=${h.weightDecay}`;
        let p: Float32Array = initialWeights(count, count + hi);
        let m: Float32Array = new Float32Array(count + EXTRA).fill(0.25, count);
        let v: Float32Array = new Float32Array(count + EXTRA).fill(0.25, count);
        // A float64 trajectory from the same start, to check that errors do not build up.
        let traj: { p: Float64Array; m: Float64Array; v: Float64Array } = { p: Float64Array.from(p.subarray(0, count)), m: new Float64Array(count), v: new Float64Array(count) };
        const p0 = p.slice();
        for (const t of STEPS) {
          const g = gradient(count, count + hi, t);
          const inputs: Inputs = kind === 'adam' ? { params: params(h, t), p, g, m, v } : { params: params(h, t), p, g };
          const out = await runKernels([k], inputs, {});
          const gIn = g.subarray(0, count);
          if (kind === 'adam') {
            const ref = adamStepRef(p.subarray(0, count), gIn, m.subarray(0, count), v.subarray(0, count), h, t);
            expectClose(out.m.subarray(0, count), ref.m, tolM, `${label} t=${t} m`);
            expectClose(out.v.subarray(0, count), ref.v, tolV, `${label} t=${t} v`);
            const largestUpdate = ref.p.reduce((a, w, i) => Math.max(a, Math.abs(w - p[i])), 0);
            expectClose(out.p.subarray(0, count), ref.p, tolP(largestUpdate), `${label} t=${t} p`);
            traj = adamStepRef(traj.p, gIn, traj.m, traj.v, h, t);
            m = out.m;
            v = out.v;
          } else {
            expectClose(out.p.subarray(0, count), sgdStepRef(p.subarray(0, count), gIn, h.lr, h.weightDecay), { atol: 1e-8, rtol: 3e-7 }, `${label} t=${t} p`);
            traj.p = sgdStepRef(traj.p, gIn, h.lr, h.weightDecay);
          }
          p = out.p;
          // Past `count`: untouched.
          expect(Array.from(p.subarray(count)), `${label} t=${t}: p past count`).toEqual(new Array(EXTRA).fill(0.5));
          if (kind === 'adam') expect(Array.from(m.subarray(count)).concat(Array.from(v.subarray(count)))).toEqual(new Array(2 * EXTRA).fill(0.25));
          if (kind === 'adam' && t === 1 && h.weightDecay === 0) {
            // Adam's first step moves every weight with |g| >> eps by lr, whatever the gradient's size.
            for (const i of count > 8 ? [0, 5] : [0]) expect(Math.abs(p[i] - p0[i]) / h.lr, `first step of weight ${i}`).toBeCloseTo(1, 4);
          }
        }
        expectClose(p.subarray(0, count), traj.p, { atol: 1e-6, rtol: 0 }, `${label}: trajectory over ${STEPS.length} steps`);
        if (count >= 8) {
          const pad = [p, m, v].flatMap((a) => Array.from(a.subarray(count - 4, count)));
          expect(pad, `${label}: padding stays zero`).toEqual(new Array(12).fill(0));
        }
      }
    });
  }
});
