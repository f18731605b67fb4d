// The sampler's forward kernels (shaders/reparam.ts) against float64 references: the Philox noise
// against its TypeScript twin (src/noise.ts) under the batch and dataset numberings,
// z = mu + sigma eps, and the prior sampler, for the model's posterior layout and for a different
// one, so the kernels are seen to take the layout from their parameters. The backward pass is in
// reparam-backward.test.ts.
import { describe, expect, it } from 'vitest';
import { priorSample, reparamForward } from '../shaders/reparam';
import { noiseAt } from '../src/noise';
import { STREAM, type StepParams } from '../src/step-params';
import { expectClose, expectScaled, f32 } from './helpers/compare';
import { runKernels, UNWRITTEN } from './helpers/gpu';
import { expAllowance, expectTwinNoise, makeMulv, makeQ, NOISE_TOL, PAD, params, SEED } from './helpers/sampler';
import {
  batchNoiseRef, LAYOUTS, logvarAt, muAt, mulvLayout, noiseRef, offsetLayout, perSampleNoiseRef, reparamForwardRef, sampleIndex, SENTINEL,
  type LayoutName, type ReparamDims,
} from './reference/reparam';

function expectPadding(v: Float32Array, count: number, label: string) {
  expect(Array.from(v.subarray(count)), `${label}: past the end`).toEqual(new Array(v.length - count).fill(UNWRITTEN));
}

/** |mu| + sigma |eps|: the size of the terms summed into z. */
function zScale(mulv: ArrayLike<number>, eps: ArrayLike<number>, d: ReparamDims): Float64Array {
  const s = new Float64Array(d.samples * d.batch * d.latent);
  for (let l = 0; l < d.samples; l++) {
    for (let b = 0; b < d.batch; b++) {
      for (let j = 0; j < d.latent; j++) {
        const e = sampleIndex(d, l, b, j);
        const lv = logvarAt(mulv, d, b, j);
        s[e] = Math.abs(muAt(mulv, d, b, j)) + Math.exp(0.5 * lv) * Math.abs(eps[e]) * expAllowance(lv);
      }
    }
  }
  return s;
}

interface ForwardCase extends ReparamDims { layout: LayoutName; noiseRows?: number; noiseRow0?: number }

const forwardCases: ForwardCase[] = [
  { batch: 1, latent: 1, samples: 1, layout: 'model' },
  { batch: 7, latent: 3, samples: 3, layout: 'offset' },
  { batch: 6, latent: 7, samples: 2, layout: 'model', noiseRows: 50, noiseRow0: 0 },
  { batch: 33, latent: 5, samples: 1, layout: 'offset', noiseRows: 100, noiseRow0: 40 },
  { batch: 129, latent: 20, samples: 3, layout: 'model', noiseRows: 300, noiseRow0: 129 },
];

