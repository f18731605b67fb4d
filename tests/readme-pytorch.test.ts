// The README's PyTorch example ("Checkpoint format") run as written on checkpoints this library
// saved: it must load them into tests/torch/vae_twin.py with strict=True and draw its pictures,
// and the loaded decoder must give the library's own decoder means for the same z. Needs a Python
// with torch, as torch-parity.test.ts does (helpers/python.ts).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '../src/checkpoint';
import { resolveConfig, type VaeConfig } from '../src/model/config';
import { VAE } from '../src/model/vae';
import { expectClose, testData } from './helpers/compare';
import { gpu } from './helpers/gpu';
import { pythonWithTorch } from './helpers/python';
import { tempDir } from './helpers/temp-dir';

const ROOT = join(__dirname, '..');
const PYTHON = pythonWithTorch();
const PLACEHOLDER = "'runs/NAME/model.safetensors'";

const WRITTEN = "'from-torch.safetensors'";

/** The README's ```python block that uses `call` (read_safetensors: loading a checkpoint; write_safetensors: writing one). */
function readmeBlock(call: 'read_safetensors' | 'write_safetensors', placeholder: string): string {
  const blocks = readFileSync(join(ROOT, 'README.md'), 'utf8').split('```python\n').slice(1).map((b) => b.slice(0, b.indexOf('```')));
  const found = blocks.filter((b) => b.includes(`${call}(`));
  expect(found, `README.md has one \`\`\`python block that calls ${call}`).toHaveLength(1);
  expect(found[0], `the example names ${placeholder}, which this test points at its own file`).toContain(placeholder);
  return found[0];
}
const readmeExample = () => readmeBlock('read_safetensors', PLACEHOLDER);

/** A checkpoint of a new model of this configuration, as the library saves it. */
const saved = (partial: Partial<VaeConfig>) => async (device: GPUDevice) => {
  const vae = await VAE.create(resolveConfig(partial), { device, batch: 4, seed: 5 });
  try { return await saveCheckpoint(vae); } finally { vae.destroy(); }
};

const cases: [string, (device: GPUDevice) => Promise<Uint8Array>][] = [
  ['MLP, Bernoulli', saved({ inputDim: 12, hidden: [9, 7], latent: 3 })],
  ['conv 1x8x8 -> 4-6 channels, dense 8, conditional (2 classes)', saved({ arch: 'conv', inputDim: 64, imageShape: [8, 8], channels: [4, 6], dense: [8], latent: 2, classes: 2 })],
  // Written by the first release, before arch, classes and the conv fields existed.
  ['a first-release checkpoint (tests/fixtures/v1-checkpoint.safetensors)', async () => new Uint8Array(readFileSync(join(__dirname, 'fixtures', 'v1-checkpoint.safetensors')))],
];

describe.skipIf(!PYTHON && !process.env.CI)("the README's PyTorch example", () => {
  it('finds a Python with torch (setup-debian.sh installs python3-torch)', () => {
    expect(PYTHON, 'no Python that imports torch: run scripts/setup-debian.sh, or set WEBGPU_VAE_PYTHON').not.toBeNull();
  });

  it.each(cases)('%s: loads the checkpoint and decodes as the library does', async (_label, make) => {
    if (!PYTHON) return; // reported by the test above
    const { device } = await gpu();
    const bytes = await make(device);
    const vae = await loadCheckpoint(bytes, { device, batch: 4 });
    const { config } = vae;
    try {
      const checkpoint = join(tempDir('webgpu-vae-readme-torch-'), 'model.safetensors');
      writeFileSync(checkpoint, bytes);
      const rows = 5;
      const z = Float32Array.from(testData(rows * config.latent, 21, -2, 2));
      // The check decodes class 0 of a conditional model on both sides.
      const labels = config.classes ? new Array<number>(rows).fill(0) : undefined;
      const ours = await vae.decode(z, labels);
      const script = `${readmeExample().replace(PLACEHOLDER, JSON.stringify(checkpoint))}
print(json.dumps(list(pictures.shape)))
print(json.dumps([list(labels.shape), labels.sum(1).tolist(), labels.argmax(1).tolist() if labels.shape[1] else []]))
with torch.no_grad():
  check = torch.tensor(${JSON.stringify(Array.from(z))}).view(${rows}, model.c['latent'])
  onehot = torch.zeros(${rows}, model.c['classes'])
  if model.c['classes']: onehot[:, 0] = 1
  print(json.dumps(torch.sigmoid(model.decode(check, onehot)).flatten().tolist()))
`;
      const r = spawnSync(PYTHON!, ['-c', script], { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 << 20 });
      expect(r.status, `the README example failed:\n${r.stderr}`).toBe(0);
      const [shape, labelRows, pictures] = r.stdout.trim().split('\n').map((line) => JSON.parse(line));
      expect(shape).toEqual([16, config.inputDim]);
      // The example's labels: one-hot rows cycling through the classes, or none for a plain model.
      const cycle = Array.from({ length: 16 }, (_, i) => i % Math.max(1, config.classes));
      expect(labelRows).toEqual(config.classes ? [[16, config.classes], new Array(16).fill(1), cycle] : [[16, 0], new Array(16).fill(0), []]);
      expectClose(pictures, ours, { atol: 1e-5, rtol: 1e-4 }, 'PyTorch decoder means against the library');
    } finally {
      vae.destroy();
    }
  }, 120_000);

  it('writes a model from PyTorch that the library reads and decodes as PyTorch does (the other example)', async () => {
    if (!PYTHON) return; // reported by the first test
    const path = join(tempDir('webgpu-vae-readme-torch-write-'), 'from-torch.safetensors');
    const rows = 4;
    const script = `${readmeBlock('write_safetensors', WRITTEN).replace(WRITTEN, JSON.stringify(path))}
with torch.no_grad():
  z = torch.linspace(-2, 2, ${rows} * model.c['latent']).view(${rows}, model.c['latent'])
  print(json.dumps(z.flatten().tolist()))
  print(json.dumps(torch.sigmoid(model.decode(z, torch.zeros(${rows}, 0))).flatten().tolist()))
`;
    const r = spawnSync(PYTHON!, ['-c', script], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.status, `the README example failed:\n${r.stderr}`).toBe(0);
    const [z, theirs] = r.stdout.trim().split('\n').map((line) => JSON.parse(line) as number[]);
    const { device } = await gpu();
    const vae = await loadCheckpoint(new Uint8Array(readFileSync(path)), { device, batch: rows });
    try {
      expect(vae.config.inputDim).toBe(784);
      expect(vae.config.latent * rows).toBe(z.length);
      expectClose(await vae.decode(Float32Array.from(z)), theirs, { atol: 1e-5, rtol: 1e-4 }, 'the library decoding a model written from PyTorch');
    } finally {
      vae.destroy();
    }
  }, 120_000);
});
