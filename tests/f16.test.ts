// Half-precision activations (precision 'f16': src/model/precision.ts, the matmul's `f16` operands).
// Where the adapter has `shader-f16` (Deno's wgpu on Mesa's lavapipe: the second pass of
// scripts/test-deno.sh) it checks every matmul variant with f16 operands against float64
// references computed on the f16-rounded inputs, aligned and unaligned, and a whole model in f16
// against the same model in f32. Where the adapter lacks the feature (Dawn's SwiftShader,
// Chromium's), it checks the refusal. WEBGPU_VAE_REQUIRE_F16=1, set by the lavapipe pass, makes a
// missing feature a failure, so that pass cannot pass by checking only the refusal.
import { describe, expect, it } from 'vitest';
import { matmul, MATMUL_VARIANTS, nonzeroStepsFor, type MatmulOperand, type MatmulParams } from '../shaders/matmul';
import { nonzeroSteps, nonzeroStepsWords } from '../shaders/matmul-zeros';
import { VAE } from '../src/model/vae';
import { testData } from './helpers/compare';
import { expectF16Tracks, noisyPatterns, trainAndProbe } from './helpers/precision-runs';
import { expectHalfClose, F16_NAN_FILL, fromF16Bits, roundF16, runHalfKernel, toF16Bits, unpackF16 } from './helpers/f16';
import { gpu, runKernels } from './helpers/gpu';
import { actDerivRef, matmulRef } from './reference/dense';

const { device } = await gpu();
const hasF16 = device.features.has('shader-f16');
const required = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.WEBGPU_VAE_REQUIRE_F16 === '1';

describe('f16 helpers (the reference side)', () => {
  it('every f16 bit pattern decodes and re-encodes to itself', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = fromF16Bits(h);
      if (Number.isNaN(v)) continue;
      expect(toF16Bits(v), `pattern ${h.toString(16)}`).toBe(h);
    }
  });

  it('rounds to nearest, ties to even, overflows to infinity', () => {
    expect(roundF16(1 + 2 ** -11)).toBe(1); // a tie: 1 has the even mantissa
    expect(roundF16(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9);
    expect(roundF16(65504)).toBe(65504);
    expect(roundF16(65520)).toBe(Number.POSITIVE_INFINITY);
    expect(roundF16(2 ** -25)).toBe(0); // half the smallest subnormal: a tie, to the even 0
    expect(roundF16(3 * 2 ** -25)).toBe(2 ** -23);
  });
});

describe.runIf(!hasF16)('precision f16 without shader-f16', () => {
  it('the feature is there when this run requires it', () => {
    expect(required, 'WEBGPU_VAE_REQUIRE_F16=1 but the adapter has no shader-f16 (is Mesa lavapipe installed?)').toBe(false);
  });

  it('is refused, naming the feature and what to use instead', async () => {
    await expect(VAE.create({ hidden: [8], latent: 2 }, { device, batch: 4, precision: 'f16' })).rejects.toThrow(/needs the WebGPU feature 'shader-f16'.*use precision 'f32'/);
  });
});

/** Runs one matmul whose `half` operands are stored as f16; returns c decoded. */
async function runHalf(p: MatmulParams, data: Record<string, Float64Array>, half: readonly MatmulOperand[]) {
  const k = matmul({ ...p, f16: half, subgroups: device.features.has('subgroups') });
  return { name: k.name, code: k.code, c: await runHalfKernel(k, data, 'c', p.M * p.N) };
}

// The register kernels on every shape; the tiled ones (4 x 3 pipelines each) on an unaligned and an
// aligned one (where their f32 operands take the vec4 loads and the f16 ones do not).
const shapes: [number, number, number][] = [[1, 1, 1], [33, 17, 9], [64, 64, 64], [129, 40, 400]];
const tiledShapes: [number, number, number][] = [[33, 17, 9], [64, 64, 64]];

