# One training step's loss and gradients in float64 PyTorch, for tests/torch-parity.test.ts.
# Reads a job (JSON: the model config, a checkpoint of the parameters, the batch x [B, D], the
# step's noise eps [L*B, Z], labels and the KL weight) and prints the loss, its parts and the
# gradient of every parameter tensor, by checkpoint name, as JSON.
import json, sys

import numpy as np
import torch
import torch.nn.functional as F

from vae_twin import TwinVAE, read_safetensors

torch.set_default_dtype(torch.float64)
job = json.load(open(sys.argv[1]))
c = job['config']
# The twin computes the ELBO alone; another objective would be compared against the wrong loss.
if c.get('objective', 'elbo') != 'elbo' or c.get('freeBits', 0) or c.get('klCapacity', 0):
  sys.exit(f"parity.py: the twin has the ELBO only, not objective {c.get('objective')} / free bits / capacity")
model = TwinVAE(c)
params, _ = read_safetensors(job['params'])
model.load_state_dict({k: v.to(torch.float64) for k, v in params.items()}, strict=True)
B, D, Z = job['rows'], c['inputDim'], c['latent']
x = torch.from_numpy(np.fromfile(job['x'], dtype='<f4').astype(np.float64)).view(B, D)
eps = torch.from_numpy(np.fromfile(job['eps'], dtype='<f4').astype(np.float64)).view(-1, Z)
K = c['classes']
onehot = F.one_hot(torch.tensor(job['labels']), K).to(torch.float64) if K else torch.zeros(B, 0)
rec, kl = model.elbo_terms(x, eps, onehot)
loss = (rec + job['klWeight'] * kl).mean()
loss.backward()
json.dump({
  'loss': loss.item(), 'rec': rec.mean().item(), 'kl': kl.mean().item(),
  'grads': {name: p.grad.flatten().tolist() for name, p in model.named_parameters()},
}, sys.stdout)
