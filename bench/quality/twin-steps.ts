// Records S training steps of webgpu-vae in full, for bench/quality/twin-steps.py to check step by
// step against PyTorch: the initial parameters, every batch, every step's noise, loss, gradient
// and the parameters after it. Where a learning curve leaves its twin's, this tells whether a
// step of ours differs from PyTorch's (the gradient at our own parameters, or Adam's update from
// them) or whether equal steps drift apart by rounding alone.
//   npx tsx bench/quality/twin-steps.ts OUT_DIR [--steps=64] [--batch=64] [--channels=16,16,16,16]
//       [--dense=256] [--latent=10] [--lr=1e-3] [--warmup=200] [--seed=0] [--grey] [--drawn]
// --drawn trains on the sprites as the CLI does, drawn on the GPU into each batch
// (vae.generateSprites), and records each batch as the step read it. --replay=DIR takes the
// batches of `train --dataset dsprites-color --limit N --seed S` from export-draws.ts's order.i32
// (N from --train, 100000 by default), so the steps are the CLI run's.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderColorDsprites, DSPRITES_COLOR_COUNT } from '../../src/data/dsprites-color';
import { renderDsprites, DSPRITES_COUNT } from '../../src/data/dsprites';
import { splitGenerated } from '../../src/data/index-permutation';
import { readFloats } from '../../src/gpu/buffers';
import { acquireNodeDevice } from '../../src/gpu/node-device';
import { resolveConfig } from '../../src/model/config';
import { VAE } from '../../src/model/vae';
import { Philox } from '../../src/rng';

const args = process.argv.slice(2);
const out = args.find((a) => !a.startsWith('--'));
const flag = (name: string, fallback: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
if (!out) throw new Error('usage: twin-steps.ts OUT_DIR [--steps=64] [--batch=64] [--channels=..] [--dense=..] [--latent=..] [--lr=..] [--warmup=..] [--seed=..] [--grey]');
mkdirSync(out, { recursive: true });
const list = (s: string) => (s ? s.split(',').map(Number) : []);
const grey = args.includes('--grey'), C = grey ? 1 : 3, D = C * 4096;
const steps = Number(flag('steps', '64')), B = Number(flag('batch', '64')), seed = Number(flag('seed', '0'));
const config = resolveConfig({
  inputDim: D, imageShape: [64, 64], imageChannels: C, arch: 'conv', init: 'kaiming',
  channels: list(flag('channels', '16,16,16,16')), dense: list(flag('dense', '256')), latent: Number(flag('latent', '10')),
  warmupSteps: Number(flag('warmup', '200')),
});

// Distinct random sprites, one fresh batch a step, as bytes scaled to [0, 1] like the CLI's.
const replay = flag('replay', '');
let picks: Uint32Array;
if (replay) {
  const train = splitGenerated(grey ? DSPRITES_COUNT : DSPRITES_COLOR_COUNT, Number(flag('train', '100000')), 500, seed).train;
  const order = new Int32Array(readFileSync(join(replay, 'order.i32')).buffer.slice(0));
  picks = Uint32Array.from(order.subarray(0, steps * B), (i) => train[i]);
} else {
  picks = new Philox(seed, 7).permutation(grey ? DSPRITES_COUNT : DSPRITES_COLOR_COUNT).subarray(0, steps * B);
}
const bytes = grey ? renderDsprites(picks) : renderColorDsprites(picks);
const x = Float32Array.from(bytes, (v) => v / 255);

const { device } = await acquireNodeDevice();
const vae = await VAE.create(config, { device, batch: B, seed, lr: Number(flag('lr', '1e-3')) });
const Z = config.latent, P = vae.layout.totalFloats;
const params = new Float32Array((steps + 1) * P), grads = new Float32Array(steps * P), eps = new Float32Array(steps * B * Z);
const losses: { step: number; loss: number; rec: number; kl: number; klWeight: number }[] = [];
params.set((await vae.flatParameters()).subarray(0, P), 0);
const drawn = args.includes('--drawn') ? vae.generateSprites(picks, { colour: !grey }) : null;
const seen = new Float32Array(steps * B * D);
const started = Date.now();
for (let s = 0; s < steps; s++) {
  await vae.trainStep(drawn ? { data: drawn, index: s } : x.subarray(s * B * D, (s + 1) * B * D));
  seen.set((await readFloats(device, (await vae.plan('train', B)).tensors.x.buffer)).subarray(0, B * D), s * B * D);
  const [loss] = await vae.readLosses();
  losses.push({ step: s + 1, loss: loss.loss, rec: loss.rec, kl: loss.kl, klWeight: vae.klWeightAt(s + 1) });
  grads.set((await vae.flatGradients()).subarray(0, P), s * P);
  params.set((await vae.flatParameters()).subarray(0, P), (s + 1) * P);
  eps.set((await readFloats(device, (await vae.plan('train', B)).tensors.eps.buffer)).subarray(0, B * Z), s * B * Z);
}
const layout = vae.layout.tensors.map((t) => ({ name: t.name, shape: t.shape, offset: t.offset, count: t.count }));
writeFileSync(join(out, 'x.f32'), new Uint8Array(seen.buffer));
let differ = 0;
for (let i = 0; i < x.length; i++) if (seen[i] !== x[i]) differ++;
console.log(`batches as the steps read them: ${differ} of ${x.length} values differ from the CPU renderer's bytes / 255`);
writeFileSync(join(out, 'params.f32'), new Uint8Array(params.buffer));
writeFileSync(join(out, 'grads.f32'), new Uint8Array(grads.buffer));
writeFileSync(join(out, 'eps.f32'), new Uint8Array(eps.buffer));
writeFileSync(join(out, 'run.json'), JSON.stringify({ config, batch: B, steps, lr: Number(flag('lr', '1e-3')), params: P, layout, losses }, null, 1));
console.log(`${out}: ${steps} steps of ${B} (${((Date.now() - started) / steps / 1000).toFixed(2)} s a step with the read-backs), ${P} parameters`);
vae.destroy();