describe('reparamForward', () => {
  forwardCases.forEach((c, ci) => {
    it(`B=${c.batch} Z=${c.latent} L=${c.samples} ${c.layout} layout, noise rows ${c.noiseRows ?? 0} from ${c.noiseRow0 ?? 0}`, async () => {
      const d: ReparamDims = c;
      const layout = LAYOUTS[c.layout](c.latent);
      const n = c.samples * c.batch * c.latent;
      const counter = 11 + ci;
      const mulv = makeMulv(d, 100 + ci);
      const k = reparamForward({ batch: c.batch, samples: c.samples, layout });
      expect(k.name).toBe('reparam_forward');
      expect(k.bindings.map((b) => b.name)).toEqual(['params', 'q', 'z', 'eps']);
      const out = await runKernels(
        [k],
        { params: params({ counter, noiseRows: c.noiseRows, noiseRow0: c.noiseRow0 }), q: makeQ(mulv, c.batch, layout) },
        { z: n + PAD, eps: n + PAD },
      );
      expectPadding(out.z, n, 'z');
      expectPadding(out.eps, n, 'eps');
      const twin = batchNoiseRef(d, { seed: SEED, counter, stream: STREAM.train, noiseRows: c.noiseRows, noiseRow0: c.noiseRow0 });
      await expectTwinNoise(out.eps.subarray(0, n), twin, 'eps vs noiseAt');
      // z from the GPU's own eps, so the noise tolerance does not leak into it.
      const eps = f32(out.eps.subarray(0, n));
      expectScaled(out.z.subarray(0, n), reparamForwardRef(mulv, eps, d).z, zScale(mulv, eps, d), 2e-6, 'z');
    });
  });

  it('sized by its binding: one source for every batch, drawing and writing what the sized kernel does', async () => {
    for (const meanOnly of [false, true]) {
      const layout = LAYOUTS.offset(3);
      expect(reparamForward({ batch: 7, samples: 3, layout, meanOnly, sizedByBinding: true }).code)
        .toBe(reparamForward({ batch: 129, samples: 3, layout, meanOnly, sizedByBinding: true }).code);
      for (const batch of [7, 129]) {
        const d: ReparamDims = { batch, latent: 3, samples: 3 }, n = 3 * batch * 3;
        const given = { params: params({ counter: 5, noiseRows: 300, noiseRow0: 2 }), q: makeQ(makeMulv(d, batch), batch, layout) };
        // Mean only: eps is bound but left alone.
        const inputs = meanOnly ? { ...given, eps: new Float32Array(n).fill(-1) } : given;
        const run = (sizedByBinding: boolean) => runKernels([reparamForward({ batch, samples: 3, layout, meanOnly, sizedByBinding })], inputs, meanOnly ? { z: n } : { z: n, eps: n });
        const [sized, generic] = [await run(false), await run(true)];
        expect(generic.z, `z, batch ${batch}${meanOnly ? ', mean only' : ''}`).toEqual(sized.z);
        if (!meanOnly) expect(generic.eps, `eps, batch ${batch}`).toEqual(sized.eps);
      }
    }
  });

  it('a dataset split into batches draws the noise of the whole dataset (noise_rows, noise_row0)', async () => {
    // 10 examples, L = 3, in batches of 6: the second batch holds examples 6..9 and 2 padding rows.
    const N = 10, B = 6, Z = 3, L = 3, layout = offsetLayout(Z);
    const whole = await runKernels(
      [reparamForward({ batch: N, samples: L, layout })],
      { params: params({ counter: 7, stream: STREAM.eval, noiseRows: N }), q: makeQ(makeMulv({ batch: N, latent: Z, samples: L }, 1), N, layout) },
      { z: L * N * Z, eps: L * N * Z },
    );
    const kB = reparamForward({ batch: B, samples: L, layout });
    const qB = makeQ(makeMulv({ batch: B, latent: Z, samples: L }, 2), B, layout);
    const parts = [];
    for (const row0 of [0, 6]) {
      parts.push(await runKernels([kB], { params: params({ counter: 7, stream: STREAM.eval, noiseRows: N, noiseRow0: row0, validRows: Math.min(B, N - row0) }), q: qB }, { z: L * B * Z, eps: L * B * Z }));
    }
    for (let l = 0; l < L; l++) {
      for (let i = 0; i < N; i++) {
        const part = parts[Math.floor(i / B)], b = i % B;
        const got = Array.from(part.eps.subarray((l * B + b) * Z, (l * B + b + 1) * Z));
        expect(got, `sample ${l} of example ${i}`).toEqual(Array.from(whole.eps.subarray((l * N + i) * Z, (l * N + i + 1) * Z)));
      }
    }
    // With the default numbering (noise_rows 0) the batches would repeat each other's noise instead.
    const own = await runKernels([kB], { params: params({ counter: 7, stream: STREAM.eval, noiseRow0: 6 }), q: qB }, { z: L * B * Z, eps: L * B * Z });
    expect(Array.from(own.eps.subarray(B * Z, 2 * B * Z))).not.toEqual(Array.from(parts[1].eps.subarray(B * Z, 2 * B * Z)));
    await expectTwinNoise(own.eps, batchNoiseRef({ batch: B, latent: Z, samples: L }, { seed: SEED, counter: 7, stream: STREAM.eval, noiseRow0: 6 }), 'noise_rows 0 means B');
  });

  it('counterPerSample (evaluations): sample l of example e is counter + l at element e * Z + j, whatever the batch', async () => {
    const N = 10, B = 4, Z = 3, L = 3, layout = offsetLayout(Z);
    const kB = reparamForward({ batch: B, samples: L, layout, counterPerSample: true });
    expect(kB.name).toBe('reparam_forward_per_sample');
    const qB = makeQ(makeMulv({ batch: B, latent: Z, samples: L }, 4), B, layout);
    // The whole data set in one batch, on the GPU: each batch below must draw its examples' noise.
    const whole = await runKernels([reparamForward({ batch: N, samples: L, layout, counterPerSample: true })],
      { params: params({ counter: 5, stream: STREAM.iwae }), q: makeQ(makeMulv({ batch: N, latent: Z, samples: L }, 4), N, layout) }, { z: L * N * Z, eps: L * N * Z });
    for (const row0 of [0, 4, 8]) {
      const valid = Math.min(B, N - row0);
      const got = await runKernels([kB], { params: params({ counter: 5, stream: STREAM.iwae, noiseRow0: row0, validRows: valid }), q: qB }, { z: L * B * Z, eps: L * B * Z });
      await expectTwinNoise(got.eps, perSampleNoiseRef({ batch: B, latent: Z, samples: L }, { seed: SEED, counter: 5, stream: STREAM.iwae, noiseRow0: row0 }), `batch from example ${row0}`);
      // The same draws as the whole data set's, example by example, to the last bit.
      for (let l = 0; l < L; l++) for (let b = 0; b < valid; b++) {
        expect(Array.from(got.eps.subarray((l * B + b) * Z, (l * B + b + 1) * Z)), `sample ${l} of example ${row0 + b}`).toEqual(Array.from(whole.eps.subarray((l * N + row0 + b) * Z, (l * N + row0 + b + 1) * Z)));
      }
      // z = mu + sigma eps with those draws.
      const mulv = makeMulv({ batch: B, latent: Z, samples: L }, 4);
      expectClose(got.z, reparamForwardRef(mulv, got.eps, { batch: B, latent: Z, samples: L }).z, { atol: 1e-6, rtol: 1e-6 }, 'z');
    }
  });

  it('numbers draws past 2^32 in 64 bits: sample 1 of a set of 2^31 rows does not repeat earlier noise', async () => {
    // L = 2 over noise_rows 2^31 at Z = 3: sample 1 of row b is element (2^31 + b) * 3 + j, past 2^32.
    const B = 2, Z = 3, L = 2, layout = offsetLayout(Z), numbering = { seed: SEED, counter: 3, stream: STREAM.eval, noiseRows: 2 ** 31 };
    const { eps } = await runKernels(
      [reparamForward({ batch: B, samples: L, layout })],
      { params: params({ counter: 3, stream: STREAM.eval, noiseRows: 2 ** 31 }), q: makeQ(makeMulv({ batch: B, latent: Z, samples: L }, 3), B, layout) },
      { z: L * B * Z, eps: L * B * Z },
    );
    await expectTwinNoise(eps, batchNoiseRef({ batch: B, latent: Z, samples: L }, numbering), 'eps vs noiseAt past 2^32');
    // Wrapped at 2^32, sample 1 would draw elements (2^31 + b) * 3 + j - 2^32 = 2^31 + 3b + j instead.
    const wrapped = Array.from({ length: B * Z }, (_, e) => Math.fround(noiseAt(2 ** 31 + e, SEED, 3, STREAM.eval)));
    expect(Array.from(eps.subarray(B * Z))).not.toEqual(wrapped);
  });

  for (const layoutName of ['model', 'offset'] as const) {
    it(`meanOnly (${layoutName} layout): z = mu for every sample, eps untouched`, async () => {
      const d: ReparamDims = { batch: 7, latent: 3, samples: 3 };
      const layout = LAYOUTS[layoutName](d.latent);
      const n = 3 * 7 * 3;
      const mulv = makeMulv(d, 5);
      const sentinel = new Float32Array(n).fill(SENTINEL);
      const k = reparamForward({ batch: d.batch, samples: d.samples, layout, meanOnly: true });
      expect(k.name).toBe('reparam_forward_mean');
      const out = await runKernels([k], { params: params({ counter: 3 }), q: makeQ(mulv, d.batch, layout), eps: sentinel }, { z: n + PAD });
      expect(Array.from(out.z.subarray(0, n))).toEqual(Array.from(reparamForwardRef(mulv, sentinel, d, true).z));
      expectPadding(out.z, n, 'z');
      expect(Array.from(out.eps)).toEqual(Array.from(sentinel));
    });
  }

  it('extreme logvar (+-30 to +-80) and mu (+-30): z finite and matching', async () => {
    const d: ReparamDims = { batch: 7, latent: 3, samples: 3 };
    const Z = d.latent, n = 3 * 7 * 3, layout = offsetLayout(Z);
    const lvs = [80, -80, 60, -60, 30, -30, 0], mus = [30, -30, 0];
    const mulv = new Float64Array(7 * 2 * Z);
    for (let b = 0; b < 7; b++) {
      for (let j = 0; j < Z; j++) {
        mulv[b * 2 * Z + j] = mus[(b + j) % 3];
        mulv[b * 2 * Z + Z + j] = lvs[(3 * b + j) % 7];
      }
    }
    const out = await runKernels([reparamForward({ batch: 7, samples: 3, layout })], { params: params({ counter: 99, stream: STREAM.eval }), q: makeQ(mulv, 7, layout) }, { z: n, eps: n });
    await expectTwinNoise(out.eps, noiseRef(n, SEED, 99, STREAM.eval), 'eps vs noiseAt (eval stream)');
    const eps = f32(out.eps);
    const ref = reparamForwardRef(mulv, eps, d).z;
    expect(ref.every(Number.isFinite)).toBe(true);
    expectScaled(out.z, ref, zScale(mulv, eps, d), 2e-6, 'z');
  });

  it('draws fresh noise for a new counter, stream or seed', async () => {
    const d: ReparamDims = { batch: 7, latent: 2, samples: 3 };
    const n = 42, layout = mulvLayout(2);
    const q = makeQ(makeMulv(d, 1), 7, layout);
    const k = reparamForward({ batch: 7, samples: 3, layout });
    const run = (p: Partial<StepParams>) => runKernels([k], { params: params(p), q }, { z: n, eps: n }).then((o) => o.eps);
    const base = await run({ counter: 5 });
    const others = [await run({ counter: 6 }), await run({ counter: 5, stream: STREAM.eval }), await run({ counter: 5, seed: 12345 })];
    for (const other of others) expect(Array.from(base).filter((v, i) => v === other[i]).length).toBe(0);
    await expectTwinNoise(others[2], noiseRef(n, 12345, 5, STREAM.train), 'eps vs noiseAt (seed below 2^32)');
  });
});