describe.runIf(hasF16).each(MATMUL_VARIANTS.flatMap((variant) => [{ variant, generic: false }, { variant, generic: true }]))('matmul $variant generic=$generic with f16 operands', ({ variant, generic }) => {
  for (const [M, N, K] of variant.startsWith('tiled') ? tiledShapes : shapes) {
    const rounded = (n: number, seed: number, lo = -1, hi = 1) => Float64Array.from(testData(n, seed, lo, hi), roundF16);

    it(`${M}x${N}x${K} forward: f16 input, f16 output or both (bias + relu epilogue)`, async () => {
      const a = rounded(M * K, M + K, -2, 2), w = rounded(N * K, N), bias = Float64Array.from(Float32Array.from(testData(N, 5)));
      const pre = matmulRef(a, w, M, N, K, false, true);
      const ref = pre.map((v, i) => Math.max(v + bias[i % N], 0));
      const magnitude = matmulRef(a.map(Math.abs), w.map(Math.abs), M, N, K, false, true).map((v, i) => v + Math.abs(bias[i % N]));
      for (const half of [['a'], ['c'], ['a', 'c']] as MatmulOperand[][]) {
        // w is stored as f32 here, holding f16-exact values, so only the named operands differ in storage.
        const r = await runHalf({ M, N, K, transB: true, bias: true, activation: 'relu', variant, generic }, { a, b: w, bias }, half);
        expect(r.code).toContain('enable f16;');
        expectHalfClose(r.c, ref, magnitude, K, half.includes('c'), `${r.name} [${half}]`);
      }
    });

    it(`${M}x${N}x${K} weight gradient: dY^T X with X stored as f16`, async () => {
      const dy = Float64Array.from(Float32Array.from(testData(M * N, 11))), x = rounded(M * K, 12, 0, 3);
      const ref = matmulRef(dy, x, N, K, M, true, false);
      const magnitude = matmulRef(dy.map(Math.abs), x, N, K, M, true, false);
      const r = await runHalf({ M: N, N: K, K: M, transA: true, variant, generic }, { a: dy, b: x }, ['b']);
      expectHalfClose(r.c, ref, magnitude, M, false, r.name);
    });

    it(`${M}x${N}x${K} input gradient: (dY W) * relu'(y) with y stored as f16`, async () => {
      const dy = Float64Array.from(Float32Array.from(testData(M * N, 21))), w = Float64Array.from(Float32Array.from(testData(N * K, 22)));
      const pre = rounded(M * K, 23, -1, 1);
      const y = pre.map((v) => Math.max(v, 0)); // a ReLU's output: about half zeros
      const ref = matmulRef(dy, w, M, K, N, false, false).map((v, i) => v * actDerivRef('relu', pre[i]));
      const magnitude = matmulRef(dy.map(Math.abs), w.map(Math.abs), M, K, N, false, false);
      const r = await runHalf({ M, N: K, K: N, gradActivation: 'relu', variant, generic }, { a: dy, b: w, y }, ['y']);
      expectHalfClose(r.c, ref, magnitude, N, false, r.name);
    });
  }
});

