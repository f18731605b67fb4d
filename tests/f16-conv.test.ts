// Half-precision activations in conv models: every kernel that reads or writes a conv model's
// activations (shaders/conv.ts in both variants, the im2col layout passes, GroupNorm, activation
// backward) with those bindings stored as f16, against float64 references computed on the
// f16-rounded inputs; then whole conv models in f16 against the same models in f32, in each
// convolution method. Runs where the adapter has `shader-f16` (the lavapipe pass of
// scripts/test-deno.sh, which requires it); elsewhere it checks that f16 is refused.
import { describe, expect, it } from 'vitest';
import { activationBackward } from '../shaders/activation';
import { conv2dForward, conv2dInputGrad, conv2dWeightGrad, CONV_VARIANTS, convDims, type ConvGeometry } from '../shaders/conv';
import { channelsToRows, col2im, im2col, rowsToChannels } from '../shaders/conv-im2col';
import { groupNormForward, groupNormInputGrad, groupNormParamGrad } from '../shaders/group-norm';
import { CONV_METHODS } from '../src/model/layers/conv-ops';
import { VAE } from '../src/model/vae';
import { compile } from '../src/kernels';
import { expectClose, testData } from './helpers/compare';
import { expectF16Tracks, noisyPatterns, trainAndProbe } from './helpers/precision-runs';
import { expectHalfClose, F16_NAN_FILL, packF16, roundF16, runHalfKernel, unpackF16 } from './helpers/f16';
import { gpu, runKernels } from './helpers/gpu';
import { channelsToRowsRef, col2imRef, conv2dInputGradRef, conv2dRef, conv2dWeightGradRef, im2colRef } from './reference/conv';
import { groupNormBackwardRef, groupNormRef } from './reference/group-norm';

const { device } = await gpu();
const hasF16 = device.features.has('shader-f16');
// `direct-subgroup` runs as `direct` where the device lacks subgroups.
const subgroups = device.features.has('subgroups');
const required = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.WEBGPU_VAE_REQUIRE_F16 === '1';

const rounded = (n: number, seed: number, lo = -1, hi = 1) => Float64Array.from(testData(n, seed, lo, hi), roundF16);
const f32 = (n: number, seed: number) => Float64Array.from(Float32Array.from(testData(n, seed)));
const relu = (v: number) => Math.max(v, 0);
const abs = (a: Float64Array) => a.map(Math.abs);
/** act'(below) for a ReLU: below holds a ReLU's output, about half zeros. */
const reluOutput = (n: number, seed: number) => rounded(n, seed).map(relu);

// Odd sizes, stride 1 and 2, padding 0 and 1, and 33 channels (more than a block of 4 or 8).
const geometries: ConvGeometry[] = [
  { batch: 2, inChannels: 3, inHeight: 9, inWidth: 7, outChannels: 5, kernel: 3, stride: 1, padding: 1 },
  { batch: 2, inChannels: 33, inHeight: 8, inWidth: 8, outChannels: 6, kernel: 4, stride: 2, padding: 1 },
  { batch: 1, inChannels: 4, inHeight: 7, inWidth: 9, outChannels: 33, kernel: 3, stride: 2, padding: 0 },
];

describe.runIf(!hasF16)('conv models in f16 without shader-f16', () => {
  it('the feature is there when this run requires it', () => expect(required).toBe(false));

  it('are refused, naming the feature', async () => {
    await expect(VAE.create({ arch: 'conv', imageShape: [8, 8], imageChannels: 1, inputDim: 64, channels: [4], latent: 2 }, { device, batch: 4, precision: 'f16' }))
      .rejects.toThrow(/needs the WebGPU feature 'shader-f16'/);
  });
});

