// Float64 reference of the whole model's loss, written from the documented checkpoint layout
// (docs/ARCHITECTURE.md, "Checkpoint names") and NOT from the library's own layer lists, so a
// wiring error in src/ is not copied here:
//   encoder.layers.{i}.weight [h_i, in], .bias [h_i]   hidden layers, activation after each
//   encoder.head.weight [2Z, h], .bias [2Z]             rows 0..Z-1 give mu, Z..2Z-1 logvar
//   decoder.layers.{i}.weight/bias                      hidden sizes mirrored, activation after each
//   decoder.out.weight [D, h], .bias [D]                logits (Bernoulli) or means (Gaussian)
//                      [2D, h], [2D] (predicted scale)  means, then log-scales clamped to [-7, 2]
//   likelihood.log_sigma [1] or [D]                     learned Gaussian scale
// A conditional model's first encoder layer sees [x, onehot(label)] and its first decoder layer
// [z, onehot(label)]. The conv architecture (arch 'conv', NCHW examples [C, H, W]):
//   encoder.layers.{i}.weight [c_i, c_{i-1}, 4, 4], .bias [c_i]   Conv2d stride 2 padding 1, activation
//   encoder.dense.{j}.weight [d_j, in], .bias [d_j]               optional dense layers after flattening
//                                                                 (C, H, W order; + classes beside it), activation
//   encoder.head.weight [2Z, d_last or c_last h w (+ classes)]    rows 0..Z-1 mu, Z..2Z-1 logvar
//   decoder.dense.{j}.weight [d_{m-1-j}, in]                      the dense widths reversed, activation
//   decoder.input.weight [c_last h w, d_0 or Z (+ classes)]       dense, activation, viewed as [c_last, h, w]
//   decoder.layers.{i}.weight [c_{n-1-i}, c_{n-2-i}, 4, 4]        ConvTranspose2d stride 2 padding 1, activation
//   decoder.out.weight [c_0, C (2C when predicted), 4, 4]         ConvTranspose2d to the image, no activation
// with h = H / 2^n, w = W / 2^n. With norm 'group', every hidden convolution (not decoder.out)
// has no activation of its own and is followed by
//   encoder.norms.{i} / decoder.norms.{i} .weight [c], .bias [c]  nn.GroupNorm(g, c), activation after
// where g is the largest divisor of c that is at most normGroups. With upsample 'nearest', each
// decoder step is a 2x nearest-neighbour upsampling, then an nn.Conv2d of the same name:
//   decoder.layers.{i}.weight [c_{n-2-i}, c_{n-1-i}, 3, 3], decoder.out.weight [C, c_0, 3, 3]
// (stride 1, padding 1), written here from nn.Upsample's definition.
// The objective parts come from tests/reference/objectives.ts.
import type { Activation } from '../../shaders/activation';
import { conv2dRef, convTranspose2dRef } from './conv';
import { groupNormRef } from './group-norm';
import { elboObjectiveRef, iwaeObjectiveRef } from './objectives';
import { tcvaeObjectiveRef } from './tc';

export interface RefConfig {
  inputDim: number;
  hidden: number[];
  latent: number;
  /** Every activation of the kernels but 'none': a new one fails to compile `activate` below until it is added there. */
  activation: Exclude<Activation, 'none'>;
  likelihood: 'bernoulli' | 'gaussian';
  sigma: number | 'learned' | 'learned-pixel' | 'predicted';
  samples: number;
  objective: 'elbo' | 'iwae' | 'tcvae';
  beta: number;
  /** beta-TCVAE's estimator (absent: 'mws'). */
  tcEstimator?: 'mws' | 'mss';
  freeBits: number;
  classes: number;
  arch?: 'mlp' | 'conv';
  channels?: number[];
  /** Dense widths of the conv architecture (encoder order). */
  dense?: number[];
  /** GroupNorm after each hidden convolution, with at most normGroups groups. */
  norm?: 'none' | 'group';
  normGroups?: number;
  /** How the conv decoder doubles its sides. */
  upsample?: 'transposed' | 'nearest';
  imageShape?: [number, number];
  imageChannels?: number;
}

/** Parameters by checkpoint name, row-major as PyTorch stores them. */
export type RefParams = Map<string, Float64Array>;

const LEAKY_SLOPE = 0.01; // PyTorch's nn.LeakyReLU default

