#!/usr/bin/python3
# The same training in PyTorch (tests/torch/vae_twin.py), on the same pictures, to tell whether a
# learning curve is the model's or the implementation's: a conv VAE on (colour) dSprites exported
# by export-dsprites.ts, with webgpu-vae's layers, --init kaiming, ELBO with a linear KL warm-up,
# Adam and batch. Prints 320-step means of the training terms and the test -ELBO (one z per
# picture) as JSON lines, and writes webgpu-vae checkpoints, which `webgpu-vae eval`,
# `reconstruct` and `traverse` read as they read their own.
#   npx tsx bench/quality/export-dsprites.ts /tmp/dsprites-color 100000 500
#   /usr/bin/python3 bench/quality/torch-twin.py --data /tmp/dsprites-color --steps 1563 --save twin.safetensors
# With --replay DIR (export-draws.ts) it starts from webgpu-vae's initial weights and takes its
# batches and noise step by step, so the two runs share every draw.
import argparse, json, os, sys, time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tests', 'torch'))
from vae_twin import TwinVAE, read_safetensors, write_safetensors  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument('--data', required=True, help='folder written by export-dsprites.ts')
p.add_argument('--channels', default='16,16,16,16')
p.add_argument('--dense', default='256')
p.add_argument('--latent', type=int, default=10)
p.add_argument('--batch', type=int, default=64)
p.add_argument('--lr', type=float, default=1e-3)
p.add_argument('--warmup', type=int, default=200, help='KL weight from 0 to beta over this many steps')
p.add_argument('--beta', type=float, default=1.0)
p.add_argument('--steps', type=int, default=1563)
p.add_argument('--eval-every', type=int, default=1563)
p.add_argument('--save', default='', help='checkpoint written at the end (and every --save-every steps, suffixed)')
p.add_argument('--save-every', type=int, default=0)
p.add_argument('--threads', type=int, default=os.cpu_count())
p.add_argument('--seed', type=int, default=0)
p.add_argument('--float64', action='store_true', help='train in float64 instead of float32')
p.add_argument('--perturb', type=float, default=0, help='with --replay: scale each initial weight by (1 + PERTURB * n), n ~ N(0, 1) from --seed, to see how far rounding-sized differences carry')
p.add_argument('--replay', default='', help='folder written by export-draws.ts: start from webgpu-vae\'s initial weights and replay its batch order and noise')
a = p.parse_args()
torch.set_num_threads(a.threads)
if a.float64: torch.set_default_dtype(torch.float64)
torch.manual_seed(a.seed)

info = json.load(open(os.path.join(a.data, 'info.json')))
colour = info['dataset'] == 'dsprites-color'
C = 3 if colour else 1
fg = torch.tensor(info['shapeColours'], dtype=torch.float32) / 255 if colour else None  # [6 hues, 3]
bg = torch.tensor(info['backgroundColours'], dtype=torch.float32) / 255 if colour else None


def load(split):
  masks = np.fromfile(os.path.join(a.data, f'{split}-masks.u8'), dtype=np.uint8).reshape(-1, 64, 64)
  factors = np.fromfile(os.path.join(a.data, f'{split}-factors.u8'), dtype=np.uint8).reshape(masks.shape[0], -1)
  return torch.from_numpy(masks), torch.from_numpy(factors.astype(np.int64))


def pictures(masks, factors):
  """Planar pictures in [0, 1], as webgpu-vae's batches hold them: [B, C*64*64]."""
  m = (masks > 0).float().unsqueeze(1)
  if not colour: return m.flatten(1).to(torch.get_default_dtype())
  shape_hue, background_hue = factors[:, 0], factors[:, 1]
  return (m * fg[shape_hue][:, :, None, None] + (1 - m) * bg[background_hue][:, :, None, None]).flatten(1).to(torch.get_default_dtype())


