import { acquireBrowserDevice } from './src/gpu/device.ts';
import { VAE } from './src/model/vae.ts';
const acq = await acquireBrowserDevice();
const vae = await VAE.create({ hidden: [400], latent: 20 }, { device: { ...acq, owned: false }, batch: 128, precision: 'f16' });
const plan = await vae.plan('train', 128);
console.log(plan.graph.kernels.map((k: any) => k.name).filter((n: string) => n.includes('matmul')).join('\n'));
console.log(Object.values(plan.tensors).filter((t: any) => t.dtype === 'f16').map((t: any) => `${t.name} [${t.shape}] ${t.bytes}`).join('\n'));
console.log(acq.adapter);
Deno.exit(0);
