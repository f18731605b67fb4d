import { acquireBrowserDevice } from './src/gpu/device.ts';
import { VAE } from './src/model/vae.ts';
import { loadMnistNode } from './src/data/mnist.ts';
const acq = await acquireBrowserDevice();
const ds = await loadMnistNode('train', { limit: 2048 });
for (const precision of ['f32', 'f16'] as const) {
  const vae = await VAE.create({ hidden: [400], latent: 20 }, { device: { ...acq, owned: false }, batch: 128, lr: 1e-3, precision, lossEvery: 10 });
  const res = vae.upload({ images: ds.images, count: ds.count, name: 'b' });
  const t = performance.now(); const losses: number[] = [];
  for (let i = 0; i < 60; i++) { await vae.trainStep({ data: res, index: i % 16 }); if (i % 10 === 9) for (const l of await vae.readLosses()) losses.push(l.loss); }
  console.log(precision, 'ms/step', ((performance.now() - t) / 60).toFixed(0), losses.filter((_, i) => i % 10 === 9).map((l) => l.toFixed(2)).join(' '));
  vae.destroy();
}
Deno.exit(0);