config = {
  'inputDim': C * 4096, 'imageShape': [64, 64], 'imageChannels': C, 'arch': 'conv', 'hidden': [400],
  'channels': [int(c) for c in a.channels.split(',')], 'dense': [int(d) for d in a.dense.split(',')] if a.dense else [],
  'norm': 'none', 'normGroups': 8, 'init': 'kaiming', 'latent': a.latent, 'activation': 'relu', 'likelihood': 'bernoulli',
  'sigma': 1, 'samples': 1, 'objective': 'elbo', 'beta': a.beta, 'warmupSteps': a.warmup, 'klCycleSteps': 0, 'freeBits': 0,
  'klCapacity': 0, 'capacitySteps': 0, 'classes': 0, 'binarize': 'none', 'dequantize': False,
}
model = TwinVAE(config)
model.kaiming_init()
replay = None
if a.replay:
  init, _ = read_safetensors(os.path.join(a.replay, 'init.safetensors'))
  model.load_state_dict({k: v.to(torch.get_default_dtype()) for k, v in init.items()}, strict=True)
  if a.perturb:
    with torch.no_grad():
      for p_ in model.parameters(): p_.mul_(1 + a.perturb * torch.randn_like(p_))
  replay = (torch.from_numpy(np.fromfile(os.path.join(a.replay, 'order.i32'), dtype='<i4').astype(np.int64)).view(-1, a.batch),
            torch.from_numpy(np.fromfile(os.path.join(a.replay, 'eps.f32'), dtype='<f4')).to(torch.get_default_dtype()).view(-1, a.batch, a.latent))
  if replay[0].shape[0] < a.steps: sys.exit(f'{a.replay} holds the draws of {replay[0].shape[0]} steps, fewer than --steps {a.steps}')
opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
train_m, train_f = load('train')
test_x = pictures(*load('test'))
none = torch.zeros(a.batch, 0)


def save(step):
  path = a.save if step == a.steps else a.save.replace('.safetensors', f'-{step}.safetensors')
  meta = {'format': 'webgpu-vae', 'version': '1', 'dataset': info['dataset'], 'epochs': '0', 'step': str(step), 'seed': str(info['seed']),
          'config': json.dumps(config)}
  write_safetensors(path, model.state_dict(), meta)


N = train_m.shape[0]
order, at, window, start = torch.randperm(N), 0, [], time.time()
for step in range(1, a.steps + 1):
  if replay:  # webgpu-vae's rows (an epoch's last step may be short: -1 pads it) and noise
    rows = replay[0][step - 1]; eps = replay[1][step - 1][rows >= 0]; rows = rows[rows >= 0]
  else:
    if at + a.batch > N: order, at = torch.randperm(N), 0
    rows = order[at:at + a.batch]; at += a.batch
    eps = torch.randn(a.batch, a.latent)
  rec, kl = model.elbo_terms(pictures(train_m[rows], train_f[rows]), eps, none[:rows.shape[0]])
  weight = a.beta * min(1.0, step / a.warmup) if a.warmup > 0 else a.beta
  loss = (rec + weight * kl).mean()
  opt.zero_grad(); loss.backward(); opt.step()
  if replay and step % 16 == 0:  # as webgpu-vae's step records, to compare step for step
    print(json.dumps({'event': 'step', 'step': step, 'loss': round(loss.item(), 3), 'rec': round(rec.mean().item(), 3), 'kl': round(kl.mean().item(), 4)}), flush=True)
  window.append((rec.mean().item(), kl.mean().item()))
  if step % 320 == 0:
    print(json.dumps({'event': 'window', 'step': step, 'rec': round(float(np.mean([w[0] for w in window])), 2),
                      'kl': round(float(np.mean([w[1] for w in window])), 2), 's_per_step': round((time.time() - start) / step, 4)}), flush=True)
    window = []
  if step % a.eval_every == 0 or step == a.steps:
    with torch.no_grad():
      rec, kl = model.elbo_terms(test_x, torch.randn(test_x.shape[0], a.latent), torch.zeros(test_x.shape[0], 0))
    print(json.dumps({'event': 'test', 'step': step, 'elbo': round((rec + kl).mean().item(), 2), 'rec': round(rec.mean().item(), 2), 'kl': round(kl.mean().item(), 2)}), flush=True)
  if a.save and (step == a.steps or (a.save_every and step % a.save_every == 0)): save(step)
