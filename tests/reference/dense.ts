// Float64 references for matmul and activations, written for clarity, not speed.
import type { Activation } from '../../shaders/activation';

/** PyTorch's nn.LeakyReLU default negative slope; written here, not imported, so the reference is an independent witness. */
const LEAKY_RELU_SLOPE = 0.01;
/** PyTorch's F.gelu(x, approximate='tanh'): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
const GELU_K = Math.sqrt(2 / Math.PI), GELU_C = 0.044715;

/** C[M,N] = op(A) op(B); A is [M,K] or [K,M] (transA), B is [K,N] or [N,K] (transB). */
export function matmulRef(a: ArrayLike<number>, b: ArrayLike<number>, M: number, N: number, K: number, transA = false, transB = false): Float64Array {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (transA ? a[k * M + i] : a[i * K + k]) * (transB ? b[j * K + k] : b[k * N + j]);
      c[i * N + j] = s;
    }
  }
  return c;
}

export function actRef(kind: Activation, x: number): number {
  switch (kind) {
    case 'relu': return Math.max(x, 0);
    case 'leaky_relu': return x > 0 ? x : LEAKY_RELU_SLOPE * x;
    case 'tanh': return Math.tanh(x);
    case 'sigmoid': return 1 / (1 + Math.exp(-x));
    case 'softplus': return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    case 'elu': return x > 0 ? x : Math.expm1(x); // PyTorch's nn.ELU, alpha 1
    // 0.5 (1 + tanh(u)) = 1 / (1 + e^{-2u}): the same function, without 1 + tanh's cancellation below x = -3.
    case 'gelu': return x / (1 + Math.exp(-2 * GELU_K * (x + GELU_C * x ** 3)));
    case 'none': return x;
  }
}

/** d act / dx at pre-activation x (computed from x, independently of the kernels' output form). */
export function actDerivRef(kind: Activation, x: number): number {
  switch (kind) {
    case 'relu': return x > 0 ? 1 : 0;
    case 'leaky_relu': return x > 0 ? 1 : LEAKY_RELU_SLOPE;
    case 'tanh': return 1 - Math.tanh(x) ** 2;
    case 'sigmoid': { const s = 1 / (1 + Math.exp(-x)); return s * (1 - s); }
    case 'softplus': return 1 / (1 + Math.exp(-x));
    case 'elu': return x > 0 ? 1 : Math.exp(x);
    case 'gelu': {
      // PyTorch's tanh-approximation backward, 0.5 (1 + t) + 0.5 x (1 - t^2) u' with t = tanh(u), in
      // sigmoids (0.5 (1 + t) = s, 1 - t^2 = 4 s (1 - s), s = sigmoid(2u)): 1 + t is 0 in float64 too below x = -8.
      const u = GELU_K * (x + GELU_C * x ** 3), e = Math.exp(-2 * Math.abs(u)), s = u >= 0 ? 1 / (1 + e) : e / (1 + e);
      return s + 2 * x * (e / (1 + e) ** 2) * GELU_K * (1 + 3 * GELU_C * x * x);
    }
    case 'none': return 1;
  }
}

export function columnSumRef(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(cols);
  for (let m = 0; m < rows; m++) for (let n = 0; n < cols; n++) out[n] += x[m * cols + n];
  return out;
}
