// Float64 references for 2-D convolution and transposed convolution, NCHW, written from
// PyTorch's definitions and not from shaders/conv.ts: the convolution forward gathers, its input
// gradient scatters (the kernels gather both), and the transposed convolution is written out as
// its own scatter rather than as "the convolution's input gradient", so the identity the layers
// rely on is tested rather than assumed. Weights: Conv2d [out, in, k, k], ConvTranspose2d
// [in, out, k, k]; x[n, c, y, x] at ((n C + c) H + y) W + x.

export interface ConvRefGeometry {
  batch: number;
  inChannels: number;
  inHeight: number;
  inWidth: number;
  outChannels: number;
  kernel: number;
  stride: number;
  padding: number;
}

export interface ConvTransposeRefGeometry extends ConvRefGeometry {
  outputPadding: number;
}

/** floor((size + 2 p - k) / s) + 1, as nn.Conv2d documents it. */
export function convOutRef(size: number, k: number, s: number, p: number): number {
  return Math.floor((size + 2 * p - k) / s) + 1;
}

/** (size - 1) s - 2 p + k + output_padding, as nn.ConvTranspose2d documents it. */
export function convTransposeOutRef(size: number, k: number, s: number, p: number, op: number): number {
  return (size - 1) * s - 2 * p + k + op;
}

const at4 = (C: number, H: number, W: number) => (n: number, c: number, y: number, x: number) => ((n * C + c) * H + y) * W + x;

/** y[n, co, oy, ox] = b[co] + sum w[co, ci, ky, kx] x[n, ci, oy s - p + ky, ox s - p + kx] (zero outside x). */
export function conv2dRef(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, g: ConvRefGeometry): Float64Array {
  const { batch: N, inChannels: Ci, inHeight: H, inWidth: W, outChannels: Co, kernel: K, stride: S, padding: P } = g;
  const OH = convOutRef(H, K, S, P), OW = convOutRef(W, K, S, P);
  const xi = at4(Ci, H, W), yi = at4(Co, OH, OW), wi = at4(Ci, K, K);
  const y = new Float64Array(N * Co * OH * OW);
  for (let n = 0; n < N; n++) for (let co = 0; co < Co; co++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
    let s = b ? b[co] : 0;
    for (let ci = 0; ci < Ci; ci++) for (let ky = 0; ky < K; ky++) for (let kx = 0; kx < K; kx++) {
      const iy = oy * S - P + ky, ix = ox * S - P + kx;
      if (iy >= 0 && iy < H && ix >= 0 && ix < W) s += w[wi(co, ci, ky, kx)] * x[xi(n, ci, iy, ix)];
    }
    y[yi(n, co, oy, ox)] = s;
  }
  return y;
}

/** dL/dx of the convolution, by scattering every dy[n, co, oy, ox] back onto the inputs it read. */
export function conv2dInputGradRef(dy: ArrayLike<number>, w: ArrayLike<number>, g: ConvRefGeometry): Float64Array {
  const { batch: N, inChannels: Ci, inHeight: H, inWidth: W, outChannels: Co, kernel: K, stride: S, padding: P } = g;
  const OH = convOutRef(H, K, S, P), OW = convOutRef(W, K, S, P);
  const xi = at4(Ci, H, W), yi = at4(Co, OH, OW), wi = at4(Ci, K, K);
  const dx = new Float64Array(N * Ci * H * W);
  for (let n = 0; n < N; n++) for (let co = 0; co < Co; co++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
    const d = dy[yi(n, co, oy, ox)];
    for (let ci = 0; ci < Ci; ci++) for (let ky = 0; ky < K; ky++) for (let kx = 0; kx < K; kx++) {
      const iy = oy * S - P + ky, ix = ox * S - P + kx;
      if (iy >= 0 && iy < H && ix >= 0 && ix < W) dx[xi(n, ci, iy, ix)] += d * w[wi(co, ci, ky, kx)];
    }
  }
  return dx;
}

