// The settings form: reads and validates it into Settings (messages name the field and say what
// is allowed), writes a loaded model's configuration back into it, and locks it while a model
// exists, since changing these would describe a different model.
import type { VaeConfig } from '../../src/index';
import { defaultConvChannels } from '../../src/model/config';
import type { Settings } from '../shared/protocol';

export class SettingsError extends Error {
  override name = 'ConfigError';
  /** @param field the form control at fault (its name), which the page marks invalid and focuses. */
  constructor(message: string, readonly field?: string) {
    super(message);
  }
}

/** Small and fast on a software GPU; the page explains that a real GPU handles far larger ones. */
export const DEFAULTS: Settings = {
  latent: 2, arch: 'mlp', hidden: [256], channels: [], dense: [], norm: 'none', upsample: 'transposed', precision: 'f32', likelihood: 'bernoulli', sigma: 'learned', dequantize: false, objective: 'elbo', tcEstimator: 'mws', samples: 1, beta: 1, warmupSteps: 0, klCycleSteps: 0, freeBits: 0, klCapacity: 0, capacitySteps: 0,
  conditional: false, binarize: 'none', batch: 100, lr: 1e-3, seed: 0, subset: 6000,
};

/**
 * Upper bounds of the numbers that have no natural one, far above any use (β-VAE and capacity
 * control use β up to about 1000, capacities of tens of nats, free bits of a few nats) and far
 * below the values that only train a model on its KL penalty (1e9 gave losses of 2e9).
 */
export const MAX = { beta: 10_000, freeBits: 20, klCapacity: 1_000 };

const field = (form: HTMLFormElement, name: string) => form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;
const checkbox = (form: HTMLFormElement, name: string) => form.elements.namedItem(name) as HTMLInputElement;

/** The value of a select, which must be one of `allowed` (the form's own options always are). */
function choice<T extends string>(form: HTMLFormElement, name: string, label: string, allowed: readonly T[]): T {
  const v = field(form, name).value;
  if (!allowed.includes(v as T)) throw new SettingsError(`${label} must be one of ${allowed.join(', ')} (got "${v}")`, name);
  return v as T;
}

function int(form: HTMLFormElement, name: string, label: string, min: number, max: number): number {
  const raw = field(form, name).value.trim();
  const v = Number(raw);
  if (!raw || !Number.isInteger(v) || v < min || v > max) throw new SettingsError(`${label} must be a whole number from ${min} to ${max} (got "${raw}")`, name);
  return v;
}

function num(form: HTMLFormElement, name: string, label: string, ok: (v: number) => boolean, what: string): number {
  const raw = field(form, name).value.trim();
  const v = Number(raw);
  if (!raw || !Number.isFinite(v) || !ok(v)) throw new SettingsError(`${label} must be ${what} (got "${raw}")`, name);
  return v;
}

/** A comma-separated list of whole numbers from 1 to max, or null when the field holds anything else. */
function sizesIn(form: HTMLFormElement, name: string, max: number): { raw: string; sizes: number[] | null } {
  const raw = field(form, name).value.trim();
  const tokens = raw.split(/[\s,]+/).filter(Boolean);
  // Plain digits only: Number() would read '0x10' as 16 and '1e3' as 1000.
  const sizes = tokens.map((t) => (/^\d+$/.test(t) ? Number(t) : NaN));
  return { raw, sizes: sizes.every((v) => Number.isInteger(v) && v >= 1 && v <= max) ? sizes : null };
}

