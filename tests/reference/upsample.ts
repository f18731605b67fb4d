// Float64 reference for nearest-neighbour upsampling by an integer factor (PyTorch
// nn.Upsample(scale_factor=s, mode='nearest') on NCHW), written from the definition and not from
// shaders/upsample.ts: every output pixel looks up its source, and the backward scatters each
// output gradient onto its source (the kernel gathers instead). The backward is checked against
// central finite differences of the forward in tests/upsample.test.ts.

export interface UpsampleRefShape {
  batch: number;
  channels: number;
  height: number;
  width: number;
  scale: number;
}

/** y[n, c, i, j] = x[n, c, floor(i / s), floor(j / s)]: [N, C, sH, sW]. */
export function upsampleRef(x: ArrayLike<number>, p: UpsampleRefShape): Float64Array {
  const { batch: N, channels: C, height: H, width: W, scale: s } = p;
  const OH = H * s, OW = W * s;
  const y = new Float64Array(N * C * OH * OW);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
    y[((n * C + c) * OH + i) * OW + j] = x[((n * C + c) * H + Math.floor(i / s)) * W + Math.floor(j / s)];
  }
  return y;
}

/** The adjoint of upsampleRef: dx[source] += dy[output] for every output pixel. */
export function upsampleBackwardRef(dy: ArrayLike<number>, p: UpsampleRefShape): Float64Array {
  const { batch: N, channels: C, height: H, width: W, scale: s } = p;
  const OH = H * s, OW = W * s;
  const dx = new Float64Array(N * C * H * W);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
    dx[((n * C + c) * H + Math.floor(i / s)) * W + Math.floor(j / s)] += dy[((n * C + c) * OH + i) * OW + j];
  }
  return dx;
}
