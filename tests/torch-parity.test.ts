// The whole model against an independent implementation: PyTorch (tests/torch/vae_twin.py),
// built from the same config, loading the model's own checkpoint tensors with
// `load_state_dict(strict=True)` and run in float64 on the same batch and the same noise. One GPU
// training step's loss, its parts and the gradient of every parameter tensor must agree. Where the
// float64 reference (tests/reference/vae.ts) and the kernels could share a misreading (a weight
// layout, a transposed convolution's geometry, GroupNorm's grouping, a likelihood's constant),
// PyTorch's own layers cannot.
//
// Needs a Python with torch (setup-debian.sh installs Debian's python3-torch). Without one the
// cases are skipped locally, and CI (CI=true) fails, so the check is never silently absent there.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readFloats } from '../src/gpu/buffers';
import { encodeSafetensors } from '../src/io/safetensors';
import { resolveConfig, type VaeConfig } from '../src/model/config';
import { VAE } from '../src/model/vae';
import { expectClose, testData } from './helpers/compare';
import { adamStepRef } from './reference/adam';
import { gpu } from './helpers/gpu';
import { pythonWithTorch } from './helpers/python';

const TWIN_DIR = join(__dirname, 'torch');

const PYTHON = pythonWithTorch();

const cases: [string, Partial<VaeConfig>][] = [
  ['MLP, Bernoulli, relu', { inputDim: 12, hidden: [9, 7], latent: 3, activation: 'relu' }],
  ['MLP, Gaussian with a learned per-pixel scale, softplus, L=2, beta 3', { inputDim: 10, hidden: [8], latent: 2, activation: 'softplus', likelihood: 'gaussian', sigma: 'learned-pixel', samples: 2, beta: 3 }],
  ['MLP, conditional (3 classes), Gaussian with a fixed sigma 0.3, tanh', { inputDim: 9, hidden: [6], latent: 2, activation: 'tanh', likelihood: 'gaussian', sigma: 0.3, classes: 3 }],
  ['conv RGB 3x16x16 -> 16-16 channels (as in the colour model: quad kernels on software adapters), dense 8, Bernoulli, relu, kaiming init', { arch: 'conv', inputDim: 768, imageShape: [16, 16], imageChannels: 3, channels: [16, 16], dense: [8], latent: 3, activation: 'relu', init: 'kaiming' }],
  ['conv 1x16x16 -> 4-6 channels, dense 8, Bernoulli, leaky_relu', { arch: 'conv', inputDim: 256, imageShape: [16, 16], channels: [4, 6], dense: [8], latent: 3, activation: 'leaky_relu' }],
  ['conv RGB 3x8x8 -> 4-6 channels, GroupNorm (2 groups), predicted scale, conditional (2 classes), tanh', { arch: 'conv', inputDim: 192, imageShape: [8, 8], imageChannels: 3, channels: [4, 6], norm: 'group', normGroups: 2, latent: 2, activation: 'tanh', likelihood: 'gaussian', sigma: 'predicted', classes: 2 }],
  ['conv 1x16x16 -> 8-8 channels, nearest upsampling, dense 8, Bernoulli, relu, kaiming init', { arch: 'conv', inputDim: 256, imageShape: [16, 16], channels: [8, 8], dense: [8], upsample: 'nearest', latent: 3, activation: 'relu', init: 'kaiming' }],
  ['conv 1x8x16 (not square) -> 4 channels, nearest upsampling, dense 6, Bernoulli, tanh', { arch: 'conv', inputDim: 128, imageShape: [8, 16], channels: [4], dense: [6], upsample: 'nearest', latent: 2, activation: 'tanh' }],
  ['MLP, Bernoulli, elu, beta 2', { inputDim: 12, hidden: [9], latent: 3, activation: 'elu', beta: 2 }],
  ['MLP, Bernoulli, gelu (tanh approximation)', { inputDim: 12, hidden: [9, 7], latent: 3, activation: 'gelu' }],
  ['conv RGB 3x8x8 -> 5 channels, Gaussian with a learned global scale, sigmoid, L=3', { arch: 'conv', inputDim: 192, imageShape: [8, 8], imageChannels: 3, channels: [5], latent: 4, activation: 'sigmoid', likelihood: 'gaussian', sigma: 'learned', samples: 3 }],
];

