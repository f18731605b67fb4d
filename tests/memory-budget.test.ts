// Models too big for the device are refused when they are planned, before any step: against the
// memory budget (VaeOptions.memoryBudget, the CLI's --max-gpu-memory) with the batch that would
// fit, and on the device's own out-of-memory error. Either way nothing stays allocated.
import { describe, expect, it } from 'vitest';
import { trackBuffers } from '../bench/buffer-tracker';
import { MemoryBudgetError } from '../src/gpu/buffers';
import { buildModel } from '../src/model/build';
import { resolveConfig, type VaeConfig } from '../src/model/config';
import { VAE } from '../src/model/vae';
import { gpu } from './helpers/gpu';

const MIB = 2 ** 20;

/** Bytes of parameters, gradients and both Adam moments of `config`. */
function stateBytes(config: Partial<VaeConfig>): number {
  return buildModel(resolveConfig(config)).layout.totalFloats * 4 * 4;
}

/** The budget refusal of creating `config` at `batch` under `budget`, and the buffers left alive after it. */
async function refusal(device: GPUDevice, config: Partial<VaeConfig>, batch: number, budget: number) {
  const tracker = trackBuffers(device);
  try {
    const error = await VAE.create(config, { device, batch, memoryBudget: budget }).then(
      (vae) => { vae.destroy(); return null; },
      (e: unknown) => e,
    );
    return { error, leftAlive: tracker.live };
  } finally {
    tracker.uninstall();
  }
}

const grey28: Partial<VaeConfig> = { arch: 'conv', inputDim: 784, imageShape: [28, 28], imageChannels: 1, channels: [32, 64], latent: 16 };
const colour64: Partial<VaeConfig> = { arch: 'conv', inputDim: 3 * 64 * 64, imageShape: [64, 64], imageChannels: 3, likelihood: 'gaussian', sigma: 'predicted', latent: 32 };

// Every kind of model the code builds: MLPs (plain, conditional IWAE), conv on grey 28x28 and on
// colour 64x64 with a predicted scale per pixel; each with room (MiB beside its parameters and
// optimizer state) for some examples but not the batch. Convolutions on a software adapter run
// as im2col + matmul, whose im2col matrices take about 2.5 MiB per 64x64 colour example.
const MODELS: [string, Partial<VaeConfig>, number, number][] = [
  ['MLP 784-400-20', {}, 128, 1],
  ['conditional IWAE MLP, K=5', { hidden: [256], latent: 10, classes: 10, objective: 'iwae', samples: 5 }, 64, 1],
  ['conv 1x28x28 (32-64)', grey28, 64, 1],
  ['conv 3x64x64, predicted scale', colour64, 32, 8],
];

