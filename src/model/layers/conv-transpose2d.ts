// ConvTranspose2d (PyTorch nn.ConvTranspose2d) with a fused activation: y = act(convT(x, W) + b),
// NCHW, W stored [in, out, k, k] (PyTorch's layout for this layer) and b [out]. The output side
// is (H - 1) stride - 2 padding + kernel + outputPadding. A transposed convolution is the input
// gradient of the convolution that maps its output side back to its input side, with the same
// weight tensor read as that convolution's [out, in, k, k]; so (conv-ops.ts, in any method):
//   forward   y  = recordConvInputGrad(x, W) with the bias + activation epilogue
//   dx        = recordConvForward(dPre, W) with act'(x) of the layer below in the epilogue
//   dW        = recordConvWeightGrad with dy := x and x := dPre (the swapped correlation)
//   db        = the channel sum of dPre
// where dPre = dy * act'(y), folded into the consumer's kernel when it could (dy.pre).
// Reference: tests/reference/conv.ts (written as the transposed convolution's own scatter).
import { activationBackward, type Activation } from '../../../shaders/activation';
import type { ConvGeometry } from '../../../shaders/conv';
import { halfNames, type Tensor } from '../../tensor';
import { actGradInput, recordActivated, weightBound, type Backward, type Grad, type Module, type ParamSpec, type Recorder, type WeightInit } from '../module';
import { imageShape } from './conv2d';
import { recordConvBiasGrad, recordConvForward, recordConvInputGrad, recordConvWeightGrad } from './conv-ops';

export interface ConvTranspose2dSpec {
  /** Output channels. */
  out: number;
  /** Square kernel side. */
  kernel: number;
  /** Default 1. */
  stride?: number;
  /** Default 0: rows and columns trimmed from each side of the full output. */
  padding?: number;
  /** Default 0: extra rows and columns at the bottom and right; must be below the stride. */
  outputPadding?: number;
  activation: Activation;
  /** Weight initialization (module.ts WeightInit); default PyTorch's. */
  init?: WeightInit;
}

export class ConvTranspose2d implements Module {
  readonly inShape: [number, number, number];
  readonly stride: number;
  readonly padding: number;
  readonly outputPadding: number;

  constructor(readonly name: string, input: readonly number[], readonly spec: ConvTranspose2dSpec) {
    this.inShape = imageShape(name, 'conv-transpose2d', input);
    this.stride = spec.stride ?? 1;
    this.padding = spec.padding ?? 0;
    this.outputPadding = spec.outputPadding ?? 0;
    this.outputShape(input);
  }

  params(): ParamSpec[] {
    const { out, kernel } = this.spec;
    // PyTorch computes the fan-in from dimension 1 of the weight, which is `out` for this layer.
    const fanIn = out * kernel * kernel, bound = 1 / Math.sqrt(fanIn);
    return [
      { name: `${this.name}.weight`, shape: [this.inShape[0], out, kernel, kernel], init: { kind: 'uniform', bound: weightBound(this.spec.init, fanIn) } },
      { name: `${this.name}.bias`, shape: [out], init: { kind: 'uniform', bound } },
    ];
  }

  /** [out, (H - 1) s - 2 p + k + op, (W - 1) s - 2 p + k + op], or an error naming the setting to change. */
  outputShape(input: readonly number[]): number[] {
    const [C, H, W] = imageShape(this.name, 'conv-transpose2d', input);
    if (C !== this.inShape[0]) throw new Error(`conv-transpose2d ${this.name}: built for ${this.inShape[0]} input channels, got [${input}]`);
    const { kernel: k } = this.spec, s = this.stride, p = this.padding, op = this.outputPadding;
    const bad = Object.entries({ kernel: k, stride: s }).filter(([, v]) => !(Number.isInteger(v) && v > 0));
    if (bad.length || !Number.isInteger(p) || p < 0 || !Number.isInteger(op) || op < 0) {
      throw new Error(`conv-transpose2d ${this.name}: kernel and stride must be positive integers, padding and outputPadding non-negative integers (got kernel ${k}, stride ${s}, padding ${p}, outputPadding ${op})`);
    }
    if (op >= s) throw new Error(`conv-transpose2d ${this.name}: outputPadding ${op} must be smaller than the stride ${s} (as in PyTorch)`);
    const size = (n: number) => (n - 1) * s - 2 * p + k + op;
    const OH = size(H), OW = size(W);
    if (OH < 1 || OW < 1) throw new Error(`conv-transpose2d ${this.name}: input ${H}x${W} with kernel ${k}, stride ${s}, padding ${p} gives an empty ${OH}x${OW} output; reduce the padding`);
    return [this.spec.out, OH, OW];
  }

  /** The convolution whose input gradient this layer is: input side = this layer's output. */
  geometry(rows: number): ConvGeometry {
    const [, OH, OW] = this.outputShape(this.inShape);
    return { batch: rows, inChannels: this.spec.out, inHeight: OH, inWidth: OW, outChannels: this.inShape[0], kernel: this.spec.kernel, stride: this.stride, padding: this.padding };
  }

  forward(g: Recorder, x: Tensor): { y: Tensor; backward: Backward } {
    const rows = x.shape[0];
    if (x.size / rows !== this.inShape.reduce((a, b) => a * b, 1)) throw new Error(`conv-transpose2d ${this.name}: expects [rows, ${this.inShape}], got [${x.shape}]`);
    const { activation, out } = this.spec;
    const geom = this.geometry(rows);
    const y = g.tensor(this.name, [rows, out, geom.inHeight, geom.inWidth]);
    if (g.precision === 'f16' && activation !== 'none') y.dtype = 'f16'; // a hidden activation (precision.ts)
    recordActivated(g, y, activation, (c, act) => recordConvInputGrad(g, geom, x, g.param(`${this.name}.weight`), c, { bias: g.param(`${this.name}.bias`), activation: act }));
    const backward: Backward = (gb, dy, needInputGrad) => {
      let dPre = dy.t;
      if (!dy.pre && activation !== 'none') {
        dPre = gb.tensor(`d_${this.name}.pre`, y.shape);
        gb.graph.add(activationBackward({ activation, count: y.size, f16: halfNames({ y }) }), { y: actGradInput(y), dy: dy.t, dx: dPre });
      }
      recordConvWeightGrad(gb, geom, x, dPre, gb.grad(`${this.name}.weight`));
      recordConvBiasGrad(gb, { batch: rows, channels: out, pixels: geom.inHeight * geom.inWidth }, dPre, gb.grad(`${this.name}.bias`), `d_${this.name}.bias`);
      if (!needInputGrad) return null;
      const below = x.activation as Activation;
      const dx = gb.tensor(`d_${this.name}.in`, x.shape);
      recordConvForward(gb, geom, dPre, gb.param(`${this.name}.weight`), dx, { gradActivation: below, below: actGradInput(x) });
      return { t: dx, pre: true } satisfies Grad;
    };
    return { y, backward };
  }
}
