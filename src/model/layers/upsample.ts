// Nearest-neighbour upsampling by an integer factor (PyTorch nn.Upsample(scale_factor=s,
// mode='nearest')): [C, H, W] -> [C, sH, sW], each value copied into an s x s block. No
// parameters. A decoder may upsample then convolve (stride 1) instead of using a transposed
// convolution, which avoids its checkerboard artefacts (Odena et al. 2016).
// The values only move, so y keeps x's activation: a consumer that folds act' into its input
// gradient applies act'(y) = act'(x) at each copy, and summing the block's gradients (the backward)
// gives the gradient on x with the same `pre` flag the consumer handed back, as a reshape does.
// Where act' reads the pre-activation (gelu: Tensor.gradSource), that is upsampled beside x.
// Kernels: shaders/upsample.ts. Reference: tests/reference/upsample.ts.
import { upsampleBackward, upsampleForward } from '../../../shaders/upsample';
import { halfNames, type Tensor } from '../../tensor';
import type { Backward, Module, ParamSpec, Recorder } from '../module';

export interface UpsampleSpec {
  /** Integer factor along both sides; 2 unless given. */
  scale?: number;
}

export class Upsample implements Module {
  readonly scale: number;

  constructor(readonly name: string, readonly inShape: readonly number[], spec: UpsampleSpec) {
    this.scale = spec.scale ?? 2;
    if (!(Number.isInteger(this.scale) && this.scale >= 1)) {
      throw new Error(`upsample ${name}: scale ${this.scale} must be a positive integer (nearest-neighbour copies s x s)`);
    }
    if (inShape.length !== 3 || !inShape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new Error(`upsample ${name}: expects each example as [channels, height, width], got [${inShape}]; put a reshape layer before it`);
    }
  }

  params(): ParamSpec[] {
    return [];
  }

  outputShape(input: readonly number[]): number[] {
    if (input.length !== 3 || input.some((d, i) => d !== this.inShape[i])) {
      throw new Error(`upsample ${this.name}: built for [${this.inShape}], got [${input}]`);
    }
    const [c, h, w] = input;
    return [c, h * this.scale, w * this.scale];
  }

  forward(g: Recorder, x: Tensor): { y: Tensor; backward: Backward } {
    const rows = x.shape[0];
    const out = this.outputShape(x.shape.slice(1));
    const [channels, height, width] = this.inShape;
    const shape = { batch: rows, channels, height, width, scale: this.scale };
    const y = g.tensor(this.name, [rows, ...out]);
    y.activation = x.activation;
    y.dtype = x.dtype; // an f16 hidden activation stays f16 (precision.ts)
    g.graph.add(upsampleForward({ ...shape, f16: halfNames({ x, y }), sizedByBinding: true }), { x, y });
    // An activation whose act' reads the pre-activation (gelu) needs that upsampled too.
    if (x.gradSource) {
      const pre = x.gradSource;
      y.gradSource = g.tensor(`${this.name}.pre`, [rows, ...out]);
      y.gradSource.dtype = pre.dtype;
      g.graph.add(upsampleForward({ ...shape, f16: halfNames({ x: pre, y: y.gradSource }), sizedByBinding: true }), { x: pre, y: y.gradSource });
    }
    const backward: Backward = (gb, dy, needInputGrad) => {
      if (!needInputGrad) return null;
      const dx = gb.tensor(`d_${this.name}.in`, x.shape);
      gb.graph.add(upsampleBackward(shape), { dy: dy.t, dx });
      return { t: dx, pre: dy.pre };
    };
    return { y, backward };
  }
}