const B = 6, VALID = 5; // one padding row, which must change nothing
const work = mkdtempSync(join(tmpdir(), 'webgpu-vae-torch-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface TwinResult { loss: number; rec: number; kl: number; grads: Record<string, number[]> }

function runTwin(job: object, name: string): TwinResult {
  const path = join(work, `${name}.json`);
  writeFileSync(path, JSON.stringify(job));
  const r = spawnSync(PYTHON!, [join(TWIN_DIR, 'parity.py'), path], { cwd: TWIN_DIR, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`tests/torch/parity.py failed (status ${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as TwinResult;
}

describe.skipIf(!PYTHON && !process.env.CI)('training steps against PyTorch in float64 (tests/torch/vae_twin.py)', () => {
  it('finds a Python with torch (setup-debian.sh installs python3-torch)', () => {
    expect(PYTHON, 'no Python that imports torch: run scripts/setup-debian.sh, or set WEBGPU_VAE_PYTHON').not.toBeNull();
  });

  it.each(cases.map(([label, config], i) => [label, config, i] as const))('%s', async (_label, partial, i) => {
    if (!PYTHON) return; // reported by the test above
    const { device } = await gpu();
    const config = resolveConfig(partial);
    const D = config.inputDim, Z = config.latent, L = config.samples;
    const seed = 11 + i;
    const vae = await VAE.create(config, { device, batch: B, seed, lr: 1e-3 });
    try {
      const params = await vae.parameters();
      const x = Float32Array.from(testData(VALID * D, seed, 0, 1));
      const labels = Array.from({ length: VALID }, (_, b) => (b + i) % Math.max(config.classes, 1));
      await vae.trainStep(x, config.classes ? labels : undefined);
      const [step] = await vae.readLosses();
      const grads = await vae.flatGradients();
      const epsAll = await readFloats(device, (await vae.plan('train', B)).tensors.eps.buffer);
      // eps rows are l*B + b over the planned batch; the twin sees the valid rows of each sample.
      const eps = new Float32Array(L * VALID * Z);
      for (let l = 0; l < L; l++) eps.set(epsAll.subarray(l * B * Z, (l * B + VALID) * Z), l * VALID * Z);
      writeFileSync(join(work, `${i}.safetensors`), encodeSafetensors(params, {}));
      writeFileSync(join(work, `${i}-x.f32`), new Uint8Array(x.buffer));
      writeFileSync(join(work, `${i}-eps.f32`), new Uint8Array(eps.buffer));
      const twin = runTwin({
        config, params: join(work, `${i}.safetensors`), x: join(work, `${i}-x.f32`), eps: join(work, `${i}-eps.f32`),
        rows: VALID, labels, klWeight: vae.klWeightAt(1),
      }, String(i));

      expectClose([step.loss, step.rec, step.kl], [twin.loss, twin.rec, twin.kl], { atol: 1e-4, rtol: 1e-5 }, 'loss, rec, kl');
      const names = vae.layout.tensors.map((t) => t.name);
      expect(Object.keys(twin.grads).sort(), 'parameter names').toEqual([...names].sort());
      for (const t of vae.layout.tensors) {
        expectClose(grads.subarray(t.offset, t.offset + t.count), twin.grads[t.name], { atol: 2e-5, rtol: 2e-3 }, `d loss / d ${t.name}`);
      }
    } finally {
      vae.destroy();
    }
  });

  // One step right is not a training loop right: Adam's moments, its step count, the KL warm-up
  // and the noise counter all carry from step to step. At each step, the twin takes the parameters
  // the GPU had before it, and the float64 Adam takes the GPU's own gradients, so each step is
  // checked alone (free runs of two implementations part by rounding within tens of steps).
  it("four training steps in a row: each step's loss and gradients at the model's own parameters, and Adam's update from its moments", async () => {
    if (!PYTHON) return;
    const { device } = await gpu();
    const config = resolveConfig({ arch: 'conv', inputDim: 768, imageShape: [16, 16], imageChannels: 3, channels: [16, 16], dense: [8], latent: 3, activation: 'relu', init: 'kaiming', warmupSteps: 3 });
    const D = config.inputDim, Z = config.latent, lr = 3e-3, STEPS = 4;
    const vae = await VAE.create(config, { device, batch: B, seed: 29, lr });
    try {
      const P = vae.layout.totalFloats;
      let before = (await vae.flatParameters()).slice(0, P);
      let m: ArrayLike<number> = new Float64Array(P), v: ArrayLike<number> = new Float64Array(P);
      for (let s = 0; s < STEPS; s++) {
        const params = await vae.parameters();
        const x = Float32Array.from(testData(VALID * D, 40 + s, 0, 1));
        await vae.trainStep(x);
        const [step] = await vae.readLosses();
        const grads = (await vae.flatGradients()).slice(0, P);
        const after = (await vae.flatParameters()).slice(0, P);
        const eps = (await readFloats(device, (await vae.plan('train', B)).tensors.eps.buffer)).slice(0, VALID * Z);
        writeFileSync(join(work, `steps-${s}.safetensors`), encodeSafetensors(params, {}));
        writeFileSync(join(work, `steps-${s}-x.f32`), new Uint8Array(x.buffer));
        writeFileSync(join(work, `steps-${s}-eps.f32`), new Uint8Array(eps.buffer));
        const twin = runTwin({
          config, params: join(work, `steps-${s}.safetensors`), x: join(work, `steps-${s}-x.f32`), eps: join(work, `steps-${s}-eps.f32`),
          rows: VALID, labels: [], klWeight: vae.klWeightAt(s + 1),
        }, `steps-${s}`);
        expect(vae.klWeightAt(s + 1), 'the warm-up ramp').toBeCloseTo(Math.min(1, (s + 1) / 3), 12);
        expectClose([step.loss, step.rec, step.kl], [twin.loss, twin.rec, twin.kl], { atol: 1e-4, rtol: 1e-5 }, `step ${s + 1}: loss, rec, kl`);
        for (const t of vae.layout.tensors) {
          expectClose(grads.subarray(t.offset, t.offset + t.count), twin.grads[t.name], { atol: 2e-5, rtol: 2e-3 }, `step ${s + 1}: d loss / d ${t.name}`);
        }
        const ref = adamStepRef(before, grads, m, v, { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, s + 1);
        expectClose(after, ref.p, { atol: 1e-7, rtol: 1e-5 }, `step ${s + 1}: parameters after Adam`);
        expect(after.some((w, i) => w !== before[i]), `step ${s + 1} moved the parameters`).toBe(true);
        before = after; m = ref.m; v = ref.v;
      }
    } finally {
      vae.destroy();
    }
  });
});
