// Reshape and Flatten: the same memory seen with another per-example shape (Tensor.view), so they
// record no dispatch and cost nothing. Activations are NCHW, so flattening [C, H, W] gives
// PyTorch's nn.Flatten order and reshaping a dense layer's output to [C, H, W] is
// x.view(-1, C, H, W). The view keeps the activation of the tensor it views, so the next layer's
// backward still folds act' of the layer that produced the values; the gradient passes back
// unchanged (as a view in the input's shape), keeping its `pre` flag.
import type { Tensor } from '../../tensor';
import type { Backward, Module, ParamSpec, Recorder } from '../module';

export interface ReshapeSpec {
  /** Shape of one example after the layer, e.g. [1, 28, 28]. */
  shape: number[];
}

export type FlattenSpec = Record<never, never>;

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export class Reshape implements Module {
  readonly shape: number[];

  constructor(readonly name: string, readonly inShape: readonly number[], spec: ReshapeSpec) {
    this.shape = [...spec.shape];
    this.outputShape(inShape);
  }

  params(): ParamSpec[] {
    return [];
  }

  outputShape(input: readonly number[]): number[] {
    if (!this.shape.length || !this.shape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new Error(`reshape ${this.name}: shape [${this.shape}] must be a non-empty list of positive integers`);
    }
    if (count(input) !== count(this.shape)) {
      throw new Error(`reshape ${this.name}: cannot view [${input}] (${count(input)} values per example) as [${this.shape}] (${count(this.shape)}); the sizes must match`);
    }
    return [...this.shape];
  }

  forward(_g: Recorder, x: Tensor): { y: Tensor; backward: Backward } {
    const rows = x.shape[0];
    this.outputShape(x.shape.slice(1));
    const y = x.view([rows, ...this.shape], this.name);
    const backward: Backward = (_gb, dy, needInputGrad) => (needInputGrad ? { t: dy.t.view(x.shape, `d_${this.name}.in`), pre: dy.pre } : null);
    return { y, backward };
  }
}

/** [C, H, W] (or any shape) -> [C*H*W]: a Reshape to one dimension. */
export class Flatten extends Reshape {
  constructor(name: string, inShape: readonly number[], _spec: FlattenSpec = {}) {
    super(name, inShape, { shape: [count(inShape)] });
  }
}
