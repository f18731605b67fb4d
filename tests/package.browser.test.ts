// In the browser harness: the BUILT kernels entry (dist/kernels.js, made by `npm run build:lib`,
// which the Node run of tests/package.test.ts performs first) on the browser's own device.
import { describe, it } from 'vitest';
import { expectClose } from './helpers/compare';
import { matmulRef } from './reference/dense';

describe('built package in the browser', () => {
  it('dist/kernels.js runs matmul on a device the test created', async () => {
    const dist = '../dist/kernels.js';
    const lib = await import(/* @vite-ignore */ dist);
    const adapter = await navigator.gpu.requestAdapter();
    const device = await adapter!.requestDevice();
    const [M, N, K] = [6, 5, 7];
    const a = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i));
    const b = Float32Array.from({ length: N * K }, (_, i) => Math.cos(i));
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    const [ga, gb] = [a, b].map((x) => { const g = device.createBuffer({ size: x.byteLength, usage }); device.queue.writeBuffer(g, 0, x); return g; });
    const c = device.createBuffer({ size: M * N * 4, usage });
    const k = await lib.compile(device, lib.matmul({ M, N, K, transB: true }));
    k.bind({ a: ga, b: gb, c }).run();
    const read = device.createBuffer({ size: M * N * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(c, 0, read, 0, M * N * 4);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    expectClose(new Float32Array(read.getMappedRange()), matmulRef(a, b, M, N, K, false, true), { atol: 1e-5, rtol: 1e-5 }, 'dist matmul in browser');
    device.destroy();
  });
});
