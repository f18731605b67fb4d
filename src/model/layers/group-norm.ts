// GroupNorm (PyTorch nn.GroupNorm, eps 1e-5, affine) with a fused activation:
// y = act((x - mean) / sqrt(var + eps) * weight[c] + bias[c]), the mean and variance taken over
// each example's group of channels / groups consecutive channels and all their pixels. It sits
// after a convolution without activation (conv -> norm -> act), so the convolution's output is
// rescaled to unit variance per group whatever its weights' scale, which keeps deep stacks of
// stride-2 convolutions trainable even from PyTorch's default initialization; the price is that
// each group's mean over the picture (a picture's overall colour) is removed. weight starts at 1 and
// bias at 0, as PyTorch's. Backward, from dy:
//   dPre = dy * act'(y)               folded by the consumer when it could (dy.pre), else one dispatch
//   dweight, dbias                    group_norm_param_grad (one workgroup per channel)
//   dx                                group_norm_input_grad; handed back as a gradient on x itself,
//                                     so a producer with an activation applies its own act'
// Kernels: shaders/group-norm.ts. Reference: tests/reference/group-norm.ts.
import { activationBackward, type Activation } from '../../../shaders/activation';
import { groupNormForward, groupNormInputGrad, groupNormParamGrad } from '../../../shaders/group-norm';
import { halfNames, type Tensor } from '../../tensor';
import { actGradInput, recordActivated, type Backward, type Module, type ParamSpec, type Recorder } from '../module';

export interface GroupNormSpec {
  /** Groups of channels; must divide the channel count. */
  groups: number;
  activation: Activation;
}

export class GroupNorm implements Module {
  readonly channels: number;
  readonly pixels: number;

  constructor(readonly name: string, readonly inShape: readonly number[], readonly spec: GroupNormSpec) {
    if (inShape.length < 1 || !inShape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new Error(`group-norm ${name}: expects each example as [channels, ...], got [${inShape}]`);
    }
    this.channels = inShape[0];
    this.pixels = inShape.slice(1).reduce((a, b) => a * b, 1);
    const { groups } = spec;
    if (!(Number.isInteger(groups) && groups > 0 && this.channels % groups === 0)) {
      throw new Error(`group-norm ${name}: ${groups} groups must divide the ${this.channels} channels; choose a divisor such as ${largestDivisorAtMost(this.channels, groups)}`);
    }
  }

  params(): ParamSpec[] {
    return [
      { name: `${this.name}.weight`, shape: [this.channels], init: { kind: 'constant', value: 1 } },
      { name: `${this.name}.bias`, shape: [this.channels], init: { kind: 'zeros' } },
    ];
  }

  outputShape(input: readonly number[]): number[] {
    if (input.length !== this.inShape.length || input.some((d, i) => d !== this.inShape[i])) {
      throw new Error(`group-norm ${this.name}: built for [${this.inShape}], got [${input}]`);
    }
    return [...input];
  }

  forward(g: Recorder, x: Tensor): { y: Tensor; backward: Backward } {
    const rows = x.shape[0];
    this.outputShape(x.shape.slice(1));
    const shape = { batch: rows, channels: this.channels, pixels: this.pixels, groups: this.spec.groups };
    // One invocation per segment on software adapters (KernelChoice.groupNormSerial).
    const serial = !!g.kernels.groupNormSerial;
    const { activation } = this.spec;
    const y = g.tensor(this.name, x.shape);
    if (g.precision === 'f16' && activation !== 'none') y.dtype = 'f16'; // a hidden activation (precision.ts)
    const stats = g.tensor(`${this.name}.stats`, [rows, this.spec.groups, 2]);
    recordActivated(g, y, activation, (out, act) => g.graph.add(groupNormForward({ ...shape, activation: act, f16: halfNames({ x, y: out }), sizedByBinding: true, serial }), { x, gamma: g.param(`${this.name}.weight`), beta: g.param(`${this.name}.bias`), y: out, stats }));
    const backward: Backward = (gb, dy, needInputGrad) => {
      let dPre = dy.t;
      if (!dy.pre && activation !== 'none') {
        dPre = gb.tensor(`d_${this.name}.pre`, y.shape);
        gb.graph.add(activationBackward({ activation, count: y.size, f16: halfNames({ y }) }), { y: actGradInput(y), dy: dy.t, dx: dPre });
      }
      gb.graph.add(groupNormParamGrad({ ...shape, f16: halfNames({ x }) }), { x, stats, dy: dPre, dgamma: gb.grad(`${this.name}.weight`), dbeta: gb.grad(`${this.name}.bias`) });
      if (!needInputGrad) return null;
      const dx = gb.tensor(`d_${this.name}.in`, x.shape);
      gb.graph.add(groupNormInputGrad({ ...shape, f16: halfNames({ x }), serial }), { x, stats, gamma: gb.param(`${this.name}.weight`), dy: dPre, dx });
      return { t: dx, pre: (x.activation ?? 'none') === 'none' };
    };
    return { y, backward };
  }
}

/** The largest divisor of n that is at most `limit` (at least 1). */
export function largestDivisorAtMost(n: number, limit: number): number {
  for (let d = Math.max(1, Math.min(n, Math.floor(limit))); d > 1; d--) if (n % d === 0) return d;
  return 1;
}