describe('priorSample', () => {
  it('2e5 draws match noiseAt on the prior stream, numbered from noise_row0 * latent, and look standard normal', async () => {
    const latent = 5, rows = 40_001, count = rows * latent, row0 = 7;
    const k = priorSample({ count, latent });
    expect(k.bindings.map((b) => b.name)).toEqual(['params', 'z']);
    const { z } = await runKernels([k], { params: params({ counter: 4, stream: STREAM.prior, noiseRow0: row0 }) }, { z: count + PAD });
    expectPadding(z, count, 'z');
    const draws = z.subarray(0, count);
    const twin = Float64Array.from({ length: count }, (_, e) => noiseAt(row0 * latent + e, SEED, 4, STREAM.prior));
    await expectTwinNoise(draws, twin, 'prior vs noiseAt');
    let sum = 0, sumSq = 0;
    for (const v of draws) { sum += v; sumSq += v * v; }
    const mean = sum / count, variance = sumSq / count - mean * mean;
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(count));
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / count));
  });

  it('sized by its binding: one source for every count, and the draws of the sized kernel', async () => {
    expect(priorSample({ count: 10, latent: 5, sizedByBinding: true }).code).toBe(priorSample({ count: 5005, latent: 5, sizedByBinding: true }).code);
    for (const count of [10, 5005]) {
      const inputs = { params: params({ counter: 3, stream: STREAM.prior, noiseRow0: 11 }) };
      const [sized, generic] = await Promise.all([false, true].map((sizedByBinding) => runKernels([priorSample({ count, latent: 5, sizedByBinding })], inputs, { z: count })));
      expect(generic.z, `count ${count}`).toEqual(sized.z);
    }
  });

  it('draws across 2^32 carry into the high word, matching noiseAt and not the draws 2^32 before them', async () => {
    // noise_row0 * latent = 2^32 - 1: the six draws are elements 2^32 - 1 .. 2^32 + 4, across the carry.
    const latent = 3, rows = 2, row0 = (2 ** 32 - 1) / 3, first = row0 * latent;
    const { z } = await runKernels([priorSample({ count: rows * latent, latent })], { params: params({ counter: 2, stream: STREAM.prior, noiseRow0: row0 }) }, { z: rows * latent });
    const twin = Array.from({ length: rows * latent }, (_, e) => noiseAt(first + e, SEED, 2, STREAM.prior));
    await expectTwinNoise(z, twin, 'prior vs noiseAt across 2^32');
    const before = Array.from({ length: rows * latent - 1 }, (_, e) => Math.fround(noiseAt(e, SEED, 2, STREAM.prior)));
    expect(Array.from(z.subarray(1))).not.toEqual(before);
  });

  it('covers more than 65535 workgroups through the 2-D grid', async () => {
    const count = 65535 * 64 + 1000;
    const k = priorSample({ count, latent: 8 });
    expect(k.workgroups[1]).toBeGreaterThan(1);
    const { z } = await runKernels([k], { params: params({ counter: 1, stream: STREAM.prior }) }, { z: count + PAD });
    expectPadding(z, count, 'z');
    // runKernels fills outputs with NaN: a non-finite value marks an element no invocation wrote
    // (and a normal draw is never exactly 0, so a zero marks one written wrongly).
    let unwritten = 0;
    for (let i = 0; i < count; i++) if (!Number.isFinite(z[i]) || z[i] === 0) unwritten++;
    expect(unwritten).toBe(0);
    // Spot-check the twin around the start of the second grid row and at the end.
    const rowStart = k.workgroups[0] * 64;
    const idx = [0, 1, rowStart - 2, rowStart - 1, rowStart, rowStart + 1, count - 2, count - 1];
    expectClose(idx.map((i) => z[i]), idx.map((i) => noiseAt(i, SEED, 1, STREAM.prior)), NOISE_TOL, 'prior vs noiseAt (2-D grid)');
  });
});
