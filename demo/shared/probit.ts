// The inverse of the standard normal CDF, used to lay the manifold grid out the way Kingma &
// Welling do (figs 4-5): evenly spaced points on the unit square mapped through it, so the grid
// covers the prior's mass evenly. Acklam's rational approximation (relative error < 1.2e-9) is far
// more precise than a picture needs and avoids a numerical library.
const A = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
const B = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
const C = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const D = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
const LOW = 0.02425;

export function probit(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`probit needs 0 < p < 1, got ${p}`);
  if (p < LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
  }
  if (p > 1 - LOW) return -probit(1 - p);
  const q = p - 0.5, r = q * q;
  return ((((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q) /
    (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1);
}

/**
 * Latent points of an n x n manifold grid, row-major with z2 decreasing downwards (so "up" on the
 * screen is +z2, like a plot). Returns [n*n, 2] floats.
 */
export function manifoldGrid(n: number): Float32Array {
  const z = new Float32Array(n * n * 2);
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < n; col++) {
      const i = row * n + col;
      z[2 * i] = probit((col + 0.5) / n);
      z[2 * i + 1] = probit(1 - (row + 0.5) / n);
    }
  }
  return z;
}
