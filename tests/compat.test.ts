// Guards across redesigns: a checkpoint written by the first release (tests/fixtures/
// v1-checkpoint.safetensors) loads and gives the outputs recorded when it was written, and seeded
// training reproduces the losses and parameters that release recorded (tests/fixtures/
// v1-golden.json: 6 steps on the first 256 MNIST training images for two configurations), to
// float32 rounding: 0.14.2 keeps the digits of small KL and likelihood terms (their series near
// 0), which moved the last bits (by up to 5e-6 relative), as did 0.15.0's Adam (1 - beta from
// float64, as PyTorch). On a software adapter the same run is also held to the bit to what
// GOLDEN_VERSION recorded (tests/fixtures/golden-VERSION.json), so that an unmeant change of any
// kernel's float operations shows. A meant one re-records it: WEBGPU_VAE_RECORD_GOLDEN=1 npx vitest
// run tests/compat.test.ts on a software adapter writes the file (GOLDEN_VERSION set to the
// package's version), and the test then checks against what it wrote.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../src/checkpoint';
import { loadMnistNode } from '../src/data/mnist-node';
import { VAE } from '../src/model/vae';
import { expectClose } from './helpers/compare';
import { gpu } from './helpers/gpu';
import { summarizeAdapter } from '../src/gpu/device';

/**
 * The goldens were recorded on a software adapter (SwiftShader), whose kernels (the register
 * matmul) and maths library give the same float operations in the same order, so there they agree
 * to the last bit. A GPU runs other kernels (the shared-memory tiled matmul sums in another
 * order) and its own exp and log, so there they agree to float32 rounding.
 */
function sameAs(device: GPUDevice, got: number[] | number[][], want: number[] | number[][], label: string): void {
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  if (!info || summarizeAdapter(info, device.features).isSoftware) {
    expect(got, label).toEqual(want);
    return;
  }
  expectClose(got.flat(), want.flat(), { atol: 1e-6, rtol: 1e-5 }, label);
}

const golden = JSON.parse(readFileSync(new URL('./fixtures/v1-golden.json', import.meta.url), 'utf8'));
/** The release whose seeded bits the software adapter must give. */
const GOLDEN_VERSION = '0.15.0';
const goldenFile = new URL(`./fixtures/golden-${GOLDEN_VERSION}.json`, import.meta.url);
const recording = !!process.env.WEBGPU_VAE_RECORD_GOLDEN;
const recorded: Record<string, { losses: number[][]; paramSum: number }> = recording && !existsSync(goldenFile) ? {} : JSON.parse(readFileSync(goldenFile, 'utf8'));

describe('compatibility with the first release', async () => {
  const train = await loadMnistNode('train', { limit: 256 });

  for (const name of ['default_small', 'gauss_learned_L2_beta']) {
    it(`seeded training reproduces the recorded losses and parameters (${name})`, async () => {
      const { device } = await gpu();
      const c = golden[name];
      const vae = await VAE.create(c.config, { device, batch: c.batch, seed: c.seed });
      const data = vae.upload(train);
      for (let i = 0; i < c.steps; i++) await vae.trainStep({ data, index: i % Math.floor(256 / c.batch) });
      const losses = (await vae.readLosses()).map((l) => [l.loss, l.rec, l.kl]);
      const params = await vae.flatParameters();
      vae.destroy();
      const paramSum = params.reduce((s, v) => s + v, 0);
      // The first release's figures, to float32 rounding (the header says why not to the bit).
      expectClose(losses.flat(), c.losses.flat(), { atol: 1e-6, rtol: 1e-5 }, 'losses against the first release');
      expectClose([paramSum], [c.paramSum], { atol: 1e-6, rtol: 1e-5 }, 'sum of the parameters against the first release');
      if (recording) {
        const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
        expect(info && summarizeAdapter(info, device.features).isSoftware, 'goldens are recorded on a software adapter').toBe(true);
        recorded[name] = { losses, paramSum };
        writeFileSync(goldenFile, `${JSON.stringify(recorded, null, 1)}\n`);
      }
      // Same kernels, same order of float operations: GOLDEN_VERSION's figures to the last bit.
      sameAs(device, losses, recorded[name].losses, 'losses');
      sameAs(device, [paramSum], [recorded[name].paramSum], 'sum of the parameters');
    });
  }

  it('a checkpoint written by the first release loads and gives the same outputs', async () => {
    const { device } = await gpu();
    const bytes = new Uint8Array(readFileSync(new URL('./fixtures/v1-checkpoint.safetensors', import.meta.url)));
    const vae = await loadCheckpoint(bytes, { device, batch: golden.default_small.batch }, 'v1-checkpoint.safetensors');
    const want = golden.checkpoint;
    const x = Float32Array.from(train.images.subarray(0, 3 * 784), (v) => v / 255);
    sameAs(device, Array.from(await vae.reconstruct(x)), want.reconstruct, 'reconstruct');
    sameAs(device, Array.from(await vae.decode(Float32Array.from(want.z))), want.decode, 'decode');
    const enc = await vae.encode(x);
    sameAs(device, Array.from(enc.mu), want.encode.mu, 'encode: mu');
    sameAs(device, Array.from(enc.logvar), want.encode.logvar, 'encode: logvar');
    sameAs(device, Array.from(await vae.sample(2, 11)), want.sample, 'sample');
    const test = vae.upload(await loadMnistNode('test', { limit: 100 }));
    const e = await vae.elbo(test, { seed: 3 });
    // Evaluation now runs in batches of the training size, so its f32 sums are grouped differently.
    expectClose([e.loss, e.rec, e.kl], [want.elbo.loss, want.elbo.rec, want.elbo.kl], { atol: 0, rtol: 1e-5 }, 'test -ELBO');
    expect(e.examples).toBe(want.elbo.examples);
    vae.destroy();
  });
});
