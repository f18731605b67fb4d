// What the model's calls are given, checked on the CPU before anything reaches the GPU: data sets,
// rows, labels, row counts. Each refusal is a ConfigError naming the call, the problem and the fix.
//
// Rows are checked value by value in one pass: a NaN or an infinity goes through the first product,
// where a ReLU's max() turns it into 0, so encode, decode and reconstruct would give finite numbers
// that mean nothing, and a training step would be skipped by the GPU's health check with nothing
// naming the input as the cause. A Bernoulli model reads its inputs as probabilities, so a value
// outside [0, 1] (8-bit pixels not divided by 255) would train towards a loss without meaning.
import { ConfigError, kindOfValue, shown } from '../errors';
import { destroyedDataError, REMAKE, type BatchSource } from './batch-source';
import type { VaeConfig } from './config';

/** Refuses what is not a live data set of `config`'s shape on `device`. */
export function checkSource(data: BatchSource, config: VaeConfig, device: GPUDevice, what: string): void {
  if (!data || typeof data !== 'object' || typeof data.gatherFor !== 'function') {
    // Rows as a typed array are what trainStep also takes, so say how to make a data set of them,
    // and what a data set holds: 8-bit levels, so rows of other values (real-valued features) cannot be put in one.
    const rows = ArrayBuffer.isView(data)
      ? ': put the rows in a data set first, vae.uploadRows({ rows, count }) for a Float32Array of values, or vae.upload({ images, count }) for 8-bit pictures (a Uint8Array of levels 0-255, which the model reads as level / 255)'
      : '';
    throw new ConfigError(`${what}: data must come from vae.upload(), vae.uploadRows() or vae.generateSprites(), got ${kindOfValue(data)}${rows}`);
  }
  // The call that uploads it again: rows of values (uploadRows) would be refused by upload.
  const by = data.madeBy ?? 'upload', again = REMAKE[by].verb;
  // Its buffers are gone: a submit binding them would fail on the device, and so every model on it.
  if (data.destroyed) throw destroyedDataError(what, by);
  if (data.dim !== config.inputDim) {
    throw new ConfigError(`${what}: the data set has ${data.dim} values per example but this model takes ${config.inputDim}; ${again} with this model (vae.${by})`);
  }
  if (data.device && data.device !== device) throw new ConfigError(`${what}: the data set lives on another GPUDevice; ${again} with this model (vae.${by})`);
  // Its one-hot rows are gathered for the class count its labels were uploaded with: another count
  // would put every label in the wrong column, and no labels leave a conditional model nothing.
  const classes = data.classes ?? 0;
  if (config.classes > 0 && classes === 0) {
    throw new ConfigError(`${what}: this model is conditional on ${config.classes} classes, and the data set has no labels (it was uploaded without them, or by a model that is not conditional); ${again} with this model: ${REMAKE[by].call}`);
  }
  if (config.classes > 0 && classes !== config.classes) {
    throw new ConfigError(`${what}: the data set's labels were uploaded for ${classes} classes, and this model is conditional on ${config.classes}; ${again} with this model (vae.${by})`);
  }
}

/** Refuses labels given to an unconditional model, which would otherwise be ignored whatever they are. */
export function checkNoLabels(config: VaeConfig, labels: unknown, what: string): void {
  if (config.classes === 0 && labels != null) {
    throw new ConfigError(`${what}: this model is not conditional (classes 0); leave out the labels, or create it with classes: N`);
  }
}

/**
 * What a row holds: a Bernoulli model's pixels (probabilities, in [0, 1]), another model's pixels,
 * or latent codes (which may come from encode(), and so from the model's own parameters).
 */
export type RowValues = 'probabilities' | 'pixels' | 'codes';

/** What `length` values are as rows of `width`: "41 rows (2624 values)", or "65 values: 1 row and 1 value over". */
export function describeRows(length: number, width: number): string {
  const rows = Math.floor(length / width), over = length - rows * width;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (length === 0) return '0 values';
  if (over === 0) return `${plural(rows, 'row')} (${length} values)`;
  return `${length} values: ${plural(rows, 'whole row')} and ${plural(over, 'value')} over`;
}

/** The row count of `x`, rows of `width` values, after checking each value (see checkRowValues). */
export function rowsOf(x: Float32Array, width: number, what: string, values: RowValues): number {
  if (!(x instanceof Float32Array)) throw rowsTypeError(what, x);
  const rows = x.length / width;
  if (!Number.isInteger(rows) || rows < 1) throw new ConfigError(`${what}: expected rows of ${width} values, got ${describeRows(x.length, width)}`);
  checkRowValues(x, width, what, values);
  return rows;
}

