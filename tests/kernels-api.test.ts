// The stand-alone kernel API (`webgpu-vae/kernels`): a caller's own device and buffers, the
// dispatch recorded into the caller's pass, results checked against the float64 reference.
import { describe, expect, it } from 'vitest';
import { compile, concatForward, matmul, pipelineCacheFor, upsampleBackward, upsampleForward } from '../src/kernels';
import { readFloats } from '../src/gpu/buffers';
import { expectClose, f32, testData } from './helpers/compare';
import { gpu } from './helpers/gpu';
import { matmulRef } from './reference/dense';
import { upsampleBackwardRef, upsampleRef } from './reference/upsample';

describe('kernels used on their own', () => {
  it('matmul recorded into the caller\'s pass, on slices of the caller\'s buffers', async () => {
    const { device } = await gpu();
    const [M, N, K] = [9, 13, 5];
    const a = f32(testData(M * K, 1)), b = f32(testData(N * K, 2));
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    // One shared buffer holding A at offset 0 and B at offset 256 bytes, as an app's arena might.
    const inputs = device.createBuffer({ size: 256 + N * K * 4, usage });
    device.queue.writeBuffer(inputs, 0, Float32Array.from(a));
    device.queue.writeBuffer(inputs, 256, Float32Array.from(b));
    const out = device.createBuffer({ size: M * N * 4, usage });
    const k = await compile(device, matmul({ M, N, K, transB: true }));
    expect(k.bindings.map((x) => x.name)).toEqual(['a', 'b', 'c']);
    const dispatch = k.bind({ a: { buffer: inputs, offset: 0, size: M * K * 4 }, b: { buffer: inputs, offset: 256, size: N * K * 4 }, c: out });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    dispatch.record(pass);
    pass.end();
    device.queue.submit([enc.finish()]);
    expectClose(await readFloats(device, out), matmulRef(a, b, M, N, K, false, true), { atol: 1e-5, rtol: 1e-5 }, 'matmul via kernels API');
    // Compiling the same kernel again reuses the cached pipeline.
    const again = await compile(device, matmul({ M, N, K, transB: true }));
    expect(again.pipeline).toBe(k.pipeline);
    expect(pipelineCacheFor(device).size).toBeGreaterThan(0);
    inputs.destroy();
    out.destroy();
  });

  it('refuses a missing binding by name', async () => {
    const { device } = await gpu();
    const k = await compile(device, matmul({ M: 2, N: 2, K: 2 }));
    const buf = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
    expect(() => k.bind({ a: buf, c: buf })).toThrow(/needs a buffer for 'b'/);
    buf.destroy();
  });

  it('the nearest decoder\'s upsampling and the conditional models\' concatenation, on the caller\'s buffers', async () => {
    const { device } = await gpu();
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    const buffer = (values: ArrayLike<number>) => {
      const b = device.createBuffer({ size: values.length * 4, usage });
      device.queue.writeBuffer(b, 0, Float32Array.from(values));
      return b;
    };
    const run = async (kernel: Parameters<typeof compile>[1], bindings: Record<string, GPUBuffer>) => {
      (await compile(device, kernel)).bind(bindings).run();
    };
    // Odd sides and a factor of 3, so that a row or column mix-up cannot pass.
    const shape = { batch: 2, channels: 3, height: 5, width: 3, scale: 3 };
    const inputs = shape.batch * shape.channels * shape.height * shape.width, outputs = inputs * 9;
    const x = f32(testData(inputs, 3)), dy = f32(testData(outputs, 4));
    const [xb, yb, dyb, dxb] = [buffer(x), buffer(new Float32Array(outputs)), buffer(dy), buffer(new Float32Array(inputs))];
    await run(upsampleForward(shape), { x: xb, y: yb });
    await run(upsampleBackward(shape), { dy: dyb, dx: dxb });
    expectClose(await readFloats(device, yb), upsampleRef(x, shape), { atol: 0, rtol: 0 }, 'upsampleForward via kernels API');
    expectClose(await readFloats(device, dxb), upsampleBackwardRef(dy, shape), { atol: 1e-6, rtol: 1e-6 }, 'upsampleBackward via kernels API');
    // Six rows (two samples of three examples) of 4 features, each beside its example's 2-column condition.
    const [rows, features, extra, conditionRows] = [6, 4, 2, 3];
    const features6 = f32(testData(rows * features, 5)), condition = f32(testData(conditionRows * extra, 6));
    const yc = buffer(new Float32Array(rows * (features + extra)));
    await run(concatForward({ rows, features, extra, conditionRows }), { x: buffer(features6), c: buffer(condition), y: yc });
    const want = Array.from({ length: rows }, (_, r) => [...features6.slice(r * features, (r + 1) * features), ...condition.slice((r % conditionRows) * extra, (r % conditionRows + 1) * extra)]).flat();
    expectClose(await readFloats(device, yc), want, { atol: 0, rtol: 0 }, 'concatForward via kernels API');
  });
});
