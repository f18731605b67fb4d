// Float64 reference for feature concatenation (shaders/concat.ts), written from the definition:
// a conditional model's y[r] = [x[r], c[r mod B]] (S samples of B examples, one condition row per
// example), and its backward, the first F columns of dy (the condition gets no gradient).

/** y = [x, c[r mod B]] row by row, in float64. */
export function concatRef(x: ArrayLike<number>, c: ArrayLike<number>, rows: number, F: number, C: number, B: number): Float64Array {
  const y = new Float64Array(rows * (F + C));
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < F; j++) y[r * (F + C) + j] = x[r * F + j];
    for (let j = 0; j < C; j++) y[r * (F + C) + F + j] = c[(r % B) * C + j];
  }
  return y;
}

/** dx = dy[:, 0..F), in float64. */
export function concatBackwardRef(dy: ArrayLike<number>, rows: number, F: number, C: number): Float64Array {
  const dx = new Float64Array(rows * F);
  for (let r = 0; r < rows; r++) for (let j = 0; j < F; j++) dx[r * F + j] = dy[r * (F + C) + j];
  return dx;
}
