// Every WebGPU object this library creates carries a label that starts with LABEL_PREFIX. WebGPU
// reports an uncaptured error to every listener on the device, so a model sharing a GPUDevice
// with an app reads the labels an error message quotes to tell its own failures from the app's.
export const LABEL_PREFIX = 'webgpu-vae:';

/** The label of one of our objects: `webgpu-vae:<name>` (a name already prefixed is kept). */
export const ourLabel = (name: string): string => (name.startsWith(LABEL_PREFIX) ? name : LABEL_PREFIX + name);

/**
 * The prefix of the buffers one model owns, `webgpu-vae:#<id>:`: several models may share a device,
 * and an error naming only another model's buffers (one destroyed, whose buffer the app still
 * submits) is not this model's failure. Pipelines and layouts, shared by the models of a device,
 * carry no such tag and concern them all.
 */
export const modelLabelPrefix = (id: number): string => `${LABEL_PREFIX}#${id}:`;
const MODEL_TAG = /^#\d+:/;

/**
 * Whether an uncaptured error's message concerns this library's objects. Dawn quotes labels as
 * `[Buffer "name"]` (dawn.node doubles the quotes: `[BufferDescriptor ""name""]`) and writes an
 * unlabelled object as `[Buffer (unlabeled)]`, or in Chromium as a bare `[Device]` or
 * `[BufferDescriptor]`; wgpu writes `with 'name' label`. Every object of ours has a label, so an
 * error that quotes none of ours but names an object at all belongs to the app (a device's own
 * calls included: `[Device].CreateBuffer(...)`). One that names no object at all is counted as
 * ours (it cannot be told apart). "Invalid due to a previous error" only repeats an earlier error,
 * which was judged when it came.
 */
export function concernsUs(message: string, ownPrefix?: string): boolean {
  if (/is invalid due to a previous error/.test(message)) return false;
  const labels = quotedLabels(message);
  // Ours: shared objects, and with `ownPrefix` (a model's) that model's own buffers, not another's.
  const mine = (l: string) => l.startsWith(LABEL_PREFIX) && (!ownPrefix || !MODEL_TAG.test(l.slice(LABEL_PREFIX.length)) || l.startsWith(ownPrefix));
  if (labels.some(mine)) return true;
  if (labels.some((l) => l.startsWith(LABEL_PREFIX))) return false; // another model's buffers only
  return labels.length === 0 && !/\(unlabeled\)/.test(message) && !NAMED_OBJECT.test(message);
}

/** Dawn's name for an object in a message, `[Device]` or `[BufferDescriptor]`, labelled or not. */
const NAMED_OBJECT = /\[[A-Z][A-Za-z]*(?:\]| ")/;

/** The labels an error message quotes, in order: Dawn's `"name"` (or `""name""`) and wgpu's `'name' label`. */
function quotedLabels(message: string): string[] {
  return [...message.matchAll(/"+([^"]*)"+|'([^']*)' label/g)].map((m) => m[1] ?? m[2]);
}

/**
 * What an error of ours was doing, for its GpuError: the first of our labels it quotes, without the
 * prefix (a kernel or graph name, e.g. matmul_nt_bias_relu_register), else its first label, else
 * 'unknown operation'.
 */
export function errorOperation(message: string): string {
  const labels = quotedLabels(message).filter((l) => l !== '');
  const ours = labels.find((l) => l.startsWith(LABEL_PREFIX));
  return ours ? ours.slice(LABEL_PREFIX.length).replace(MODEL_TAG, '') : labels[0] ?? 'unknown operation';
}