describe('memory budget: refused at plan time with the batch that fits', () => {
  for (const [name, config, batch, roomMiB] of MODELS) {
    it(`${name} at batch ${batch}`, async () => {
      const { device } = await gpu();
      const budget = stateBytes(config) + roomMiB * MIB;
      const { error, leftAlive } = await refusal(device, config, batch, budget);
      expect(error).toBeInstanceOf(MemoryBudgetError);
      const e = error as MemoryBudgetError;
      expect(e.name).toBe('DeviceLimitError');
      expect(e.message).toMatch(new RegExp(`training step at batch ${batch} needs [\\d.]+ [KMG]iB .* budget is [\\d.]+ [KMG]iB; use a batch of \\d+ or less \\(batch; --batch in the CLI\\)`));
      expect(leftAlive).toBe(0);
      const fits = Number(/a batch of (\d+) or less/.exec(e.message)![1]);
      expect(fits).toBeGreaterThanOrEqual(1);
      expect(fits).toBeLessThan(batch);

      // The suggestion holds: at that batch the same budget takes the model, and it stays within it.
      const vae = await VAE.create(config, { device, batch: fits, memoryBudget: budget });
      expect(vae.allocatedBytes).toBeLessThanOrEqual(budget);
      vae.destroy();
    });
  }

  it('3x256x256 conv at batch 128 under 1 GiB is refused before allocating, with a batch below 128', async () => {
    const { device } = await gpu();
    const config: Partial<VaeConfig> = { arch: 'conv', inputDim: 3 * 256 * 256, imageShape: [256, 256], imageChannels: 3, likelihood: 'gaussian', sigma: 'predicted', latent: 64 };
    const { error, leftAlive } = await refusal(device, config, 128, 1024 * MIB);
    expect(error).toBeInstanceOf(MemoryBudgetError);
    const e = error as MemoryBudgetError;
    expect(e.needed).toBeGreaterThan(1024 * MIB);
    const fits = Number(/a batch of (\d+) or less/.exec(e.message)?.[1]);
    expect(fits).toBeGreaterThanOrEqual(1);
    expect(fits).toBeLessThan(128);
    expect(leftAlive).toBe(0);
  });

  it('a step that does not fit even one example: refused naming the model, not a batch', async () => {
    const { device } = await gpu();
    // 64 KiB of room: less than one picture's input and predicted location and scale (48 + 96 KiB),
    // whichever kernels the adapter runs (a GPU's implicit GEMM needs no im2col buffer).
    const { error, leftAlive } = await refusal(device, colour64, 32, stateBytes(colour64) + 64 * 1024);
    expect(error).toBeInstanceOf(MemoryBudgetError);
    expect((error as Error).message).toMatch(/training step at batch 32 needs .*; even one example does not fit: use a smaller model/);
    expect(leftAlive).toBe(0);
  });

  it('parameters alone over the budget: refused naming the model, not the batch', async () => {
    const { device } = await gpu();
    const config = { hidden: [2048, 2048], latent: 20 };
    const { error, leftAlive } = await refusal(device, config, 8, stateBytes(config) / 2);
    expect(error).toBeInstanceOf(MemoryBudgetError);
    expect((error as Error).message).toMatch(/parameters.*need [\d.]+ MiB.*more than the [\d.]+ MiB budget; use a smaller model/);
    expect((error as Error).message).not.toMatch(/--batch/);
    expect(leftAlive).toBe(0);
  });

  it('a later graph over the budget is refused whole, and the model goes on working', async () => {
    const { device } = await gpu();
    const vae = await VAE.create({ hidden: [64], latent: 4 }, { device, batch: 16 });
    const budgetBefore = vae.arena.budget;
    vae.arena.budget = vae.allocatedBytes + 4096;
    const before = vae.bufferCount;
    await expect(vae.sample(4096)).rejects.toThrow(/needs [\d.]+ [KMG]iB of GPU memory.*budget/);
    expect(vae.bufferCount).toBe(before);
    vae.arena.budget = budgetBefore;
    expect((await vae.sample(4)).length).toBe(4 * 784);
    vae.destroy();
  });

  it('a budget that is not a positive number is refused', async () => {
    const { device } = await gpu();
    await expect(VAE.create({}, { device, memoryBudget: 0 })).rejects.toThrow(/memoryBudget must be a positive number of bytes/);
    await expect(VAE.create({}, { device, memoryBudget: Number.NaN })).rejects.toThrow(/memoryBudget/);
  });
});

describe("the device's own out-of-memory error", () => {
  it('is caught at creation, reported with the planned size and the fix, and frees the model', async () => {
    const { device } = await gpu();
    // The device reports out-of-memory on the scope VAE.create opens (as a real GPU does when its
    // memory runs out): a wrapper answers that scope with an error, passing all else through.
    const scopes: GPUErrorFilter[] = [];
    const failing = new Proxy(device, {
      get(target, key) {
        if (key === 'pushErrorScope') return (filter: GPUErrorFilter) => { scopes.push(filter); target.pushErrorScope(filter); };
        if (key === 'popErrorScope') {
          return () => {
            // A scope leaves the stack when popped, as on a real device; only its result comes later.
            const filter = scopes.pop();
            return target.popErrorScope().then((real) => (filter === 'out-of-memory' ? { message: 'Out of memory allocating buffer (simulated)' } : real));
          };
        }
        const v = Reflect.get(target, key, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const tracker = trackBuffers(device);
    try {
      const err = await VAE.create({ hidden: [32], latent: 4 }, { device: failing, batch: 8 }).catch((e) => e);
      expect(err?.name).toBe('DeviceLimitError');
      expect(err.message).toMatch(/ran out of memory allocating this model \([\d.]+ [KMG]iB planned at batch 8: Out of memory.*\); use a smaller batch or model/);
      expect(tracker.live).toBe(0);
      expect(scopes).toEqual([]);
    } finally {
      tracker.uninstall();
    }
  });
});
