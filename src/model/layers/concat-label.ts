// Appends the condition (one-hot labels [B, C]) to every row of its input: the entry layer of a
// conditional VAE's encoder ([x, y]) and decoder ([z, y]), as in Sohn et al. 2015. With S samples
// per example the input has S*B rows and each takes its example's label. No parameters.
// Kernels: shaders/concat.ts. Reference: tests/reference/concat.ts (the kernels), tests/reference/vae.ts (oneHot: the labels).
import { concatBackward, concatForward } from '../../../shaders/concat';
import { halfNames, type Tensor } from '../../tensor';
import type { Backward, Module, ParamSpec, Recorder } from '../module';

export interface ConcatLabelSpec {
  classes: number;
}

export class ConcatLabel implements Module {
  constructor(readonly name: string, readonly inFeatures: number, readonly spec: ConcatLabelSpec) {}

  params(): ParamSpec[] {
    return [];
  }

  outputShape(input: readonly number[]): number[] {
    return [input.reduce((a, b) => a * b, 1) + this.spec.classes];
  }

  forward(g: Recorder, x: Tensor): { y: Tensor; backward: Backward } {
    const c = g.condition;
    if (!c) throw new Error(`${this.name}: this graph has no condition tensor; the model is not conditional`);
    const shape = { rows: x.shape[0], features: this.inFeatures, extra: this.spec.classes, conditionRows: c.shape[0] };
    const y = g.tensor(this.name, [shape.rows, this.inFeatures + this.spec.classes]);
    y.zerosLikely = x.zerosLikely; // one-hot labels are mostly zeros too
    // A conv model's flattened features may be stored as f16 (precision.ts); the labels never are.
    // An f32 y gives the row count by its length, so that one pipeline serves every row count.
    const f16 = halfNames({ x, y });
    g.graph.add(concatForward({ ...shape, f16, sizedByBinding: !f16?.includes('y') }), { x, c, y });
    const backward: Backward = (gb, dy, needInputGrad) => {
      if (!needInputGrad) return null;
      const dx = gb.tensor(`d_${this.name}.in`, [shape.rows, this.inFeatures]);
      gb.graph.add(concatBackward(shape), { dy: dy.t, dx });
      // The slice carries the gradient as it came: if it was w.r.t. a pre-activation of ours, the
      // columns of x are untouched by any activation, so it is w.r.t. x's values.
      return { t: dx, pre: x.activation === 'none' };
    };
    return { y, backward };
  }
}