export function readSettings(form: HTMLFormElement): Settings {
  const arch = choice(form, 'arch', 'Architecture', ['mlp', 'conv'] as const);
  // Each architecture's fields are checked only when it is chosen: the other's are off (followChoices), so could not be corrected.
  const hidden = sizesIn(form, 'hidden', 4096);
  if (arch === 'mlp' && !hidden.sizes?.length) {
    throw new SettingsError(`Hidden sizes must be one or more whole numbers from 1 to 4096 separated by commas, e.g. "256" or "512, 256" (got "${hidden.raw}")`, 'hidden');
  }
  const likelihood = field(form, 'likelihood').value;
  const channels = sizesIn(form, 'channels', 1024);
  if (arch === 'conv' && !channels.sizes) {
    throw new SettingsError(`Conv channels must be whole numbers from 1 to 1024 separated by commas, one per halving of the image, e.g. "16, 32" (or empty to choose from the image size); got "${channels.raw}"`, 'channels');
  }
  const dense = sizesIn(form, 'dense', 4096);
  if (arch === 'conv' && !dense.sizes) {
    throw new SettingsError(`Conv dense sizes must be whole numbers from 1 to 4096 separated by commas, e.g. "256" (or empty for none); got "${dense.raw}"`, 'dense');
  }
  const dequantize = checkbox(form, 'dequantize').checked;
  if (dequantize && likelihood !== 'gaussian') {
    throw new SettingsError('Dequantization adds uniform noise to the 8-bit levels for a density on continuous values: choose the Gaussian likelihood, or turn dequantization off', 'dequantize');
  }
  const precision = choice(form, 'precision', 'Activations', ['f32', 'f16'] as const);
  const objective = choice(form, 'objective', 'Objective', ['elbo', 'iwae', 'tcvae'] as const);
  // Read for β-TCVAE alone: another objective has no total correlation to estimate.
  const tcEstimator = objective === 'tcvae' ? choice(form, 'tcEstimator', "β-TCVAE's TC estimate", ['mws', 'mss'] as const) : 'mws';
  // The library's limits: L up to 64 Monte Carlo samples, K up to 5000 importance samples.
  const samples = objective === 'iwae'
    ? int(form, 'samples', 'Samples per example (K) for IWAE', 1, 5000)
    : int(form, 'samples', 'Samples per example (L) for the ELBO', 1, 64);
  const beta = num(form, 'beta', 'β', (v) => v >= 0 && v <= MAX.beta, `a number from 0 to ${MAX.beta.toLocaleString('en')} (1 gives the ELBO)`);
  const warmupSteps = int(form, 'warmupSteps', 'KL warm-up steps', 0, 10_000_000);
  const klCycleSteps = int(form, 'klCycleSteps', 'KL cycle steps', 0, 10_000_000);
  if (klCycleSteps > 0 && !(warmupSteps > 0 && warmupSteps <= klCycleSteps)) {
    throw new SettingsError(`KL cycle steps ${klCycleSteps} restarts the KL warm-up every ${klCycleSteps} steps: set KL warm-up steps between 1 and ${klCycleSteps} (the ramp within each cycle), or the cycle to 0`, 'warmupSteps');
  }
  const freeBits = num(form, 'freeBits', 'Free bits', (v) => v >= 0 && v <= MAX.freeBits, `a number of nats per latent dimension from 0 to ${MAX.freeBits} (0 turns them off)`);
  // The IWAE bound has no separate KL term for these to reweight.
  if (objective === 'iwae' && (beta !== 1 || warmupSteps > 0 || klCycleSteps > 0 || freeBits > 0)) {
    throw new SettingsError(`β, KL warm-up (cyclical or not) and free bits apply to the ELBO only: for IWAE set β to 1 and warm-up steps, KL cycle steps and free bits to 0 (got β ${beta}, warm-up ${warmupSteps}, cycle ${klCycleSteps}, free bits ${freeBits})`);
  }
  const klCapacity = num(form, 'klCapacity', 'KL capacity', (v) => v >= 0 && v <= MAX.klCapacity, `a number of nats from 0 to ${MAX.klCapacity.toLocaleString('en')} (0 turns capacity control off)`);
  const capacitySteps = int(form, 'capacitySteps', 'Capacity steps', 0, 10_000_000);
  if (capacitySteps > 0 && klCapacity === 0) throw new SettingsError(`Capacity steps ${capacitySteps} ramp the KL capacity: set the KL capacity in nats (e.g. 25), or the steps to 0`, 'klCapacity');
  if (klCapacity > 0 && (objective !== 'elbo' || freeBits > 0 || warmupSteps > 0 || klCycleSteps > 0)) {
    throw new SettingsError(`The KL capacity schedules the ELBO's KL term itself: choose the ELBO and set KL warm-up steps, KL cycle steps and free bits to 0, or the capacity to 0 (got ${objective}, warm-up ${warmupSteps}, cycle ${klCycleSteps}, free bits ${freeBits})`);
  }
  return {
    latent: int(form, 'latent', 'Latent size', 1, 512),
    arch,
    hidden: hidden.sizes?.length ? hidden.sizes : DEFAULTS.hidden,
    channels: channels.sizes ?? [],
    dense: dense.sizes ?? [],
    norm: arch === 'conv' ? choice(form, 'norm', 'Conv normalization', ['none', 'group'] as const) : 'none',
    upsample: arch === 'conv' ? choice(form, 'upsample', 'Conv upsampling', ['transposed', 'nearest'] as const) : 'transposed',
    precision,
    likelihood: likelihood === 'gaussian' ? 'gaussian' : 'bernoulli',
    sigma: choice(form, 'sigma', 'Gaussian σ', ['learned', 'predicted'] as const),
    dequantize,
    objective,
    tcEstimator,
    samples,
    beta,
    warmupSteps,
    klCycleSteps,
    freeBits,
    klCapacity,
    capacitySteps,
    conditional: checkbox(form, 'conditional').checked,
    binarize: choice(form, 'binarize', 'Binarization', ['none', 'dynamic', 'fixed'] as const),
    batch: int(form, 'batch', 'Batch size', 1, 4096),
    // Below 1e-8 a float32 step moves no weight: a run that would never learn.
    lr: num(form, 'lr', 'Learning rate', (v) => v >= 1e-8 && v < 1, 'a number from 1e-8 to below 1, e.g. 0.001'),
    seed: int(form, 'seed', 'Seed', 0, 2 ** 31 - 1),
    subset: int(form, 'subset', 'Training examples', 1, 1_000_000),
  };
}

