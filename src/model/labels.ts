// Labels of a conditional model, as the one-hot rows its graphs take.
import { ConfigError, shown } from '../errors';

/** Refuses labels that are not a list (a class number given alone, say), naming the form wanted. */
export function checkLabelList(labels: unknown, rows: number, what: string): void {
  if (labels == null || (typeof labels === 'object' && typeof (labels as ArrayLike<number>).length === 'number')) return;
  const example = typeof labels === 'number' ? ` (class ${labels} for all ${rows}: new Array(${rows}).fill(${labels}))` : '';
  throw new ConfigError(`${what}: labels are one class per row, an array or a typed array${example}; got ${typeof labels === 'number' ? `the number ${labels}` : shown(labels)}`);
}

/** Refuses what a model conditional on `classes` cannot take for `rows` rows: no labels, another count, a value that is not a class. */
export function checkLabels(labels: ArrayLike<number> | undefined, rows: number, classes: number, what: string): asserts labels is ArrayLike<number> {
  checkLabelList(labels, rows, what);
  if (!labels) throw new ConfigError(`${what}: this model is conditional on ${classes} classes; pass one label (0..${classes - 1}) per row`);
  if (labels.length !== rows) throw new ConfigError(`${what}: got ${labels.length} labels for ${rows} rows; give one class per row`);
  for (let r = 0; r < rows; r++) {
    const c = labels[r];
    if (!Number.isInteger(c) || c < 0 || c >= classes) throw new ConfigError(`${what}: label ${shown(c)} of row ${r} is not a class of this model (0..${classes - 1})`);
  }
}

/** One-hot rows [padTo, classes] for the first `rows` labels (zeros beyond); checks every label. */
export function oneHot(labels: ArrayLike<number> | undefined, rows: number, padTo: number, classes: number, what: string): Float32Array {
  checkLabels(labels, rows, classes, what);
  const out = new Float32Array(padTo * classes);
  for (let r = 0; r < rows; r++) out[r * classes + labels[r]] = 1;
  return out;
}
