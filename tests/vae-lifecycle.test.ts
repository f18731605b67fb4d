// A model on a device the caller owns, over its life: created on a device that is already gone,
// created while the app uses its own error scopes on the same device, handing out *ToBuffer
// results the app keeps and its parameter and gradient buffers, given something that is not a device, and used after destroy(). Node
// only (a caller's own Dawn device).
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors';
import { VAE } from '../src/model/vae';
import { defaultLimitsDevice } from './helpers/default-limits';
import { gpu } from './helpers/gpu';

const tiny = { hidden: [16], latent: 2 };

/** The app's own validation error, on its own labelled buffer: a copy from a buffer onto itself. */
function appMistake(device: GPUDevice): void {
  const mine = device.createBuffer({ label: 'my-app-uniforms', size: 64, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder({ label: 'my-app-frame' });
  encoder.copyBufferToBuffer(mine, 0, mine, 0, 16);
  device.queue.submit([encoder.finish()]);
  mine.destroy();
}

/** What the app reads back from a buffer it was handed, and the validation error its copy met (null: none). */
async function appReads(device: GPUDevice, buffer: GPUBuffer, bytes: number): Promise<{ values: Float32Array; error: GPUError | null }> {
  const staging = device.createBuffer({ label: 'my-app-staging', size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  device.pushErrorScope('validation');
  const encoder = device.createCommandEncoder({ label: 'my-app-readback' });
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, bytes);
  device.queue.submit([encoder.finish()]);
  const error = await device.popErrorScope();
  await staging.mapAsync(GPUMapMode.READ);
  const values = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  staging.destroy();
  return { values, error };
}

describe('creating a model on a device that is gone', () => {
  const gone = { name: 'GpuError', kind: 'device-lost', message: expect.stringMatching(/^VAE\.create: this GPU device is gone .* create the model on a new device/) };

  it('is refused when the caller destroyed the device just before, never having given it to us', async () => {
    const device = await defaultLimitsDevice();
    device.destroy(); // its lost promise has not settled yet
    await expect(VAE.create(tiny, { device, batch: 8 })).rejects.toMatchObject(gone);
  });

  it('is refused when the device was lost before we saw it', async () => {
    const device = await defaultLimitsDevice();
    device.destroy();
    await device.lost;
    await expect(VAE.create(tiny, { device, batch: 8 })).rejects.toMatchObject(gone);
  });

  it('is refused when the device is destroyed while the model compiles, rather than resolving', async () => {
    const device = await defaultLimitsDevice();
    let progressCalls = 0;
    const created = VAE.create(tiny, { device, batch: 8, onCompileProgress: () => { if (progressCalls++ === 0) device.destroy(); } });
    await expect(created).rejects.toMatchObject({ name: 'GpuError', kind: 'device-lost' });
    expect(progressCalls).toBeGreaterThan(0);
  });
});

describe('a device its owner destroys while the model trains', () => {
  it('fails the next read with a GpuError of kind device-lost, not the bare map error', async () => {
    const device = await defaultLimitsDevice();
    const vae = await VAE.create(tiny, { device, batch: 8 });
    const x = new Float32Array(8 * 784).fill(0.5);
    for (let i = 0; i < 3; i++) await vae.trainStep(x);
    device.destroy(); // with the steps' work and no read yet
    const error = await vae.readLosses().then(() => null, (e: unknown) => e);
    expect(error).toMatchObject({ name: 'GpuError', kind: 'device-lost', message: expect.stringMatching(/^the GPU device was lost \(destroyed\): .*[^.]\. Create the model again on a new device/) });
    vae.destroy();
  });
});

describe("the app's own error scopes on a shared device", () => {
  it('are neither popped nor filled by a model being created', async () => {
    const { device } = await gpu();
    (await VAE.create(tiny, { device, batch: 8 })).destroy(); // compiles the pipelines, so creation below compiles nothing
    const creating = VAE.create(tiny, { device, batch: 8 });
    device.pushErrorScope('validation'); // the app's scope, open while the model is created
    const vae = await creating;
    appMistake(device);
    const appScope = await device.popErrorScope();
    expect(appScope?.message ?? "nothing in the app's scope").toMatch(/same buffer.*my-app-uniforms/s);
    expect((await vae.sample(1, 1)).length).toBe(784);
    vae.destroy();
  });
});

describe('a *ToBuffer result the app keeps', () => {
  it('stays valid while the app draws at other sizes past maxPlans, and is the same buffer at the same size', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, batch: 8, maxPlans: 2 });
    const z = new Float32Array([0.5, -0.5]);
    const first = await vae.decodeToBuffer(z);
    const before = await appReads(device, first, 784 * 4);
    expect(before.error).toBeNull();
    // Each new row count keeps its result buffer; the plans the draws run in stay within maxPlans.
    const allocated = vae.allocatedBytes;
    let lent = 0;
    for (const rows of [2, 3, 4, 5, 6]) {
      await vae.decodeToBuffer(new Float32Array(2 * rows).fill(0.25));
      lent += rows * 784 * 4;
    }
    const grown = vae.allocatedBytes - allocated;
    const largestPlan = (await vae.plan('decode', 8)).graph.memory.plannedBytes;
    expect(grown).toBeGreaterThanOrEqual(lent);
    expect(grown).toBeLessThanOrEqual(lent + 2 * largestPlan);
    const after = await appReads(device, first, 784 * 4);
    expect(after.error).toBeNull();
    expect(after.values).toEqual(before.values);
    expect(await vae.decodeToBuffer(z)).toBe(first);
    expect((await vae.sample(1, 1)).length).toBe(784);
    vae.destroy();
  });
  it('refuses destroy() and mapAsync() with a ConfigError, and stays whole for the next draw; vae.destroy() frees it', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, batch: 8 });
    const lent = await vae.sampleToBuffer(2, 3);
    const before = await appReads(device, lent, 2 * 784 * 4);
    expect(() => lent.destroy()).toThrow(ConfigError);
    expect(() => lent.destroy()).toThrow(/^destroy\(\): this buffer came from vae\.sampleToBuffer\(\) and belongs to the model.*vae\.destroy\(\) frees it/);
    await expect(lent.mapAsync(GPUMapMode.READ)).rejects.toThrow(/^mapAsync\(\): this buffer came from vae\.sampleToBuffer\(\)/);
    expect(await vae.sampleToBuffer(2, 3)).toBe(lent);
    const after = await appReads(device, lent, 2 * 784 * 4);
    expect(after.error).toBeNull();
    expect(after.values).toEqual(before.values);
    vae.destroy();
    // Freed by the model: a copy from it is now the app's validation error, and destroy() is WebGPU's own again.
    expect((await appReads(device, lent, 16)).error?.message).toMatch(/destroyed/i);
    expect(() => lent.destroy()).not.toThrow();
  });

  it('advises only bindings the lent buffer\'s usage allows: read-only storage or a copy source, no vertex binding', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, batch: 8 });
    const lent = await vae.sampleToBuffer(1);
    expect([lent.usage & GPUBufferUsage.STORAGE, lent.usage & GPUBufferUsage.COPY_SRC, lent.usage & (GPUBufferUsage.VERTEX | GPUBufferUsage.UNIFORM)])
      .toEqual([GPUBufferUsage.STORAGE, GPUBufferUsage.COPY_SRC, 0]);
    const message = (() => { try { lent.destroy(); return ''; } catch (e) { return (e as Error).message; } })();
    expect(message).toMatch(/bind it read-only \(a read-only storage binding, in any shader stage, or a copy source\)/);
    expect(message).not.toMatch(/vertex/);
    vae.destroy();
  });
});