export function writeSettings(form: HTMLFormElement, s: Partial<Settings>): void {
  const set = (name: string, v: unknown) => { if (v !== undefined) field(form, name).value = String(v); };
  set('latent', s.latent);
  set('arch', s.arch);
  set('hidden', s.hidden?.join(', '));
  set('channels', s.channels?.join(', '));
  set('dense', s.dense?.join(', '));
  set('norm', s.norm);
  set('upsample', s.upsample);
  set('precision', s.precision);
  set('likelihood', s.likelihood);
  set('sigma', s.sigma);
  if (s.dequantize !== undefined) checkbox(form, 'dequantize').checked = s.dequantize;
  set('objective', s.objective);
  set('tcEstimator', s.tcEstimator);
  set('samples', s.samples);
  set('beta', s.beta);
  set('warmupSteps', s.warmupSteps);
  set('klCycleSteps', s.klCycleSteps);
  set('freeBits', s.freeBits);
  set('klCapacity', s.klCapacity);
  set('capacitySteps', s.capacitySteps);
  if (s.conditional !== undefined) checkbox(form, 'conditional').checked = s.conditional;
  set('binarize', s.binarize);
  set('batch', s.batch);
  set('lr', s.lr);
  set('seed', s.seed);
  set('subset', s.subset);
}

/** Shows a loaded checkpoint's architecture and objective in the form, so what you see is what is trained. */
export function writeConfig(form: HTMLFormElement, c: VaeConfig): void {
  // Conv channels left empty are chosen from the picture's size: a model with that choice leaves
  // the field empty, so that after Reset another data set chooses its own, as the user asked.
  const chosenForSize = field(form, 'channels').value.trim() === '' && c.channels.join() === defaultConvChannels(...c.imageShape).join();
  writeSettings(form, {
    // A conv model has no hidden sizes: the field keeps the form's, for an mlp model after Reset.
    latent: c.latent, arch: c.arch, hidden: c.arch === 'conv' ? undefined : c.hidden, channels: chosenForSize ? undefined : c.channels, dense: c.dense, norm: c.norm, upsample: c.upsample, likelihood: c.likelihood, objective: c.objective, tcEstimator: c.tcEstimator,
    // The form offers the two scales that train well here; a file's other kinds show as learned.
    sigma: c.sigma === 'predicted' ? 'predicted' : 'learned', dequantize: c.dequantize, samples: c.samples, beta: c.beta,
    warmupSteps: c.warmupSteps, klCycleSteps: c.klCycleSteps, freeBits: c.freeBits, klCapacity: c.klCapacity, capacitySteps: c.capacitySteps, conditional: c.classes > 0, binarize: c.binarize,
  });
}

/** Per form: whether a model locks it, and whether the GPU can store f16 activations (until told: yes). */
const formState = new WeakMap<HTMLFormElement, { locked: boolean; f16: boolean }>();