/**
 * Refuses the first value of `x` (rows of `width`) that is not finite or, for probabilities, not in
 * [0, 1], naming its row and column.
 */
export function checkRowValues(x: Float32Array, width: number, what: string, values: RowValues): void {
  const unitRange = values === 'probabilities';
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    // NaN fails both comparisons, so the unit-range test refuses it too.
    if (unitRange ? v >= 0 && v <= 1 : Number.isFinite(v)) continue;
    const where = `row ${Math.floor(i / width)}, column ${i % width}`;
    if (!Number.isFinite(v)) {
      const cause = values === 'codes'
        ? 'codes from encode() are not finite when the model\'s own parameters are not'
        : 'look for a division by zero or a missing value where the rows are made';
      throw new ConfigError(`${what}: the value at ${where} is ${v}; rows must hold finite numbers (${cause})`);
    }
    // The likelihood defaults to Bernoulli, so real-valued data (standardized features, say) given to
    // a model created without one lands here: name the likelihood that takes it beside the pixels' fix.
    throw new ConfigError(`${what}: the value at ${where} is ${v}, outside [0, 1]; a Bernoulli model takes pixel values in [0, 1] (divide 8-bit pixels by 255), ` +
      "and real-valued data needs a model created with likelihood: 'gaussian' (the default likelihood is 'bernoulli')");
  }
}

export function checkRowCount(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${what}: n must be a positive integer, got ${shown(n)}`);
}

/**
 * The Float32Array for `rows` results of `width` values, or a ConfigError when the JavaScript
 * engine cannot make one that large (V8, in Node and Chromium, holds at most 2^32 elements in a
 * typed array; other engines' limits are their own), instead of its bare RangeError.
 */
export function resultArray(what: string, rows: number, width: number): Float32Array<ArrayBuffer> {
  try {
    return new Float32Array(rows * width);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new ConfigError(`${what}: ${rows} rows of ${width} values are ${rows * width} floats, more than one Float32Array holds in this JavaScript engine (it refused: ${e.message}; ` +
      `V8's limit is 2^32 = ${2 ** 32} floats, ${Math.floor(2 ** 32 / width)} such rows); ask for fewer rows per call`);
  }
}

/**
 * Refuses a *ToBuffer row count whose result buffer (`perRow` bytes a row) the caller could not
 * bind whole as storage on this device: the buffer is made at the call's first run, and a binding
 * holds at most maxStorageBufferBindingSize bytes.
 */
export function checkLentRows(what: string, rows: number, perRow: number, device: GPUDevice): void {
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const most = Math.floor(limit / perRow);
  if (rows > most) {
    throw new ConfigError(`${what}: ${rows} rows of ${perRow} bytes are more than one storage binding on this device holds (maxStorageBufferBindingSize, ${limit} bytes), ` +
      `so at most ${most} rows; draw fewer rows per call`);
  }
}

/** The error for rows given as something other than a Float32Array. */
export function rowsTypeError(what: string, x: unknown): ConfigError {
  return new ConfigError(`${what}: rows must be a Float32Array (row-major pixel values, in [0, 1] for a Bernoulli model), got ${kindOfValue(x)}; convert with Float32Array.from(...)`);
}

/**
 * Refuses rows given as floats to a model that draws noise into its training pictures: binarize
 * and dequantize draw it while the GPU gathers a batch of uploaded bytes (shaders/batch.ts), and
 * rows written as they are would train on the plain grey levels, silently.
 */
export function checkRowsTakeNoise(config: Pick<VaeConfig, 'binarize' | 'dequantize'>): void {
  const noise = config.binarize !== 'none' ? `binarize '${config.binarize}'` : config.dequantize ? 'dequantize' : null;
  if (!noise) return;
  throw new ConfigError(
    `trainStep: this model's ${noise} draws its noise while the GPU gathers a batch of uploaded pictures, and rows given as a ` +
      'Float32Array would be trained on as they are; upload the pictures (const data = vae.upload({ images, count }); ' +
      `vae.trainStep({ data, index })), or ${config.binarize !== 'none' ? 'binarize' : 'dequantize'} the rows yourself and create the model without ${noise}`,
  );
}

/** The caller's labels as they are at the call: a queued call reads them later, when they may have changed. */
export function copyLabels(labels: ArrayLike<number> | undefined): number[] | undefined {
  return labels === undefined ? undefined : Array.from(labels);
}