describe('vae.parameterBuffer and vae.gradientBuffer', () => {
  it('refuse destroy() and mapAsync() with a ConfigError, so the next step still trains; vae.destroy() frees them', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, batch: 8 });
    const batch = new Float32Array(8 * 784).fill(0.5);
    await vae.trainStep(batch);
    const { parameterBuffer: params, gradientBuffer: grads } = vae;
    for (const [buffer, name] of [[params, 'parameterBuffer'], [grads, 'gradientBuffer']] as const) {
      // An app's destroy() failed the model's next step with a GpuError naming the buffer.
      expect(() => buffer.destroy()).toThrow(expect.objectContaining({ name: 'ConfigError', message: expect.stringMatching(new RegExp(`^destroy\\(\\): this buffer is vae\\.${name} and belongs to the model, which writes it at every training step.*vae\\.destroy\\(\\) frees it`)) }));
      await expect(buffer.mapAsync(GPUMapMode.READ)).rejects.toThrow(new RegExp(`^mapAsync\\(\\): this buffer is vae\\.${name}`));
    }
    expect(vae.parameterBuffer).toBe(params);
    // Read-only use is still the app's: a copy of the parameters equals what the model reads.
    const copied = await appReads(device, params, params.size);
    expect(copied.error).toBeNull();
    expect(copied.values.subarray(0, 16)).toEqual((await vae.flatParameters()).subarray(0, 16));
    await vae.trainStep(batch);
    expect(Number.isFinite((await vae.readLosses()).at(-1)?.loss)).toBe(true);
    vae.destroy();
    expect(() => params.destroy()).not.toThrow();
  });
});