const GAUSSIAN_ONLY = 'Applies to the Gaussian likelihood only: choose Gaussian under Likelihood to set it';
const TCVAE_ONLY = 'Applies to the β-TCVAE objective only: choose β-TCVAE under Objective to set it';
const MLP_ONLY = 'Applies to the MLP architecture only: choose MLP under Architecture to set it';
const CONV_ONLY = 'Applies to the convolutional architecture only: choose Convolutional under Architecture to set it';
const NO_F16 = 'f16 (needs shader-f16, which this GPU lacks)';

/**
 * Gives each control its label's help (the label's title) as its own title, which assistive
 * technology reads as the control's description; on the label alone only a mouse reached it.
 */
export function describeControls(form: HTMLFormElement): void {
  for (const label of Array.from(form.querySelectorAll<HTMLLabelElement>('label[title]'))) {
    const control = label.control;
    if (control && !control.title) control.title = label.title;
  }
}

/** Turns `el` off with `why` as its tooltip (and dims its label), or back on, with its label's help, when `why` is null. */
function offWhen(el: HTMLInputElement | HTMLSelectElement | HTMLOptionElement, why: string | null): void {
  el.disabled = why !== null;
  el.title = why ?? el.closest('label')?.title ?? '';
  // An option turned off leaves its select, and the select's label, working.
  if (el.tagName !== 'OPTION') el.closest('label')?.classList.toggle('off', why !== null);
}

/**
 * Turns off the controls that do not apply to the other choices, so that a choice the run would
 * refuse or ignore cannot be made in the first place: the MLP's hidden sizes under the conv
 * architecture and the conv fields under the MLP, Gaussian σ and Dequantize under the Bernoulli
 * likelihood, the TC estimate under objectives other than β-TCVAE, and f16 activations on a GPU
 * without shader-f16.
 */
function followChoices(form: HTMLFormElement): void {
  const state = formState.get(form);
  if (!state || state.locked) return;
  const conv = field(form, 'arch').value === 'conv';
  offWhen(field(form, 'hidden'), conv ? MLP_ONLY : null);
  for (const name of ['channels', 'dense', 'norm', 'upsample']) offWhen(field(form, name), conv ? null : CONV_ONLY);
  const gaussian = field(form, 'likelihood').value === 'gaussian';
  offWhen(field(form, 'sigma'), gaussian ? null : GAUSSIAN_ONLY);
  offWhen(checkbox(form, 'dequantize'), gaussian ? null : GAUSSIAN_ONLY);
  offWhen(field(form, 'tcEstimator'), field(form, 'objective').value === 'tcvae' ? null : TCVAE_ONLY);
  // A box that cannot be unticked must not be what refuses Start.
  if (!gaussian) checkbox(form, 'dequantize').checked = false;
  const precision = field(form, 'precision') as HTMLSelectElement;
  const f16 = precision.querySelector<HTMLOptionElement>('option[value="f16"]');
  if (f16) {
    offWhen(f16, state.f16 ? null : 'This GPU does not offer the WebGPU feature shader-f16');
    f16.textContent = state.f16 ? 'f16 (shader-f16)' : NO_F16;
    if (!state.f16 && precision.value === 'f16') precision.value = 'f32';
  }
}

function stateOf(form: HTMLFormElement) {
  let state = formState.get(form);
  if (!state) {
    formState.set(form, (state = { locked: false, f16: true }));
    // A choice that turns others on or off (Likelihood) takes effect as it is made, not at Start.
    form.addEventListener('change', () => followChoices(form));
  }
  return state;
}

/** Every field describes the model or its optimiser, fixed when the model is built: frozen while one exists. */
export function lockSettings(form: HTMLFormElement, locked: boolean): void {
  stateOf(form).locked = locked;
  for (const el of Array.from(form.elements)) (el as HTMLInputElement).disabled = locked;
  followChoices(form);
}

/**
 * Offers f16 activations only where the worker's adapter has shader-f16 (`features`: the
 * adapter's feature names); until this is called, they are offered and the worker refuses them.
 */
export function useAdapterFeatures(form: HTMLFormElement, features: Iterable<string>): void {
  stateOf(form).f16 = new Set(features).has('shader-f16');
  followChoices(form);
}
