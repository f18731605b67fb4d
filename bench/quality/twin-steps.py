# Checks a webgpu-vae run recorded by twin-steps.ts step by step against PyTorch in float64:
#  1. each step's loss and gradient, at the parameters webgpu-vae had before that step;
#  2. each step's Adam update, from webgpu-vae's own gradients (moments kept here in float64);
#  3. free runs of the twin from the same start, batches and noise, in float64 and float32, and
#     how far each is from webgpu-vae's parameters, relative to how far those have moved.
# Checks 1 and 2 isolate the step; check 3 shows how fast equal steps drift apart by rounding.
#   /usr/bin/python3 bench/quality/twin-steps.py OUT_DIR
import json, math, os, sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'tests', 'torch'))
from vae_twin import TwinVAE  # noqa: E402

d = sys.argv[1]
run = json.load(open(os.path.join(d, 'run.json')))
c, B, S, P, lr = run['config'], run['batch'], run['steps'], run['params'], run['lr']
D, Z = c['inputDim'], c['latent']
x64 = torch.from_numpy(np.fromfile(os.path.join(d, 'x.f32'), dtype='<f4').astype(np.float64)).view(S, B, D)  # as the steps read them
ours = np.fromfile(os.path.join(d, 'params.f32'), dtype='<f4').reshape(S + 1, P).astype(np.float64)
grads = np.fromfile(os.path.join(d, 'grads.f32'), dtype='<f4').reshape(S, P).astype(np.float64)
eps64 = torch.from_numpy(np.fromfile(os.path.join(d, 'eps.f32'), dtype='<f4').astype(np.float64)).view(S, B, Z)
losses = run['losses']
none = torch.zeros(B, 0, dtype=torch.float64)


def twin(dtype):
  m = TwinVAE(c).to(dtype)
  return m, dict(m.named_parameters())


def load(named, flat):
  with torch.no_grad():
    for t in run['layout']:
      named[t['name']].copy_(torch.from_numpy(flat[t['offset']:t['offset'] + t['count']]).view(t['shape']))


def flat_grad(named):
  g = np.zeros(P)
  for t in run['layout']: g[t['offset']:t['offset'] + t['count']] = named[t['name']].grad.detach().double().flatten().numpy()
  return g


def step_loss(model, k, dtype):
  rec, kl = model.elbo_terms(x64[k].to(dtype), eps64[k].to(dtype), none.to(dtype))
  return (rec + losses[k]['klWeight'] * kl).mean(), rec.mean().item(), kl.mean().item()


rel = lambda a, b: float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))
torch.set_num_threads(max(1, os.cpu_count() or 1))

# 1 and 2: the step, at webgpu-vae's own parameters.
model, named = twin(torch.float64)
m, v = np.zeros(P), np.zeros(P)
worst_grad, worst_update, worst_loss = (0, 0), (0, 0), (0, 0)
print('step  loss ours  loss twin  |dloss|   grad rel err (worst tensor)      Adam update rel err')
for k in range(S):
  load(named, ours[k]); model.zero_grad()
  loss, rec, kl = step_loss(model, k, torch.float64); loss.backward()
  g = flat_grad(named)
  per = {t['name']: rel(grads[k][t['offset']:t['offset'] + t['count']], g[t['offset']:t['offset'] + t['count']]) for t in run['layout']}
  name = max(per, key=per.get)
  m = 0.9 * m + 0.1 * grads[k]; v = 0.999 * v + 0.001 * grads[k] ** 2
  t = k + 1
  update = -lr * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
  u_err = rel(ours[k + 1] - ours[k], update)
  dl = abs(losses[k]['loss'] - loss.item())
  worst_grad = max(worst_grad, (rel(grads[k], g), t)); worst_update = max(worst_update, (u_err, t)); worst_loss = max(worst_loss, (dl / abs(loss.item()), t))
  if t <= 4 or t % 8 == 0:
    print(f'{t:4d} {losses[k]["loss"]:10.3f} {loss.item():10.3f} {dl:8.4f}   {rel(grads[k], g):.2e} ({name} {per[name]:.1e})   {u_err:.2e}')
print(f'worst over {S} steps: loss rel {worst_loss[0]:.2e} (step {worst_loss[1]}), gradient rel {worst_grad[0]:.2e} (step {worst_grad[1]}), Adam update rel {worst_update[0]:.2e} (step {worst_update[1]})')

# 3: free runs from the same start.
print('\nfree runs: loss, and distance from webgpu-vae\'s parameters / distance webgpu-vae has moved')
runs = {}
for dtype in (torch.float64, torch.float32):
  model, named = twin(dtype)
  load(named, ours[0])
  opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8)
  trace = []
  for k in range(S):
    opt.zero_grad(); loss, rec, kl = step_loss(model, k, dtype); loss.backward(); opt.step()
    p = np.zeros(P)
    for t in run['layout']: p[t['offset']:t['offset'] + t['count']] = named[t['name']].detach().double().flatten().numpy()
    trace.append((loss.item(), kl, p))
  runs[str(dtype).split('.')[-1]] = trace
print('step  ours: loss      kl   | float64 twin: loss      kl    drift | float32 twin: loss      kl    drift | f32 vs f64 drift')
for k in range(S):
  t = k + 1
  if t <= 2 or t % 8 == 0:
    moved = np.linalg.norm(ours[t] - ours[0])
    a, b = runs['float64'][k], runs['float32'][k]
    print(f'{t:4d} {losses[k]["loss"]:11.3f} {losses[k]["kl"]:7.4f} | {a[0]:11.3f} {a[1]:7.4f} {np.linalg.norm(a[2] - ours[t]) / moved:8.2e} | '
          f'{b[0]:11.3f} {b[1]:7.4f} {np.linalg.norm(b[2] - ours[t]) / moved:8.2e} | {np.linalg.norm(a[2] - b[2]) / moved:8.2e}')