describe('a model destroyed while a call builds its plan', () => {
  it('refuses the call, submits nothing and holds no memory', async () => {
    const device = await defaultLimitsDevice();
    const seen: string[] = [];
    device.addEventListener('uncapturederror', (e) => seen.push((e as GPUUncapturedErrorEvent).error.message));
    let vae: VAE | null = null;
    // Destroyed as the draw's graph starts compiling: the call's await on its plan ends after it.
    vae = await VAE.create(tiny, { device, batch: 8, prepareTraining: false, onCompileProgress: (done, _total, graph) => { if (graph === 'decode' && done === 0) vae!.destroy(); } });
    await expect(vae.decodeToBuffer(new Float32Array(2 * 5))).rejects.toThrow(/this VAE was destroyed/);
    await device.queue.onSubmittedWorkDone();
    expect(seen).toEqual([]);
    expect(vae.allocatedBytes).toBe(0);
    device.destroy();
  });
});

describe('something other than a device as options.device', () => {
  async function anAdapter(): Promise<GPUAdapter> {
    await gpu(); // loads Dawn's globals and picks the driver
    const { create } = await import('webgpu');
    const adapter = await create([]).requestAdapter();
    if (!adapter) throw new Error('no WebGPU adapter');
    return adapter;
  }

  it('is a ConfigError that says what it is and what to pass', async () => {
    const { device } = await gpu();
    const adapter = await anAdapter();
    const refusal = (given: unknown) => VAE.create(tiny, { device: given as GPUDevice, batch: 8 }).then(() => null, (e: unknown) => e);
    const cases: [unknown, RegExp][] = [
      [adapter, /^options\.device is a GPUAdapter, not a GPUDevice; call adapter\.requestDevice\(\)/],
      [{ device }, /^options\.device is an object with a device but no adapter.*pass the GPUDevice itself/],
      [{ device: adapter, adapter: {}, owned: false }, /^options\.device\.device is a GPUAdapter, not a GPUDevice; call adapter\.requestDevice\(\)/],
      [{ createBuffer: 1 }, /^options\.device is not a GPUDevice \(got Object, which lacks createBuffer.*\); pass your GPUDevice/],
    ];
    for (const [given, message] of cases) {
      const error = await refusal(given);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(message);
    }
  });
});

describe('a destroyed model', () => {
  it('refuses calls with a ConfigError saying what to do', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, batch: 8 });
    const flat = await vae.flatParameters();
    vae.destroy();
    const fix = /^this VAE was destroyed; create a new model, or call destroy\(\) after your calls have finished$/;
    const sampled = await vae.sample(1).catch((e: unknown) => e);
    expect(sampled).toBeInstanceOf(ConfigError);
    expect((sampled as Error).message).toMatch(fix);
    expect(() => vae.setFlatParameters(flat)).toThrow(ConfigError);
    expect(() => vae.setFlatParameters(flat)).toThrow(fix);
    // The synchronous introspection calls too: record() was the one that still answered.
    expect(() => vae.record('eval', 8)).toThrow(fix);
  });
});