/** dL/dw[co, ci, ky, kx] = sum over n, oy, ox of dy[n, co, oy, ox] x[n, ci, oy s - p + ky, ox s - p + kx]. */
export function conv2dWeightGradRef(dy: ArrayLike<number>, x: ArrayLike<number>, g: ConvRefGeometry): Float64Array {
  const { batch: N, inChannels: Ci, inHeight: H, inWidth: W, outChannels: Co, kernel: K, stride: S, padding: P } = g;
  const OH = convOutRef(H, K, S, P), OW = convOutRef(W, K, S, P);
  const xi = at4(Ci, H, W), yi = at4(Co, OH, OW), wi = at4(Ci, K, K);
  const dw = new Float64Array(Co * Ci * K * K);
  for (let co = 0; co < Co; co++) for (let ci = 0; ci < Ci; ci++) for (let ky = 0; ky < K; ky++) for (let kx = 0; kx < K; kx++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
      const iy = oy * S - P + ky, ix = ox * S - P + kx;
      if (iy >= 0 && iy < H && ix >= 0 && ix < W) s += dy[yi(n, co, oy, ox)] * x[xi(n, ci, iy, ix)];
    }
    dw[wi(co, ci, ky, kx)] = s;
  }
  return dw;
}

/** db[c] = sum over n and pixels of dy[n, c, :, :] (either layer's bias gradient). */
export function channelSumRef(dy: ArrayLike<number>, batch: number, channels: number, pixels: number): Float64Array {
  const db = new Float64Array(channels);
  for (let n = 0; n < batch; n++) for (let c = 0; c < channels; c++) for (let p = 0; p < pixels; p++) db[c] += dy[(n * channels + c) * pixels + p];
  return db;
}

/** ConvTranspose2d: every x[n, ci, iy, ix] adds x w[ci, co, ky, kx] at y[n, co, iy s - p + ky, ix s - p + kx], plus b[co]. */
export function convTranspose2dRef(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, g: ConvTransposeRefGeometry): Float64Array {
  const { batch: N, inChannels: Ci, inHeight: H, inWidth: W, outChannels: Co, kernel: K, stride: S, padding: P, outputPadding: OP } = g;
  const OH = convTransposeOutRef(H, K, S, P, OP), OW = convTransposeOutRef(W, K, S, P, OP);
  const xi = at4(Ci, H, W), yi = at4(Co, OH, OW), wi = at4(Co, K, K);
  const y = new Float64Array(N * Co * OH * OW);
  for (let n = 0; n < N; n++) for (let co = 0; co < Co; co++) for (let p = 0; p < OH * OW; p++) y[yi(n, co, 0, 0) + p] = b ? b[co] : 0;
  for (let n = 0; n < N; n++) for (let ci = 0; ci < Ci; ci++) for (let iy = 0; iy < H; iy++) for (let ix = 0; ix < W; ix++) {
    const v = x[xi(n, ci, iy, ix)];
    for (let co = 0; co < Co; co++) for (let ky = 0; ky < K; ky++) for (let kx = 0; kx < K; kx++) {
      const oy = iy * S - P + ky, ox = ix * S - P + kx;
      if (oy >= 0 && oy < OH && ox >= 0 && ox < OW) y[yi(n, co, oy, ox)] += v * w[wi(ci, co, ky, kx)];
    }
  }
  return y;
}

/** dL/dx of ConvTranspose2d: dx[n, ci, iy, ix] = sum dy[n, co, iy s - p + ky, ix s - p + kx] w[ci, co, ky, kx]. */
export function convTranspose2dInputGradRef(dy: ArrayLike<number>, w: ArrayLike<number>, g: ConvTransposeRefGeometry): Float64Array {
  const { batch: N, inChannels: Ci, inHeight: H, inWidth: W, outChannels: Co, kernel: K, stride: S, padding: P, outputPadding: OP } = g;
  const OH = convTransposeOutRef(H, K, S, P, OP), OW = convTransposeOutRef(W, K, S, P, OP);
  const xi = at4(Ci, H, W), yi = at4(Co, OH, OW), wi = at4(Co, K, K);
  const dx = new Float64Array(N * Ci * H * W);
  for (let n = 0; n < N; n++) for (let ci = 0; ci < Ci; ci++) for (let iy = 0; iy < H; iy++) for (let ix = 0; ix < W; ix++) {
    let s = 0;
    for (let co = 0; co < Co; co++) for (let ky = 0; ky < K; ky++) for (let kx = 0; kx < K; kx++) {
      const oy = iy * S - P + ky, ox = ix * S - P + kx;
      if (oy >= 0 && oy < OH && ox >= 0 && ox < OW) s += dy[yi(n, co, oy, ox)] * w[wi(ci, co, ky, kx)];
    }
    dx[xi(n, ci, iy, ix)] = s;
  }
  return dx;
}

