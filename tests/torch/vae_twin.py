# The webgpu-vae model written a second time, in PyTorch, from the documented checkpoint layout:
# the same module names (so `load_state_dict(strict=True)` takes a webgpu-vae checkpoint as it
# is), layers, activations, likelihoods and ELBO. It is an independent implementation to check
# the WGSL one against (tests/torch-parity.test.ts) and to compare learning curves with
# (bench/quality/torch-twin.py). Needs python3-torch (Debian) or any PyTorch >= 1.13.
import json, math, struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

LEAKY_RELU_SLOPE = 0.01
LOG_SCALE_RANGE = (-7.0, 2.0)
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def activate(name, h):
  if name == 'relu': return F.relu(h)
  if name == 'leaky_relu': return F.leaky_relu(h, LEAKY_RELU_SLOPE)
  if name == 'tanh': return torch.tanh(h)
  if name == 'sigmoid': return torch.sigmoid(h)
  if name == 'softplus': return F.softplus(h)
  if name == 'elu': return F.elu(h)  # alpha 1
  if name == 'gelu': return F.gelu(h, approximate='tanh')
  if name == 'none': return h
  raise ValueError(f'unknown activation {name}')


class Part(nn.Module):
  """A named group (encoder, decoder, likelihood) so parameter names read as in the checkpoint."""


def uniform_(t, bound):
  with torch.no_grad(): t.uniform_(-bound, bound)


# The fields a configuration may leave out, with the value the library then gives them
# (DEFAULT_CONFIG in src/model/config.ts), so a checkpoint written before a field existed, or one
# written by hand with a short config, builds here as it loads there.
DEFAULT_FIELDS = {'inputDim': 784, 'imageChannels': 1, 'arch': 'mlp', 'hidden': [400], 'channels': [], 'dense': [], 'norm': 'none', 'normGroups': 8,
                  'upsample': 'transposed', 'latent': 20, 'activation': 'relu', 'likelihood': 'bernoulli', 'sigma': 1, 'classes': 0}


def conv_halvings(rows, cols):
  """Stride-2 halvings the conv architecture makes by default: down to 4x4, or 7x7 for 28x28 (convHalvings)."""
  n = 0
  while rows % 2 == 0 and cols % 2 == 0 and min(rows, cols) > 7 and min(rows, cols) / 2 >= 4:
    rows, cols, n = rows // 2, cols // 2, n + 1
  return n


def with_defaults(given):
  """The shape fields as resolveConfig (src/model/config.ts) completes them: the defaults, inputDim
  from the picture's shape or the picture's sides from inputDim (whichever is given), and a conv
  model's default widths; a conv model has no hidden layers."""
  c = {**DEFAULT_FIELDS, **given}
  if 'imageShape' not in given:
    pixels = c['inputDim'] // c['imageChannels']
    side = round(math.sqrt(pixels))
    c['imageShape'] = [side, side] if side * side == pixels else [1, pixels]
  elif 'inputDim' not in given:
    c['inputDim'] = c['imageChannels'] * c['imageShape'][0] * c['imageShape'][1]
  if c['arch'] == 'conv':
    c['hidden'] = []
    if not c['channels']:
      c['channels'] = [min(32 << i, 256) for i in range(conv_halvings(*c['imageShape']))]
  return c