// A model in f16 stores its first layer's output as f16 while that layer skips the data's zeros
// (on software adapters such as lavapipe): the f16 store after the listed loop.
describe.runIf(hasF16).each([
  { variant: 'register' as const, generic: false }, { variant: 'register' as const, generic: true },
  { variant: 'register-subgroup' as const, generic: false }, { variant: 'register-subgroup' as const, generic: true },
])('matmul $variant generic=$generic skipping the zeros of an f32 input, f16 output', ({ variant, generic }) => {
  it.each([[33, 17, 50], [129, 40, 100]])('%ix%ix%i: bit for bit the dense f16 kernel', async (M, N, K) => {
    // a: rows of a picture, mostly zeros, its first row dense so that both loops run.
    const a = Float64Array.from(Float32Array.from(testData(M * K, M + K, -2, 2)), (v, i) => (i >= K && (i * 7919) % 10 < 8 ? 0 : v));
    const w = Float64Array.from(Float32Array.from(testData(N * K, N))), bias = Float64Array.from(Float32Array.from(testData(N, 5)));
    const p: MatmulParams = { M, N, K, transB: true, bias: true, activation: 'relu', variant, generic, f16: ['c'], subgroups: device.features.has('subgroups') };
    const dense = await runHalfKernel(matmul(p), { a, b: w, bias }, 'c', M * N);
    const skipping = matmul({ ...p, skipZeros: 'a' }), list = nonzeroStepsFor({ ...p, skipZeros: 'a' });
    expect(skipping.name).toContain('_f16c_skipa');
    const r = await runKernels([nonzeroSteps(list), skipping], { a: Float32Array.from(a), x: Float32Array.from(a), b: Float32Array.from(w), bias: Float32Array.from(bias) },
      { c: Math.ceil((M * N) / 2), steps: nonzeroStepsWords(list) }, { fill: F16_NAN_FILL });
    const got = unpackF16(r.c, M * N);
    const differ = got.findIndex((v, i) => !Object.is(v, dense[i]));
    expect(differ, `first element that differs: ${differ} (${got[differ]} against ${dense[differ]})`).toBe(-1);
    const counts = new Uint32Array(r.steps.buffer).filter((_, i) => i % (K + 1) === 0 && i < list.G / list.block * (K + 1));
    expect(Math.min(...counts)).toBeLessThan(K);
  });
});

describe.runIf(hasF16)('a model with precision f16', () => {
  const config = { hidden: [64, 32], latent: 4, inputDim: 96 };
  const images = noisyPatterns(256, 96, 31);

  const train = async (precision: 'f32' | 'f16') => {
    const vae = await VAE.create(config, { device, batch: 32, lr: 3e-3, seed: 7, lossEvery: 4, precision });
    const data = vae.upload({ images, count: 256, name: 'f16-test' });
    // The importance-sampled log-likelihood too: one more graph, at another row count.
    return trainAndProbe(vae, data, 24, 32, async (v) => ({ ll: await v.logLikelihood(data, { samples: 8, seed: 3 }) }));
  };

  it('keeps its hidden activations as f16 and trains like the f32 model', async () => {
    const [full, half] = [await train('f32'), await train('f16')];
    expect(expectF16Tracks(full, half, 0.9999)).toEqual(['decoder.layers.0', 'decoder.layers.1', 'encoder.layers.0', 'encoder.layers.1']);
    expect(half.losses.at(-1)!).toBeLessThan(half.losses[0] * 0.95);
    expect(Math.abs(half.ll.nll - full.ll.nll), `-log p(x) f16 ${half.ll.nll} f32 ${full.ll.nll}`).toBeLessThan(0.005 * Math.abs(full.ll.nll));
    expect(half.samples.length).toBe(5 * 96);
  });

  it('trains a conditional model with the IWAE objective', async () => {
    const labels = Uint8Array.from({ length: 256 }, (_, i) => i % 8);
    const run = async (precision: 'f32' | 'f16') => {
      const vae = await VAE.create({ ...config, classes: 8, objective: 'iwae', samples: 4 }, { device, batch: 32, lr: 3e-3, seed: 9, lossEvery: 4, precision });
      const data = vae.upload({ images, count: 256, labels, name: 'f16-cvae' });
      const losses: number[] = [];
      for (let i = 0; i < 8; i++) {
        await vae.trainStep({ data, index: i });
        if (i % 4 === 3) losses.push(...(await vae.readLosses()).map((l) => l.loss));
      }
      vae.destroy();
      return losses;
    };
    const [full, half] = [await run('f32'), await run('f16')];
    expect(half).toHaveLength(full.length);
    half.forEach((l, i) => expect(Math.abs(l - full[i]), `loss ${i}: f16 ${l} f32 ${full[i]}`).toBeLessThan(0.005 * full[i]));
  });

});