/** dL/dw[ci, co, ky, kx] of ConvTranspose2d = sum over n, iy, ix of x[n, ci, iy, ix] dy[n, co, iy s - p + ky, ix s - p + kx]. */
export function convTranspose2dWeightGradRef(dy: ArrayLike<number>, x: ArrayLike<number>, g: ConvTransposeRefGeometry): Float64Array {
  const { batch: N, inChannels: Ci, inHeight: H, inWidth: W, outChannels: Co, kernel: K, stride: S, padding: P, outputPadding: OP } = g;
  const OH = convTransposeOutRef(H, K, S, P, OP), OW = convTransposeOutRef(W, K, S, P, OP);
  const xi = at4(Ci, H, W), yi = at4(Co, OH, OW), wi = at4(Co, K, K);
  const dw = new Float64Array(Ci * Co * K * K);
  for (let n = 0; n < N; n++) for (let ci = 0; ci < Ci; ci++) for (let iy = 0; iy < H; iy++) for (let ix = 0; ix < W; ix++) {
    const v = x[xi(n, ci, iy, ix)];
    for (let co = 0; co < Co; co++) for (let ky = 0; ky < K; ky++) for (let kx = 0; kx < K; kx++) {
      const oy = iy * S - P + ky, ox = ix * S - P + kx;
      if (oy >= 0 && oy < OH && ox >= 0 && ox < OW) dw[wi(ci, co, ky, kx)] += v * dy[yi(n, co, oy, ox)];
    }
  }
  return dw;
}

/** The im2col matrix [N OH OW, Ci k k]: row (n, oy, ox), column (ci, ky, kx) holds the input that tap reads, 0 in the padding. */
export function im2colRef(x: ArrayLike<number>, g: ConvRefGeometry): Float64Array {
  const { batch: N, inChannels: Ci, inHeight: H, inWidth: W, kernel: K, stride: S, padding: P } = g;
  const OH = convOutRef(H, K, S, P), OW = convOutRef(W, K, S, P);
  const xi = at4(Ci, H, W), cols = Ci * K * K;
  const col = new Float64Array(N * OH * OW * cols);
  for (let n = 0; n < N; n++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
    const row = (n * OH + oy) * OW + ox;
    for (let ci = 0; ci < Ci; ci++) for (let ky = 0; ky < K; ky++) for (let kx = 0; kx < K; kx++) {
      const iy = oy * S - P + ky, ix = ox * S - P + kx;
      col[row * cols + (ci * K + ky) * K + kx] = iy >= 0 && iy < H && ix >= 0 && ix < W ? x[xi(n, ci, iy, ix)] : 0;
    }
  }
  return col;
}

/** The adjoint of im2col: every entry of dcol added onto the input pixel it was read from (written as a scatter). */
export function col2imRef(dcol: ArrayLike<number>, g: ConvRefGeometry): Float64Array {
  const { batch: N, inChannels: Ci, inHeight: H, inWidth: W, kernel: K, stride: S, padding: P } = g;
  const OH = convOutRef(H, K, S, P), OW = convOutRef(W, K, S, P);
  const xi = at4(Ci, H, W), cols = Ci * K * K;
  const dx = new Float64Array(N * Ci * H * W);
  for (let n = 0; n < N; n++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
    const row = (n * OH + oy) * OW + ox;
    for (let ci = 0; ci < Ci; ci++) for (let ky = 0; ky < K; ky++) for (let kx = 0; kx < K; kx++) {
      const iy = oy * S - P + ky, ix = ox * S - P + kx;
      if (iy >= 0 && iy < H && ix >= 0 && ix < W) dx[xi(n, ci, iy, ix)] += dcol[row * cols + (ci * K + ky) * K + kx];
    }
  }
  return dx;
}

/** rows[(n P + p) C + c] = t[(n C + c) P + p]: NCHW to one row per pixel (NHWC). */
export function channelsToRowsRef(t: ArrayLike<number>, N: number, C: number, P: number): Float64Array {
  const rows = new Float64Array(N * C * P);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let p = 0; p < P; p++) rows[(n * P + p) * C + c] = t[(n * C + c) * P + p];
  return rows;
}
