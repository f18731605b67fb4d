// Dense (PyTorch nn.Linear) with a fused activation: y = act(x W^T + b), W stored [out, in].
// Forward is one matmul with a bias + activation epilogue. Backward, from dy:
//   dPre = dy * act'(y)      folded into the consumer's kernel when it could (dy.pre), else one
//                            activation_backward dispatch
//   dW = dPre^T x,  db = column_sum(dPre)
//   dx = dPre W              with act'(x) of the layer below folded into the epilogue, so the
//                            gradient handed back is already with respect to its pre-activation
// Where x is the data (mostly zeros), the forward and dW may walk only its non-zero k steps
// (shaders/matmul-zeros.ts; software adapters).
// Kernels: shaders/matmul.ts, shaders/activation.ts. Reference: tests/reference/dense.ts.
import { recordColumnSum, recordMatmul, skippingZeros } from './matmul-op';
import { activationBackward, type Activation } from '../../../shaders/activation';
import { matmul, type MatmulOperand } from '../../../shaders/matmul';
import type { Tensor } from '../../tensor';
import { matmulOptionsFor } from '../autotune';
import { actGradInput, recordActivated, type Backward, type Grad, type Module, type ParamSpec, type Recorder } from '../module';

export interface DenseSpec {
  out: number;
  activation: Activation;
}

export class Dense implements Module {
  constructor(readonly name: string, readonly inFeatures: number, readonly spec: DenseSpec) {}

  params(): ParamSpec[] {
    const { out } = this.spec, fanIn = this.inFeatures;
    const bound = 1 / Math.sqrt(fanIn); // PyTorch's default: kaiming_uniform(a = sqrt(5)) reduces to this
    return [
      { name: `${this.name}.weight`, shape: [out, fanIn], init: { kind: 'uniform', bound } },
      { name: `${this.name}.bias`, shape: [out], init: { kind: 'uniform', bound } },
    ];
  }

  outputShape(input: readonly number[]): number[] {
    const features = input.reduce((a, b) => a * b, 1);
    if (features !== this.inFeatures) throw new Error(`${this.name}: expects ${this.inFeatures} input features, got [${input}]`);
    return [this.spec.out];
  }

  forward(g: Recorder, x: Tensor): { y: Tensor; backward: Backward } {
    const M = x.shape[0], K = this.inFeatures, N = this.spec.out;
    const { activation } = this.spec;
    this.outputShape(x.shape.slice(1));
    const choose = (transA: boolean, transB: boolean, m: number, n: number, k: number) => matmulOptionsFor(g.kernels, { M: m, N: n, K: k, transA, transB });
    const y = g.tensor(this.name, [M, N]);
    // In half precision the hidden activations (a ReLU's output, say) are kept as f16; the outputs
    // without an activation (the q head, the decoder's logits or means) stay f32.
    if (g.precision === 'f16' && activation !== 'none') y.dtype = 'f16';
    const half = (op: MatmulOperand, t: Tensor) => (t.dtype === 'f16' ? [op] : []);
    recordActivated(g, y, activation, (c, act) => {
      // Where x is the data, the forward and the weight gradient may skip its zeros (skippingZeros).
      const forward = { M, N, K, transB: true, bias: true, activation: act, f16: [...half('a', x), ...half('c', c)], ...choose(false, true, M, N, K) };
      recordMatmul(g, skippingZeros(g, forward, 'a', x), {
        a: x, b: g.param(`${this.name}.weight`), bias: g.param(`${this.name}.bias`), c,
      }, this.name);
    });
    const backward: Backward = (gb, dy, needInputGrad) => {
      let dPre = dy.t;
      if (!dy.pre && activation !== 'none') {
        if (y.dtype === 'f16') throw new Error(`${this.name}: an f16 activation whose consumer does not fold act' (a dense layer does) is not supported`);
        dPre = gb.tensor(`d_${this.name}.pre`, [M, N]);
        gb.graph.add(activationBackward({ activation, count: M * N }), { y: actGradInput(y), dy: dy.t, dx: dPre });
      }
      // At a large batch on a GPU this product's K (the batch) is long and its blocks few: it may split.
      const weightGrad = { M: N, N: K, K: M, transA: true, f16: half('b', x), ...choose(true, false, N, K, M) };
      recordMatmul(gb, skippingZeros(gb, weightGrad, 'b', x), { a: dPre, b: x, c: gb.grad(`${this.name}.weight`) }, `d_${this.name}.weight`);
      recordColumnSum(gb, M, N, dPre, gb.grad(`${this.name}.bias`), `d_${this.name}.bias`);
      if (!needInputGrad) return null;
      const below = x.activation as Activation;
      const dx = gb.tensor(`d_${this.name}.in`, [M, K]);
      const ySource = actGradInput(x);
      gb.graph.add(matmul({ M, N: K, K: N, gradActivation: below, f16: half('y', ySource), ...choose(false, false, M, K, N) }), {
        a: dPre, b: gb.param(`${this.name}.weight`), ...(below !== 'none' ? { y: ySource } : {}), c: dx,
      });
      return { t: dx, pre: true } satisfies Grad;
    };
    return { y, backward };
  }
}
