// Writes the draws of a webgpu-vae training run, so bench/quality/torch-twin.py can replay them:
// the initial parameters (as a checkpoint), each epoch's visiting order of the training pictures
// and each step's noise eps [batch, latent], exactly as `train --seed S` draws them (Philox
// stream 1 for the orders, noiseAt with the step as counter for eps). With the same draws, a
// difference between the two learning curves is a difference in the training loop.
//   npx tsx bench/quality/export-draws.ts OUT_DIR --channels=16,16,16,16 --dense=256 --latent=10
//       --batch=64 --train=100000 --steps=1563 [--seed=0] [--grey]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSafetensors } from '../../src/io/safetensors';
import { buildModel } from '../../src/model/build';
import { resolveConfig } from '../../src/model/config';
import { initialParams } from '../../src/model/params';
import { noiseAt } from '../../src/noise';
import { Philox } from '../../src/rng';
import { STREAM } from '../../src/step-params';

const args = process.argv.slice(2);
const out = args.find((a) => !a.startsWith('--'));
const flag = (name: string, fallback: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
if (!out) throw new Error('usage: export-draws.ts OUT_DIR [--channels=..] [--dense=..] [--latent=..] [--batch=..] [--train=..] [--steps=..] [--seed=..] [--grey]');
const list = (s: string) => (s ? s.split(',').map(Number) : []);
const C = args.includes('--grey') ? 1 : 3;
const seed = Number(flag('seed', '0')), batch = Number(flag('batch', '64')), count = Number(flag('train', '100000')), steps = Number(flag('steps', '1563'));
const config = resolveConfig({
  inputDim: C * 4096, imageShape: [64, 64], imageChannels: C, arch: 'conv', init: 'kaiming',
  channels: list(flag('channels', '16,16,16,16')), dense: list(flag('dense', '256')), latent: Number(flag('latent', '10')),
});
const layout = buildModel(config).layout;
const flat = initialParams(layout, seed);
const tensors = Object.fromEntries(layout.tensors.map((t) => [t.name, { shape: t.shape, data: flat.slice(t.offset, t.offset + t.count) }]));
writeFileSync(join(out, 'init.safetensors'), encodeSafetensors(tensors, { format: 'webgpu-vae', version: '1', config: JSON.stringify(config) }));

// Steps of an epoch: the last takes the remainder, as the CLI's epochs do.
const perEpoch = Math.ceil(count / batch), order = new Philox(seed, 1);
const rows = new Int32Array(steps * batch).fill(-1);
let epochOrder = order.permutation(count);
for (let s = 0; s < steps; s++) {
  const inEpoch = s % perEpoch;
  if (s > 0 && inEpoch === 0) epochOrder = order.permutation(count);
  const from = inEpoch * batch, to = Math.min(count, from + batch);
  rows.set(epochOrder.subarray(from, to), s * batch);
}
const Z = config.latent, eps = new Float32Array(steps * batch * Z);
for (let s = 0; s < steps; s++) for (let e = 0; e < batch * Z; e++) eps[s * batch * Z + e] = noiseAt(e, seed, s, STREAM.train);
writeFileSync(join(out, 'order.i32'), new Uint8Array(rows.buffer));
writeFileSync(join(out, 'eps.f32'), new Uint8Array(eps.buffer));
console.log(`${out}: initial parameters, the order of ${steps} steps of ${batch} (${perEpoch} an epoch) and their noise`);
