// The package as a consumer sees it: `npm run build:lib` output imported by name from a separate
// project in a plain Node process, one kernel run on the consumer's own device and checked against
// the float64 reference; and the model's buffer/device hygiene on a caller's device.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VAE } from '../src/model/vae';
import { expectClose } from './helpers/compare';
import { gpu } from './helpers/gpu';
import { matmulRef } from './reference/dense';

const ROOT = resolve(__dirname, '..');

/** Building the library and running it from another project takes minutes on a busy machine; this only stops a hung build. */
const BUILD_PATIENCE = 1_200_000;

describe('built package', { timeout: BUILD_PATIENCE }, () => {
  it('builds dist/ with declarations and runs a kernel when imported by name from another project', () => {
    execFileSync('npm', ['run', 'build:lib'], { cwd: ROOT, stdio: 'pipe' });
    for (const f of ['index.js', 'kernels.js', 'node.js', 'types/src/index.d.ts', 'types/src/kernels.d.ts']) {
      expect(existsSync(join(ROOT, 'dist', f)), f).toBe(true);
    }
    const consumer = mkdtempSync(join(tmpdir(), 'webgpu-vae-consumer-'));
    mkdirSync(join(consumer, 'node_modules'));
    symlinkSync(ROOT, join(consumer, 'node_modules', 'webgpu-vae'));
    writeFileSync(join(consumer, 'package.json'), '{"type":"module"}');
    writeFileSync(join(consumer, 'main.js'), `
      import { compile, matmul } from 'webgpu-vae/kernels';
      import { acquireNodeDevice, gentleWait } from 'webgpu-vae/node';
      import { VAE } from 'webgpu-vae';
      const { device } = await acquireNodeDevice();
      const [M, N, K] = [5, 3, 4];
      const a = Float32Array.from({ length: M * K }, (_, i) => (i % 7) - 3);
      const b = Float32Array.from({ length: K * N }, (_, i) => (i % 5) * 0.5 - 1);
      const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
      const bufs = [a, b].map((x) => { const g = device.createBuffer({ size: x.byteLength, usage }); device.queue.writeBuffer(g, 0, x); return g; });
      const c = device.createBuffer({ size: M * N * 4, usage });
      const k = await compile(device, matmul({ M, N, K }));
      k.bind({ a: bufs[0], b: bufs[1], c }).run();
      const read = device.createBuffer({ size: M * N * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const enc = device.createCommandEncoder(); enc.copyBufferToBuffer(c, 0, read, 0, M * N * 4); device.queue.submit([enc.finish()]);
      await gentleWait(() => read.mapAsync(GPUMapMode.READ));
      console.log(JSON.stringify({ a: [...a], b: [...b], c: [...new Float32Array(read.getMappedRange())], vae: typeof VAE.create }));
      device.destroy();
    `);
    const out = execFileSync(process.execPath, ['main.js'], { cwd: consumer, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    expect(r.vae).toBe('function');
    expectClose(r.c, matmulRef(r.a, r.b, 5, 3, 4), { atol: 1e-5, rtol: 1e-5 }, 'matmul from dist/');

    // The same built kernels entry on Deno's own WebGPU (wgpu), when a Deno binary is installed.
    const deno = join(ROOT, 'node_modules', '@deno', 'linux-x64-glibc', 'deno');
    if (!existsSync(deno)) {
      // CI installs Deno (an optional dependency for linux-x64); elsewhere say clearly that this part did not run.
      if (process.env.CI) throw new Error(`no Deno binary at ${deno}: the CI install should have provided it`);
      console.warn('package test: SKIPPED the Deno check (no Deno binary for this platform)');
      return;
    }
    writeFileSync(join(consumer, 'deno.js'), `
      import { compile, matmul } from ${JSON.stringify(join(ROOT, 'dist', 'kernels.js'))};
      const device = await (await navigator.gpu.requestAdapter()).requestDevice();
      const [M, N, K] = [5, 3, 4];
      const a = Float32Array.from({ length: M * K }, (_, i) => (i % 7) - 3);
      const b = Float32Array.from({ length: K * N }, (_, i) => (i % 5) * 0.5 - 1);
      const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
      const [ga, gb] = [a, b].map((x) => { const g = device.createBuffer({ size: x.byteLength, usage }); device.queue.writeBuffer(g, 0, x); return g; });
      const c = device.createBuffer({ size: M * N * 4, usage });
      (await compile(device, matmul({ M, N, K }))).bind({ a: ga, b: gb, c }).run();
      const read = device.createBuffer({ size: M * N * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const enc = device.createCommandEncoder(); enc.copyBufferToBuffer(c, 0, read, 0, M * N * 4); device.queue.submit([enc.finish()]);
      await read.mapAsync(GPUMapMode.READ);
      console.log(JSON.stringify({ a: [...a], b: [...b], c: [...new Float32Array(read.getMappedRange())] }));
    `);
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
    if (!env.VK_ICD_FILENAMES && !existsSync('/dev/nvidia0') && !existsSync('/dev/dri/renderD128')) env.VK_ICD_FILENAMES = '/usr/lib/chromium/vk_swiftshader_icd.json';
    const dout = execFileSync(deno, ['run', '-A', 'deno.js'], { cwd: consumer, encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
    const d = JSON.parse(dout.trim().split('\n').pop()!);
    expectClose(d.c, matmulRef(d.a, d.b, 5, 3, 4), { atol: 1e-5, rtol: 1e-5 }, 'matmul from dist/ on Deno');
  });
});

describe('model on a caller\'s device', () => {
  it('creates no device, and destroy() frees every buffer it created and none it did not', async () => {
    const { device } = await gpu();
    const mine = device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    const created = new Set<GPUBuffer>(), destroyed = new Set<GPUBuffer>();
    const createBuffer = device.createBuffer.bind(device);
    const requestDevice = GPUAdapter.prototype.requestDevice;
    let devicesRequested = 0;
    GPUAdapter.prototype.requestDevice = function (this: GPUAdapter, ...args) {
      devicesRequested++;
      return requestDevice.apply(this, args);
    };
    device.createBuffer = (desc: GPUBufferDescriptor) => {
      const b = createBuffer(desc);
      const destroy = b.destroy.bind(b);
      b.destroy = () => { destroyed.add(b); destroy(); };
      created.add(b);
      return b;
    };
    try {
      const vae = await VAE.create({ hidden: [16], latent: 2 }, { device, batch: 8 });
      await vae.trainStep(new Float32Array(8 * 784));
      await vae.sample(3);
      await vae.readLosses();
      expect(created.size).toBeGreaterThan(vae.bufferCount);
      vae.destroy();
      const leaked = [...created].filter((b) => !destroyed.has(b)).map((b) => b.label);
      expect(leaked).toEqual([]);
      expect(destroyed.has(mine)).toBe(false);
      expect(devicesRequested).toBe(0);
      device.queue.writeBuffer(mine, 0, new Float32Array(16)); // still valid, device still alive
      await device.queue.onSubmittedWorkDone();
    } finally {
      device.createBuffer = createBuffer;
      GPUAdapter.prototype.requestDevice = requestDevice;
      mine.destroy();
    }
  });
});
