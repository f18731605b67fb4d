// Conv2d (PyTorch nn.Conv2d) with a fused activation: y = act(conv(x, W) + b), NCHW, W stored
// [out, in, k, k] and b [out] in the flat parameter buffer. Input and output are one example's
// [C, H, W]; the tensors are [rows, C, H, W] (a dense layer's [rows, C*H*W] output works too,
// through a reshape). Backward, from dy:
//   dPre = dy * act'(y)      folded into the consumer's kernel when it could (dy.pre), else one
//                            activation_backward dispatch
//   dW = conv2dWeightGrad(dPre, x),  db = the channel sum of dPre
//   dx = conv2dInputGrad(dPre, W) with act'(x) of the layer below folded into the epilogue, so
//                            the gradient handed back is already with respect to its pre-activation
// Kernels: shaders/conv.ts (or conv-im2col.ts with the matmuls), chosen in conv-ops.ts.
// Reference: tests/reference/conv.ts.
import { activationBackward, type Activation } from '../../../shaders/activation';
import { convOutputSize, type ConvGeometry } from '../../../shaders/conv';
import { halfNames, type Tensor } from '../../tensor';
import { recordConvBiasGrad, recordConvForward, recordConvInputGrad, recordConvWeightGrad } from './conv-ops';
import { actGradInput, recordActivated, weightBound, type Backward, type Grad, type Module, type ParamSpec, type Recorder, type WeightInit } from '../module';

export interface Conv2dSpec {
  /** Output channels. */
  out: number;
  /** Square kernel side. */
  kernel: number;
  /** Default 1. */
  stride?: number;
  /** Zero padding on every side; default 0. */
  padding?: number;
  activation: Activation;
  /** Weight initialization (module.ts WeightInit); default PyTorch's. */
  init?: WeightInit;
}

/** [C, H, W] of one example, or a clear error naming the layer and the fix. */
export function imageShape(layer: string, kind: string, input: readonly number[]): [number, number, number] {
  if (input.length !== 3 || !input.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`${kind} ${layer}: expects each example as [channels, height, width], got [${input}]; put a reshape layer (e.g. { type: 'reshape', shape: [1, 28, 28] }) before it`);
  }
  return [input[0], input[1], input[2]];
}

export class Conv2d implements Module {
  readonly inShape: [number, number, number];
  readonly stride: number;
  readonly padding: number;

  constructor(readonly name: string, input: readonly number[], readonly spec: Conv2dSpec) {
    this.inShape = imageShape(name, 'conv2d', input);
    this.stride = spec.stride ?? 1;
    this.padding = spec.padding ?? 0;
    this.outputShape(input);
  }

  params(): ParamSpec[] {
    const { out, kernel } = this.spec, fanIn = this.inShape[0] * kernel * kernel;
    const bound = 1 / Math.sqrt(fanIn); // PyTorch's default: kaiming_uniform(a = sqrt(5)) reduces to this
    return [
      { name: `${this.name}.weight`, shape: [out, this.inShape[0], kernel, kernel], init: { kind: 'uniform', bound: weightBound(this.spec.init, fanIn) } },
      { name: `${this.name}.bias`, shape: [out], init: { kind: 'uniform', bound } },
    ];
  }

  /**
   * [out, OH, OW] with OH = floor((H + 2 padding - kernel) / stride) + 1. Refused when the
   * kernel does not fit, or when the last rows or columns of the input would be read by no
   * window (they would get no gradient, and a mirrored decoder could not rebuild the size).
   */
  outputShape(input: readonly number[]): number[] {
    const [C, H, W] = imageShape(this.name, 'conv2d', input);
    if (C !== this.inShape[0]) throw new Error(`conv2d ${this.name}: built for ${this.inShape[0]} input channels, got [${input}]`);
    const { kernel: k } = this.spec, s = this.stride, p = this.padding;
    const what = `input ${H}x${W} with kernel ${k}, stride ${s}, padding ${p}`;
    const size = (n: number) => {
      try { return convOutputSize(n, k, s, p); } catch { throw new Error(`conv2d ${this.name}: ${what}: the kernel is larger than the padded input; use a smaller kernel or more padding`); }
    };
    const OH = size(H), OW = size(W);
    for (const [n, o, axis] of [[H, OH, 'rows'], [W, OW, 'columns']] as const) {
      const lastRead = (o - 1) * s - p + k - 1;
      if (lastRead < n - 1) {
        throw new Error(`conv2d ${this.name}: ${what} leaves input ${axis} ${lastRead + 1}..${n - 1} unread (${o} outputs); ` +
          `choose padding or kernel so that (size + 2 padding - kernel) is a multiple of the stride, e.g. padding ${p + 1}`);
      }
    }
    return [this.spec.out, OH, OW];
  }

  geometry(rows: number): ConvGeometry {
    const [C, H, W] = this.inShape;
    return { batch: rows, inChannels: C, inHeight: H, inWidth: W, outChannels: this.spec.out, kernel: this.spec.kernel, stride: this.stride, padding: this.padding };
  }

  forward(g: Recorder, x: Tensor): { y: Tensor; backward: Backward } {
    const rows = x.shape[0];
    const features = x.size / rows;
    if (features !== this.inShape.reduce((a, b) => a * b, 1)) throw new Error(`conv2d ${this.name}: expects [rows, ${this.inShape}], got [${x.shape}]`);
    const { activation, out } = this.spec;
    const geom = this.geometry(rows);
    const [, OH, OW] = this.outputShape(this.inShape);
    const y = g.tensor(this.name, [rows, out, OH, OW]);
    if (g.precision === 'f16' && activation !== 'none') y.dtype = 'f16'; // a hidden activation (precision.ts)
    recordActivated(g, y, activation, (c, act) => recordConvForward(g, geom, x, g.param(`${this.name}.weight`), c, { bias: g.param(`${this.name}.bias`), activation: act }));
    const backward: Backward = (gb, dy, needInputGrad) => {
      let dPre = dy.t;
      if (!dy.pre && activation !== 'none') {
        dPre = gb.tensor(`d_${this.name}.pre`, y.shape);
        gb.graph.add(activationBackward({ activation, count: y.size, f16: halfNames({ y }) }), { y: actGradInput(y), dy: dy.t, dx: dPre });
      }
      recordConvWeightGrad(gb, geom, dPre, x, gb.grad(`${this.name}.weight`));
      recordConvBiasGrad(gb, { batch: rows, channels: out, pixels: OH * OW }, dPre, gb.grad(`${this.name}.bias`), `d_${this.name}.bias`);
      if (!needInputGrad) return null;
      const below = x.activation as Activation;
      const dx = gb.tensor(`d_${this.name}.in`, x.shape);
      recordConvInputGrad(gb, geom, dPre, gb.param(`${this.name}.weight`), dx, { gradActivation: below, below: actGradInput(x) });
      return { t: dx, pre: true } satisfies Grad;
    };
    return { y, backward };
  }
}
