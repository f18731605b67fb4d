// Nearest-neighbour upsampling by an integer factor s (PyTorch nn.Upsample(scale_factor=s,
// mode='nearest') on NCHW), forward and backward. x is [N, C, H, W]; y is [N, C, sH, sW] with
//   forward   y[n, c, i, j] = x[n, c, floor(i / s), floor(j / s)]
//   backward  dx[n, c, h, w] = sum over a, b in [0, s) of dy[n, c, s h + a, s w + b]
// The backward is a gather, one invocation per input element summing its s x s block, so it needs
// no atomics and its sum has a fixed order (the same bits run to run). Neither kernel touches an
// activation: the values only move, so the layer passes its input's activation on to y and a
// consumer's act' applies to the copies as to the original (src/model/layers/upsample.ts).
// Bindings: forward (x: read, y: write); backward (dy: read, dx: write).
// Grid: one invocation per input element, writing (forward) or summing (backward) its s x s block,
// UPSAMPLE_WORKGROUP wide, split over x and y for large arrays.
// With `f16` (half.ts), x and y may be stored as f16 in the forward; gradients stay f32.
// Reference: tests/reference/upsample.ts.
import { ConfigError } from './errors';
import { checkShape, declareBindings, exactWhenSized, FLAT_INDEX_WGSL, grid1D, itemCountWGSL, minBindingBytes, read, write, type Kernel } from './common';
import { load32, storeAs, withHalf, type HalfBindings } from './half';
import { wgsl } from './wgsl';

const UPSAMPLE_WORKGROUP = 256;

export interface UpsampleParams {
  /** Examples (rows). */
  batch: number;
  channels: number;
  /** The input's height and width; the output's are scale times these. */
  height: number;
  width: number;
  /** The integer factor s along both sides. */
  scale: number;
  /** Bindings stored as f16: 'x', 'y' (forward only). */
  f16?: HalfBindings;
  /**
   * Forward only: read the batch from y's binding length in whole examples instead of the source,
   * so that one pipeline serves every batch; y must be bound at exactly its examples.
   */
  sizedByBinding?: boolean;
}

function check(name: string, p: UpsampleParams) {
  checkShape(name, { batch: p.batch, channels: p.channels, height: p.height, width: p.width, scale: p.scale });
  const { batch: N, channels: C, height: H, width: W, scale: s } = p;
  return { inputs: N * C * H * W, outputs: N * C * H * W * s * s, H, W, s };
}

/** Both kernels' entry point up to the block: invocation i is input element i, `first` its block's first output. */
function blockStart(inputs: string, H: number, W: number, s: number): string {
  return `@compute @workgroup_size(${UPSAMPLE_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = ${FLAT_INDEX_WGSL(UPSAMPLE_WORKGROUP)};
  if (i >= ${inputs}) { return; }
  let w = i % ${W}u;
  let h = (i / ${W}u) % ${H}u;
  let plane = i / ${H * W}u;
  let first = plane * ${H * W * s * s}u + h * ${s * W * s}u + w * ${s}u;`;
}

/** The s x s block's outputs, row by row, as offsets from its first. */
const blockOffsets = (s: number, OW: number) => Array.from({ length: s * s }, (_, k) => Math.floor(k / s) * OW + (k % s));

export function upsampleForward(p: UpsampleParams): Kernel {
  const { inputs, outputs, H, W, s } = check('upsample_forward', p);
  const { bindings, enable, tag } = withHalf('upsample_forward', [read('x'), write('y')], p.f16);
  const OW = W * s;
  // One invocation per input element, writing its s x s block: one load (and one index
  // computation) for s^2 stores, where one invocation per output loaded s^2 times as often
  // (SwiftShader, the dSprites decoder's 16 x 32 x 32 -> 64 x 64 maps at batch 64: 126 -> 31 ms).
  const stores = blockOffsets(s, OW).map((o) => storeAs(p.f16, 'y', `first + ${o}u`, 'v')).join('\n  ');
  const code = wgsl`${enable}${declareBindings(bindings)}

${blockStart(itemCountWGSL(inputs, p.sizedByBinding ? { output: 'y', perExample: p.channels * H * W * s * s, itemsPerExample: p.channels * H * W, half: p.f16?.includes('y'), kernel: 'upsample_forward' } : null), H, W, s)}
  let v = ${load32(p.f16, 'x', 'i')};
  ${stores}
}`;
  return {
    name: `upsample_forward_x${s}${tag}${p.sizedByBinding ? '_any_batch' : ''}`,
    code,
    bindings,
    minBytes: minBindingBytes(bindings, { x: inputs, y: outputs }),
    ...exactWhenSized(p.sizedByBinding, 'y'),
    workgroups: grid1D(inputs, UPSAMPLE_WORKGROUP),
  };
}

/** The backward takes no `sizedByBinding`: training graphs have one batch. */
export type UpsampleBackwardParams = Omit<UpsampleParams, 'sizedByBinding'>;

export function upsampleBackward(p: UpsampleBackwardParams): Kernel {
  const { inputs, outputs, H, W, s } = check('upsample_backward', p);
  if (p.f16?.length) throw new ConfigError('upsample_backward: gradients are f32, so it has no f16 bindings; leave out its f16 list');
  if ((p as UpsampleParams).sizedByBinding) throw new ConfigError('upsample_backward: sizedByBinding is for the forward (training graphs have one batch); leave it out');
  const bindings = [read('dy'), write('dx')];
  const OW = W * s;
  const code = wgsl`${declareBindings(bindings)}

${blockStart(itemCountWGSL(inputs, null), H, W, s)}
  // The block's s^2 loads at constant offsets, summed row by row in a fixed order.
  dx[i] = ${blockOffsets(s, OW).map((o) => `dy[first + ${o}u]`).join(' + ')};
}`;
  return {
    name: `upsample_backward_x${s}`,
    code,
    bindings,
    minBytes: minBindingBytes(bindings, { dy: outputs, dx: inputs }),
    workgroups: grid1D(inputs, UPSAMPLE_WORKGROUP),
  };
}