function activate(kind: RefConfig['activation'], v: number): number {
  switch (kind) {
    case 'relu': return Math.max(v, 0);
    case 'leaky_relu': return v > 0 ? v : LEAKY_SLOPE * v;
    case 'tanh': return Math.tanh(v);
    case 'sigmoid': return 1 / (1 + Math.exp(-v));
    case 'softplus': return Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
    case 'elu': return v > 0 ? v : Math.expm1(v); // nn.ELU(alpha=1)
    // F.gelu(v, approximate='tanh'), as 0.5 (1 + tanh(u)) = sigmoid(2u)
    case 'gelu': return v / (1 + Math.exp(-2 * Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  }
}

function linear(p: RefParams, name: string, x: number[], act: RefConfig['activation'] | null): number[] {
  const w = p.get(`${name}.weight`)!, b = p.get(`${name}.bias`)!;
  const out: number[] = [];
  for (let o = 0; o < b.length; o++) {
    let s = b[o];
    for (let i = 0; i < x.length; i++) s += w[o * x.length + i] * x[i];
    out.push(act ? activate(act, s) : s);
  }
  if (w.length !== b.length * x.length) throw new Error(`${name}.weight has ${w.length} values, not [${b.length}, ${x.length}]`);
  return out;
}

function mlp(p: RefParams, c: RefConfig, prefix: 'encoder' | 'decoder', x: number[], outName: string): number[] {
  let h = x;
  for (let i = 0; i < c.hidden.length; i++) h = linear(p, `${prefix}.layers.${i}`, h, c.activation);
  return linear(p, `${prefix}.${outName}`, h, null);
}

const HALF = { kernel: 4, stride: 2, padding: 1 };

/** act(y), or act(GroupNorm(y)) with the named norm's affine parameters when the config normalizes. */
function normThenActivate(p: RefParams, c: RefConfig, norm: string, y: Float64Array, channels: number): Float64Array {
  if ((c.norm ?? 'none') === 'none') return y.map((v) => activate(c.activation, v));
  let groups = Math.min(channels, c.normGroups ?? 8);
  while (channels % groups !== 0) groups--;
  return groupNormRef(y, p.get(`${norm}.weight`)!, p.get(`${norm}.bias`)!, { batch: 1, channels, pixels: y.length / channels, groups }, c.activation).y;
}

function convEncoder(p: RefParams, c: RefConfig, x: number[], cond: number[]): number[] {
  const [H, W] = c.imageShape!;
  let h: ArrayLike<number> = x, C = c.imageChannels ?? 1, side = [H, W];
  c.channels!.forEach((out, i) => {
    const y = conv2dRef(h, p.get(`encoder.layers.${i}.weight`)!, p.get(`encoder.layers.${i}.bias`)!,
      { batch: 1, inChannels: C, inHeight: side[0], inWidth: side[1], outChannels: out, ...HALF });
    h = normThenActivate(p, c, `encoder.norms.${i}`, y, out);
    C = out;
    side = [side[0] / 2, side[1] / 2];
  });
  let flat = [...Array.from(h), ...cond];
  (c.dense ?? []).forEach((_, j) => { flat = linear(p, `encoder.dense.${j}`, flat, c.activation); });
  return linear(p, 'encoder.head', flat, null);
}

/** Each value of [C, H, W] copied into a 2x2 block: [C, 2H, 2W]. */
function nearest2x(x: ArrayLike<number>, C: number, H: number, W: number): Float64Array {
  const y = new Float64Array(C * 4 * H * W);
  for (let c = 0; c < C; c++) for (let i = 0; i < 2 * H; i++) for (let j = 0; j < 2 * W; j++) {
    y[(c * 2 * H + i) * 2 * W + j] = x[(c * H + (i >> 1)) * W + (j >> 1)];
  }
  return y;
}

function convDecoder(p: RefParams, c: RefConfig, z: number[], cond: number[]): number[] {
  const [H, W] = c.imageShape!, n = c.channels!.length;
  let side = [H / 2 ** n, W / 2 ** n];
  let zIn = [...z, ...cond];
  (c.dense ?? []).forEach((_, j) => { zIn = linear(p, `decoder.dense.${j}`, zIn, c.activation); });
  let h: ArrayLike<number> = linear(p, 'decoder.input', zIn, c.activation);
  const widths = [...c.channels!].reverse();
  const outChannels = (c.imageChannels ?? 1) * (c.sigma === 'predicted' ? 2 : 1);
  widths.forEach((C, i) => {
    const last = i === widths.length - 1;
    const name = last ? 'decoder.out' : `decoder.layers.${i}`;
    const out = last ? outChannels : widths[i + 1];
    const y = c.upsample === 'nearest'
      ? conv2dRef(nearest2x(h, C, side[0], side[1]), p.get(`${name}.weight`)!, p.get(`${name}.bias`)!,
        { batch: 1, inChannels: C, inHeight: 2 * side[0], inWidth: 2 * side[1], outChannels: out, kernel: 3, stride: 1, padding: 1 })
      : convTranspose2dRef(h, p.get(`${name}.weight`)!, p.get(`${name}.bias`)!,
        { batch: 1, inChannels: C, inHeight: side[0], inWidth: side[1], outChannels: out, outputPadding: 0, ...HALF });
    h = last ? y : normThenActivate(p, c, `decoder.norms.${i}`, y, out);
    side = [side[0] * 2, side[1] * 2];
  });
  return Array.from(h);
}

function encoderRef(p: RefParams, c: RefConfig, x: number[], cond: number[]): number[] {
  return c.arch === 'conv' ? convEncoder(p, c, x, cond) : mlp(p, c, 'encoder', [...x, ...cond], 'head');
}

function decoderRef(p: RefParams, c: RefConfig, z: number[], cond: number[]): number[] {
  return c.arch === 'conv' ? convDecoder(p, c, z, cond) : mlp(p, c, 'decoder', [...z, ...cond], 'out');
}

/** -log p(x_d | decoder output row), pixel d. */
function nll(c: RefConfig, p: RefParams, x: number, row: number[], d: number): number {
  const out = row[d];
  if (c.likelihood === 'bernoulli') return Math.max(out, 0) - x * out + Math.log1p(Math.exp(-Math.abs(out)));
  const ls = p.get('likelihood.log_sigma');
  const s = c.sigma === 'predicted' ? Math.min(Math.max(row[c.inputDim + d], -7), 2) : ls ? ls[ls.length > 1 ? d : 0] : Math.log(c.sigma as number);
  return (0.5 * (x - out) ** 2) / Math.exp(2 * s) + s + 0.5 * Math.log(2 * Math.PI);
}

/** mu and logvar of q(z|x) for one example (with its label for a conditional model). */
export function encodeRef(c: RefConfig, p: RefParams, x: number[], label = 0): { mu: number[]; logvar: number[] } {
  const q = encoderRef(p, c, x, c.classes > 0 ? oneHot(c.classes, label) : []);
  return { mu: q.slice(0, c.latent), logvar: q.slice(c.latent) };
}

/** log p(x | z) summed over pixels. */
export function logLikelihoodRef(c: RefConfig, p: RefParams, x: number[], z: ArrayLike<number>, label = 0): number {
  const out = decoderRef(p, c, Array.from(z), c.classes > 0 ? oneHot(c.classes, label) : []);
  let s = 0;
  for (let d = 0; d < x.length; d++) s -= nll(c, p, x[d], out, d);
  return s;
}

const oneHot = (classes: number, label: number) => Array.from({ length: classes }, (_, k) => (k === label ? 1 : 0));

export interface LossInput {
  /** Targets [B, D]; rows b >= valid are padding. */
  x: ArrayLike<number>;
  labels?: ArrayLike<number>;
  /** Noise [S*B, Z], row s*B + b. */
  eps: ArrayLike<number>;
  batch: number;
  valid: number;
  /** Weight of the KL term this step (beta times the warm-up ramp; the ramp alone for beta-TCVAE). */
  klWeight: number;
  /** The KL capacity C of this step (capacity-controlled ELBO; undefined: off). */
  klCapacity?: number;
}

/** The training loss of one step, as the objective defines it, and its parts. */
export function vaeLossRef(c: RefConfig, p: RefParams, inp: LossInput): { loss: number; rec: number; kl: number; klPerDim?: Float64Array } {
  const { batch: B, valid } = inp;
  const D = c.inputDim, Z = c.latent, S = c.samples;
  const mulv = new Float64Array(B * 2 * Z);
  const rec = new Float64Array(S * B);
  for (let b = 0; b < B; b++) {
    const xb = Array.from({ length: D }, (_, d) => inp.x[b * D + d]);
    const cond = c.classes > 0 ? oneHot(c.classes, inp.labels![b]) : [];
    const q = encoderRef(p, c, xb, cond);
    mulv.set(q, b * 2 * Z);
    for (let s = 0; s < S; s++) {
      const z = Array.from({ length: Z }, (_, j) => q[j] + Math.exp(0.5 * q[Z + j]) * inp.eps[(s * B + b) * Z + j]);
      const out = decoderRef(p, c, z, cond);
      for (let d = 0; d < D; d++) rec[s * B + b] += nll(c, p, xb[d], out, d);
    }
  }
  const common = { batch: B, samples: S, latent: Z, validRows: valid, mulv, rec };
  if (c.objective === 'iwae') {
    const r = iwaeObjectiveRef({ ...common, eps: inp.eps });
    return { loss: r.loss, rec: r.recMean, kl: r.klMean };
  }
  if (c.objective === 'tcvae') {
    // klWeight is the warm-up ramp here; beta weighs the total correlation.
    const r = tcvaeObjectiveRef({ ...common, eps: inp.eps, klWeight: inp.klWeight, beta: c.beta, freeBits: c.freeBits, estimator: c.tcEstimator });
    return { loss: r.loss, rec: r.recMean, kl: r.klMean, klPerDim: r.klPerDim };
  }
  const r = elboObjectiveRef({ ...common, klWeight: inp.klWeight, freeBits: c.freeBits, klCapacity: inp.klCapacity });
  return { loss: r.loss, rec: r.recMean, kl: r.klMean, klPerDim: r.klPerDim };
}