class TwinVAE(nn.Module):
  def __init__(self, c):
    super().__init__()
    c = with_defaults(c)
    self.c = c
    Z, D, K = c['latent'], c['inputDim'], c['classes']
    self.encoder, self.decoder = Part(), Part()
    predicted = c['likelihood'] == 'gaussian' and c['sigma'] == 'predicted'
    out_per_pixel = 2 if predicted else 1
    if c['arch'] == 'conv':
      # h x w after the n halvings: pictures need not be square.
      C = c['imageChannels']; n = len(c['channels']); h, w = c['imageShape'][0] >> n, c['imageShape'][1] >> n; last = c['channels'][-1]
      self.hw, self.last = (h, w), last
      ins = [C] + c['channels'][:-1]
      self.encoder.layers = nn.ModuleList([nn.Conv2d(i, o, 4, 2, 1) for i, o in zip(ins, c['channels'])])
      widths = [last * h * w + K] + c['dense']
      self.encoder.dense = nn.ModuleList([nn.Linear(i, o) for i, o in zip(widths[:-1], widths[1:])])
      self.encoder.head = nn.Linear(widths[-1], 2 * Z)
      rdense = [Z + K] + list(reversed(c['dense']))
      self.decoder.dense = nn.ModuleList([nn.Linear(i, o) for i, o in zip(rdense[:-1], rdense[1:])])
      self.decoder.input = nn.Linear(rdense[-1], last * h * w)
      rch = list(reversed(c['channels']))
      # Each decoder step doubles the sides: a transposed convolution, or nn.Upsample then a 3x3 one.
      grow = (lambda i, o: nn.Conv2d(i, o, 3, 1, 1)) if c['upsample'] == 'nearest' else (lambda i, o: nn.ConvTranspose2d(i, o, 4, 2, 1))
      self.doubling = nn.Upsample(scale_factor=2, mode='nearest') if c['upsample'] == 'nearest' else nn.Identity()
      self.decoder.layers = nn.ModuleList([grow(i, o) for i, o in zip(rch[:-1], rch[1:])])
      self.decoder.out = grow(rch[-1], C * out_per_pixel)
      if c['norm'] == 'group':
        groups = lambda ch: max(g for g in range(1, c['normGroups'] + 1) if ch % g == 0)
        self.encoder.norms = nn.ModuleList([nn.GroupNorm(groups(o), o, eps=1e-5) for o in c['channels']])
        self.decoder.norms = nn.ModuleList([nn.GroupNorm(groups(o), o, eps=1e-5) for o in rch[1:]])
    else:
      hidden = c['hidden']
      enc = [D + K] + hidden
      self.encoder.layers = nn.ModuleList([nn.Linear(i, o) for i, o in zip(enc[:-1], enc[1:])])
      self.encoder.head = nn.Linear(enc[-1], 2 * Z)
      dec = [Z + K] + list(reversed(hidden))
      self.decoder.layers = nn.ModuleList([nn.Linear(i, o) for i, o in zip(dec[:-1], dec[1:])])
      self.decoder.out = nn.Linear(dec[-1], D * out_per_pixel)
    if c['likelihood'] == 'gaussian' and c['sigma'] in ('learned', 'learned-pixel'):
      self.likelihood = Part()
      self.likelihood.log_sigma = nn.Parameter(torch.zeros(D if c['sigma'] == 'learned-pixel' else 1))

  def kaiming_init(self):
    """webgpu-vae's --init kaiming for conv models: ReLU-gain uniform weights on the hidden convolutions,
    PyTorch's default elsewhere (decoder.out included: no activation follows it)."""
    for m in list(self.encoder.layers) + list(getattr(self.decoder, 'layers', [])):
      taps = m.kernel_size[0] * m.kernel_size[1] if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) else 0
      if isinstance(m, nn.Conv2d): fan_in = m.in_channels * taps
      elif isinstance(m, nn.ConvTranspose2d): fan_in = m.out_channels * taps
      else: continue
      uniform_(m.weight, math.sqrt(6 / fan_in)); uniform_(m.bias, 1 / math.sqrt(fan_in))

  def _norm(self, part, i, h):
    """The activation after layer i, through its GroupNorm when the model has them."""
    norms = getattr(part, 'norms', None)
    return activate(self.c['activation'], norms[i](h) if norms is not None else h)

  def encode(self, x, onehot):
    c = self.c
    if c['arch'] == 'conv':
      h = x.view(-1, c['imageChannels'], *c['imageShape'])
      for i, conv in enumerate(self.encoder.layers):
        h = self._norm(self.encoder, i, conv(h))
      h = torch.cat([h.flatten(1), onehot], 1)
      for d in self.encoder.dense: h = activate(c['activation'], d(h))
    else:
      h = torch.cat([x, onehot], 1)
      for d in self.encoder.layers: h = activate(c['activation'], d(h))
    q = self.encoder.head(h)
    return q[:, :c['latent']], q[:, c['latent']:]

  def decode(self, z, onehot):
    c = self.c
    h = torch.cat([z, onehot], 1)
    if c['arch'] == 'conv':
      for d in self.decoder.dense: h = activate(c['activation'], d(h))
      h = activate(c['activation'], self.decoder.input(h)).view(-1, self.last, *self.hw)
      for i, t in enumerate(self.decoder.layers):
        h = self._norm(self.decoder, i, t(self.doubling(h)))
      return self.decoder.out(self.doubling(h)).flatten(1)
    for d in self.decoder.layers: h = activate(c['activation'], d(h))
    return self.decoder.out(h)

  def nll(self, out, x):
    """-log p(x | decoder output) per row, summed over pixels."""
    c = self.c; D = c['inputDim']
    if c['likelihood'] == 'bernoulli':
      return F.binary_cross_entropy_with_logits(out, x, reduction='none').sum(1)
    if c['sigma'] == 'predicted':
      m, s = out[:, :D], out[:, D:].clamp(*LOG_SCALE_RANGE)
    elif c['sigma'] in ('learned', 'learned-pixel'):
      m, s = out, self.likelihood.log_sigma.clamp(*LOG_SCALE_RANGE).expand_as(out)
    else:
      m, s = out, torch.full_like(out, math.log(c['sigma']))
    return (0.5 * (x - m) ** 2 * torch.exp(-2 * s) + s + HALF_LOG_2PI).sum(1)

  def elbo_terms(self, x, eps, onehot):
    """Per example: rec (averaged over the L samples whose noise is eps [L*B, Z], row l*B + b) and KL."""
    B, L = x.shape[0], eps.shape[0] // x.shape[0]
    mu, logvar = self.encode(x, onehot)
    z = mu.repeat(L, 1) + torch.exp(0.5 * logvar).repeat(L, 1) * eps
    rec = self.nll(self.decode(z, onehot.repeat(L, 1)), x.repeat(L, 1)).view(L, B).mean(0)
    kl = 0.5 * (mu * mu + logvar.exp() - 1 - logvar).sum(1)
    return rec, kl


def read_safetensors(path):
  with open(path, 'rb') as f:
    n = struct.unpack('<Q', f.read(8))[0]
    header = json.loads(f.read(n))
    data = f.read()
  meta = header.pop('__metadata__', {})
  tensors = {}
  for name, t in header.items():
    assert t['dtype'] == 'F32', f'{name}: {t["dtype"]} (only F32 is read)'
    a, b = t['data_offsets']
    tensors[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype='<f4').reshape(t['shape']).copy())
  return tensors, meta


def write_safetensors(path, tensors, meta):
  header, blobs, off = {'__metadata__': meta}, [], 0
  for name in sorted(tensors):
    b = tensors[name].detach().to(torch.float32).contiguous().numpy().astype('<f4').tobytes()
    header[name] = {'dtype': 'F32', 'shape': list(tensors[name].shape), 'data_offsets': [off, off + len(b)]}
    blobs.append(b); off += len(b)
  h = json.dumps(header).encode()
  h += b' ' * ((8 - len(h) % 8) % 8)
  with open(path, 'wb') as f:
    f.write(struct.pack('<Q', len(h))); f.write(h)
    for b in blobs: f.write(b)