describe.runIf(hasF16).each(CONV_VARIANTS)('conv %s with f16 activations', (variant) => {
  for (const g of geometries) {
    const d = convDims('test', g);
    const label = `${d.N}x${d.Cin}x${d.H}x${d.W} -> ${d.Cout}, k${d.K} s${d.S} p${d.P}`;
    const bias = f32(d.Cout, 3), biasIn = f32(d.Cin, 4);

    it(`${label}: forward, x and y in f16 (bias + relu)`, async () => {
      const x = rounded(d.N * d.Cin * d.HW, 1, -2, 2), w = f32(d.Cout * d.CinKK, 2);
      const ref = conv2dRef(x, w, bias, g).map(relu), magnitude = conv2dRef(abs(x), abs(w), abs(bias), g);
      const got = await runHalfKernel(conv2dForward({ ...g, variant, subgroups, bias: true, activation: 'relu', f16: ['x', 'y'] }), { x, w, bias }, 'y', ref.length);
      expectHalfClose(got, ref, magnitude, d.CinKK + 1, true, `forward ${label}`);
    });

    it(`${label}: input gradient, act'(below) with below in f16`, async () => {
      const dy = f32(d.N * d.Cout * d.OHW, 5), w = f32(d.Cout * d.CinKK, 6), below = reluOutput(d.N * d.Cin * d.HW, 7);
      const ref = conv2dInputGradRef(dy, w, g).map((v, i) => (below[i] > 0 ? v : 0)), magnitude = conv2dInputGradRef(abs(dy), abs(w), g);
      const got = await runHalfKernel(conv2dInputGrad({ ...g, variant, subgroups, gradActivation: 'relu', f16: ['below'] }), { dy, w, below }, 'dx', ref.length);
      expectHalfClose(got, ref, magnitude, d.Cout * d.KK, false, `input gradient ${label}`);
    });

    it(`${label}: a transposed convolution's forward, dy and dx in f16 (bias + relu)`, async () => {
      const dy = rounded(d.N * d.Cout * d.OHW, 8), w = f32(d.Cout * d.CinKK, 9);
      const pre = conv2dInputGradRef(dy, w, g), channel = (i: number) => Math.floor(i / d.HW) % d.Cin;
      const ref = pre.map((v, i) => relu(v + biasIn[channel(i)])), magnitude = conv2dInputGradRef(abs(dy), abs(w), g).map((v, i) => v + Math.abs(biasIn[channel(i)]));
      const got = await runHalfKernel(conv2dInputGrad({ ...g, variant, subgroups, bias: true, activation: 'relu', f16: ['dy', 'dx'] }), { dy, w, bias: biasIn }, 'dx', ref.length);
      expectHalfClose(got, ref, magnitude, d.Cout * d.KK + 1, true, `transposed forward ${label}`);
    });

    it(`${label}: weight gradient, dy and x in f16`, async () => {
      const dy = rounded(d.N * d.Cout * d.OHW, 10), x = rounded(d.N * d.Cin * d.HW, 11);
      const ref = conv2dWeightGradRef(dy, x, g), magnitude = conv2dWeightGradRef(abs(dy), abs(x), g);
      const got = await runHalfKernel(conv2dWeightGrad({ ...g, variant, subgroups, f16: ['dy', 'x'] }), { dy, x }, 'dw', ref.length);
      expectHalfClose(got, ref, magnitude, d.N * d.OHW, false, `weight gradient ${label}`);
    });
  }
});

describe.runIf(hasF16)('an app binding a sized f16 output (compile().bind())', () => {
  // An odd output count per example, so the f16 output's last word is half used.
  const g: ConvGeometry = { batch: 3, inChannels: 2, inHeight: 5, inWidth: 5, outChannels: 3, kernel: 3, stride: 2, padding: 1 };
  const d = convDims('test', g);
  const buffer = (bytes: Uint32Array | Float32Array | number) => {
    const size = typeof bytes === 'number' ? bytes : bytes.byteLength;
    const b = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    if (typeof bytes !== 'number') device.queue.writeBuffer(b, 0, new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength));
    return b;
  };

  it.each(CONV_VARIANTS)('%s: the exact size is accepted and gives the unsized kernel\'s values; 4 bytes more are refused', async (variant) => {
    const k = conv2dForward({ ...g, variant, subgroups, f16: ['x', 'y'], sizedByBinding: true });
    expect(k.exactBindings).toEqual(['y']);
    const x = rounded(d.N * d.Cin * d.HW, 21, -2, 2), w = f32(d.Cout * d.CinKK, 22), n = d.N * d.Cout * d.OHW;
    const compiled = await compile(device, k);
    const exact = k.minBytes!.y;
    expect(exact).toBe(4 * Math.ceil(n / 2));
    const xBuf = buffer(packF16(x)), wBuf = buffer(Float32Array.from(w));
    expect(() => compiled.bind({ x: xBuf, w: wBuf, y: buffer(exact + 4) })).toThrow(/binding 'y'/);
    const y = buffer(exact);
    compiled.bind({ x: xBuf, w: wBuf, y }).run();
    const read = device.createBuffer({ size: exact, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(y, 0, read, 0, exact);
    device.queue.submit([encoder.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const got = unpackF16(new Float32Array(read.getMappedRange().slice(0)), n);
    read.unmap();
    const unsized = await runHalfKernel(conv2dForward({ ...g, variant, subgroups, f16: ['x', 'y'] }), { x, w }, 'y', n);
    expect(Array.from(got)).toEqual(Array.from(unsized));
    for (const b of [xBuf, wBuf, y, read]) b.destroy();
  });
});

describe.runIf(hasF16)('im2col layout passes with f16 activations', () => {
  for (const g of geometries) {
    const d = convDims('test', g);
    const label = `${d.N}x${d.Cin}x${d.H}x${d.W}, k${d.K} s${d.S} p${d.P}`;

    it(`${label}: im2col moves x in f16 exactly, into an f32 or an f16 col`, async () => {
      const x = rounded(d.N * d.Cin * d.HW, 21, -3, 3);
      const ref = im2colRef(x, g);
      expectClose(await runHalfKernel(im2col({ ...g, f16: ['x'] }), { x }, 'col', ref.length), ref, { atol: 0, rtol: 0 }, `im2col ${label}`);
      expectClose(await runHalfKernel(im2col({ ...g, f16: ['x', 'col'] }), { x }, 'col', ref.length), ref, { atol: 0, rtol: 0 }, `im2col to f16 ${label}`);
    });

    it(`${label}: col2im with below in f16, and with dx in f16 (bias + relu)`, async () => {
      const dcol = f32(d.N * d.OHW * d.CinKK, 22), below = reluOutput(d.N * d.Cin * d.HW, 23), bias = f32(d.Cin, 24);
      const sum = col2imRef(dcol, g), magnitude = col2imRef(abs(dcol), g), terms = Math.ceil(d.K / d.S) ** 2;
      const masked = await runHalfKernel(col2im({ ...g, gradActivation: 'relu', f16: ['below'] }), { dcol, below }, 'dx', sum.length);
      expectHalfClose(masked, sum.map((v, i) => (below[i] > 0 ? v : 0)), magnitude, terms, false, `col2im act' ${label}`);
      const channel = (i: number) => Math.floor(i / d.HW) % d.Cin;
      const out = await runHalfKernel(col2im({ ...g, bias: true, activation: 'relu', f16: ['dx'] }), { dcol, bias }, 'dx', sum.length);
      expectHalfClose(out, sum.map((v, i) => relu(v + bias[channel(i)])), magnitude.map((v, i) => v + Math.abs(bias[channel(i)])), terms + 1, true, `col2im f16 dx ${label}`);
    });
  }

  it('channelsToRows moves t in f16 exactly (to f32 or f16 rows); rowsToChannels writes it (bias + relu)', async () => {
    const [N, C, P] = [3, 5, 7];
    const t = rounded(N * C * P, 31, -2, 2);
    expectClose(await runHalfKernel(channelsToRows({ batch: N, channels: C, pixels: P, f16: ['t'] }), { t }, 'rows', N * C * P), channelsToRowsRef(t, N, C, P), { atol: 0, rtol: 0 }, 'channelsToRows');
    expectClose(await runHalfKernel(channelsToRows({ batch: N, channels: C, pixels: P, f16: ['t', 'rows'] }), { t }, 'rows', N * C * P), channelsToRowsRef(t, N, C, P), { atol: 0, rtol: 0 }, 'channelsToRows to f16');
    const rows = f32(N * P * C, 32), bias = f32(C, 33);
    const ref = new Float64Array(N * C * P), magnitude = new Float64Array(N * C * P);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let p = 0; p < P; p++) {
      const v = rows[(n * P + p) * C + c];
      ref[(n * C + c) * P + p] = relu(v + bias[c]);
      magnitude[(n * C + c) * P + p] = Math.abs(v) + Math.abs(bias[c]);
    }
    const got = await runHalfKernel(rowsToChannels({ batch: N, channels: C, pixels: P, bias: true, activation: 'relu', f16: ['t'] }), { rows, bias }, 't', ref.length);
    expectHalfClose(got, ref, magnitude, 2, true, 'rowsToChannels');
    // f16 rows, read through load32 (their f32 read did not compile): moved exactly.
    const halfRows = rounded(N * P * C, 34, -2, 2);
    const moved = await runHalfKernel(rowsToChannels({ batch: N, channels: C, pixels: P, f16: ['rows'] }), { rows: halfRows }, 't', N * C * P);
    expectClose(moved, channelsToRowsRef(halfRows, N, P, C), { atol: 0, rtol: 0 }, 'rowsToChannels from f16 rows');
  });
});

describe.runIf(hasF16)('GroupNorm and activation backward with f16 activations', () => {
  const shape = { batch: 3, channels: 6, pixels: 25, groups: 2 };
  const n = shape.batch * shape.channels * shape.pixels;
  const x = rounded(n, 41, -2, 3), gamma = f32(shape.channels, 42), beta = f32(shape.channels, 43), dPre = f32(n, 44);

  // Both sweeps of a segment: a workgroup's tree sum, and one invocation alone (software adapters).
  it.each([false, true])('forward: x and y in f16 (relu); stats in f32 (serial %s)', async (serial) => {
    const ref = groupNormRef(x, gamma, beta, shape, 'relu');
    const k = groupNormForward({ ...shape, activation: 'relu', f16: ['x', 'y'], serial });
    const r = await runKernels([k], { x: packF16(x), gamma: Float32Array.from(gamma), beta: Float32Array.from(beta) }, { y: Math.ceil(n / 2), stats: shape.batch * shape.groups * 2 }, { fill: F16_NAN_FILL });
    // f16 rounding of the output (2^-11 relative) and f32 sums over 75 values.
    expectClose(unpackF16(r.y, n), ref.y, { atol: 1e-4, rtol: 2 ** -10 }, 'group norm y');
    expectClose(r.stats.filter((_, i) => i % 2 === 0), ref.mean, { atol: 1e-6, rtol: 1e-5 }, 'means');
    expectClose(r.stats.filter((_, i) => i % 2 === 1), ref.rstd, { atol: 1e-6, rtol: 1e-5 }, 'rstd');
  });

  it.each([false, true])('input and parameter gradients read x in f16 (serial input gradient %s)', async (serial) => {
    const ref = groupNormBackwardRef(x, gamma, dPre, shape);
    const stats = new Float64Array(shape.batch * shape.groups * 2);
    const { mean, rstd } = groupNormRef(x, gamma, beta, shape, 'none');
    mean.forEach((m, i) => { stats[2 * i] = m; stats[2 * i + 1] = rstd[i]; });
    const dx = await runHalfKernel(groupNormInputGrad({ ...shape, f16: ['x'], serial }), { x, stats, gamma, dy: dPre }, 'dx', n);
    expectClose(dx, ref.dx, { atol: 1e-5, rtol: 1e-4 }, 'group norm dx');
    const r = await runKernels([groupNormParamGrad({ ...shape, f16: ['x'] })], { x: packF16(x), stats: Float32Array.from(stats), dy: Float32Array.from(dPre) }, { dgamma: shape.channels, dbeta: shape.channels });
    expectClose(r.dgamma, ref.dgamma, { atol: 1e-4, rtol: 1e-4 }, 'dgamma');
    expectClose(r.dbeta, ref.dbeta, { atol: 1e-4, rtol: 1e-4 }, 'dbeta');
  });

  it("activation backward reads y in f16", async () => {
    const y = rounded(n, 45, -0.99, 0.99), dy = f32(n, 46);
    const got = await runHalfKernel(activationBackward({ kind: 'tanh', count: n, f16: ['y'] }), { y, dy }, 'dx', n);
    expectClose(got, dy.map((g, i) => g * (1 - y[i] * y[i])), { atol: 1e-7, rtol: 1e-6 }, 'tanh backward');
  });
});

describe.runIf(hasF16)('a conv model with precision f16', () => {
  const config = { arch: 'conv' as const, imageShape: [8, 8] as [number, number], imageChannels: 1, inputDim: 64, channels: [4, 8], dense: [16], latent: 3 };
  const images = noisyPatterns(128, 64, 51);

  const train = async (precision: 'f32' | 'f16', method: (typeof CONV_METHODS)[number], norm: 'none' | 'group') => {
    const vae = await VAE.create({ ...config, norm, ...(norm === 'group' ? { normGroups: 2 } : {}) }, { device, batch: 16, lr: 3e-3, seed: 5, lossEvery: 4, precision, kernels: { conv: method } });
    return trainAndProbe(vae, vae.upload({ images, count: 128, name: 'f16-conv' }), 12, 16);
  };

  for (const [method, norm] of [['direct', 'none'], ['implicit-gemm', 'group'], ['im2col', 'none'], ['im2col', 'group']] as const) {
    it(`${method} convolutions${norm === 'group' ? ' with GroupNorm' : ''}: f16 hidden feature maps, trained like f32`, async () => {
      const [full, half] = [await train('f32', method, norm), await train('f16', method, norm)];
      // Every hidden activation is f16: the activated convolutions (or the GroupNorms after them),
      // the decoder's hidden transposed convolution and the dense layers of both halves; the q
      // head, the logits and every gradient stay f32.
      const names = expectF16Tracks(full, half, 0.999);
      const maps = norm === 'group' ? ['encoder.norms.0', 'encoder.norms.1', 'decoder.norms.0'] : ['encoder.layers.0', 'encoder.layers.1', 'decoder.layers.0'];
      // With im2col, the im2col matrices of the f16 maps are f16 too (the first layer's input, the
      // data, stays f32), and so are the row-major copies of the decoder's f16 input (the view
      // `decoder.image`) and hidden map, which the transposed convolutions' weight gradients read.
      const copies = method !== 'im2col' ? [] : norm === 'group'
        ? ['encoder.norms.0.col', 'decoder.image.rows', 'decoder.norms.0.rows']
        : ['encoder.layers.0.col', 'decoder.image.rows', 'decoder.layers.0.rows'];
      expect(names, names.join(', ')).toEqual([...maps, ...copies, 'encoder.dense.0', 'decoder.dense.0', 'decoder.input'].sort());
    });
  }

  // A 1-channel 1x1 map holds one f16 value per example, which a binding rounded up to 4 bytes
  // cannot count: its kernels keep their batch in the source, and a smaller draw runs padded.
  it.each([
    ['in each convolution method', { channels: [2, 1] }],
    ['with GroupNorm', { channels: [1, 1], norm: 'group' as const, normGroups: 1 }],
  ])('a model whose bottleneck holds one value per example is built and draws in f16, %s', async (_, shape) => {
    const tiny = { arch: 'conv' as const, imageShape: [4, 4] as [number, number], imageChannels: 1, inputDim: 16, latent: 2, ...shape };
    const x = Float32Array.from({ length: 4 * 16 }, (_, i) => (Math.sin(i * 0.7) + 1) / 2);
    for (const method of CONV_METHODS) {
      const vae = await VAE.create(tiny, { device, batch: 4, seed: 2, precision: 'f16', kernels: { conv: method } });
      const all = await vae.reconstruct(x);
      expect(all.every(Number.isFinite), method).toBe(true);
      expect(await vae.reconstruct(x.subarray(0, 3 * 16)), `${method}: 3 rows as the first 3 of 4`).toEqual(all.subarray(0, 3 * 16));
      vae.destroy();
    }
  });

  it('conditional, with nearest upsampling: the labels join f16 features, the upsampled maps are f16, trained like f32', async () => {
    const labels = Uint8Array.from({ length: 128 }, (_, i) => i % 3);
    const run = async (precision: 'f32' | 'f16') => {
      const vae = await VAE.create({ ...config, classes: 3, upsample: 'nearest' }, { device, batch: 16, lr: 3e-3, seed: 5, lossEvery: 4, precision });
      return trainAndProbe(vae, vae.upload({ images, labels, count: 128, name: 'f16-cvae' }), 12, 16);
    };
    const [full, half] = [await run('f32'), await run('f16')];
    const names = expectF16Tracks(full, half, 0.999);
    // The flattened features the label joins (a view of the last map), and each 2x upsampling of an f16 map.
    for (const name of ['encoder.layers.1', 'decoder.upsample.0', 'decoder.upsample.out', 'decoder.layers.0']) expect(names, names.join(', ')).toContain(name);
  });
});
