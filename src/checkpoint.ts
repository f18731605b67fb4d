// Checkpoints as safetensors: one F32 tensor per parameter under the names of params.ts (PyTorch
// layout, weights [out, in]) and the model configuration as JSON in the metadata, so a file alone
// rebuilds its model. A PyTorch user loads it with `safetensors.torch.load_file`.
import { configForFile, configFromFile, resolveConfig, type VaeConfig } from './model/config';
import { paramLayout } from './model/build';
import { tensorsByName } from './model/params';
import { VAE, type VaeOptions } from './model/vae';
import { CheckpointError, decodeNamed, DtypeError, encodeSafetensors, peekMetadata, peekTensors } from './io/safetensors';
import { ConfigError, kindOfValue, someNames } from './errors';
import { matchTensors, shownName } from './io/tensor-match';

export const CHECKPOINT_FORMAT = 'webgpu-vae';
export const CHECKPOINT_VERSION = '1';
/** The `format` of a run's training-state.safetensors (src/training-state.ts), which is not a model. */
export const TRAINING_STATE_FORMAT = 'webgpu-vae-training-state';

/**
 * Metadata keys webgpu-vae writes itself: the format, its version, the configuration, and the
 * training seed that keys a reloaded model's evaluation noise (an app's own "seed", say of a data
 * split, would silently change that noise).
 */
const RESERVED_METADATA = ['format', 'version', 'config', 'seed'];

function refuseReservedKeys(extra: Record<string, string> | null | undefined): void {
  // No metadata (null or undefined from untyped callers) reserves nothing.
  const taken = Object.keys(extra ?? {}).filter((k) => RESERVED_METADATA.includes(k));
  if (taken.length) throw new ConfigError(`saveCheckpoint: extraMetadata cannot set ${taken.join(', ')}, which webgpu-vae writes itself; give your own keys other names (e.g. my_${taken[0]})`);
}

/**
 * The model as checkpoint bytes, its parameters read after every call made on it before this one.
 * `extraMetadata` is written beside the configuration; a function of the step the parameters are
 * of gets that step (which `vae.step`, read at the call, may not be while steps are queued).
 */
export async function saveCheckpoint(vae: VAE, extraMetadata: Record<string, string> | ((step: number) => Record<string, string>) = {}): Promise<Uint8Array<ArrayBuffer>> {
  // An object is checked before the parameters are read, a function's result once it is known.
  if (typeof extraMetadata !== 'function') refuseReservedKeys(extraMetadata);
  const { step, flat } = await vae.stepAndParameters();
  const extra = (typeof extraMetadata === 'function' ? extraMetadata(step) : extraMetadata) ?? {};
  if (typeof extraMetadata === 'function') refuseReservedKeys(extra);
  return encodeSafetensors(tensorsByName(vae.layout, flat), {
    // The training seed keys the evaluation noise: loadCheckpoint takes it back, so a reloaded
    // model's elbo() is the saved one's unless another seed is given.
    seed: String(vae.training.seed),
    ...extra,
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    config: JSON.stringify(configForFile(vae.config)),
  });
}

/**
 * decodeNamed, except that tensors of another dtype which the file's own configuration does not
 * use (BatchNorm's int64 num_batches_tracked in a PyTorch state_dict) are named as unused, to be
 * dropped; converting them to float32, the fix for parameters saved in another precision, would
 * only lead to a refusal of them as unused.
 */
function decodeChecked(bytes: Uint8Array, source: string): ReturnType<typeof decodeNamed> {
  try {
    return decodeNamed(bytes, source);
  } catch (e) {
    if (!(e instanceof DtypeError)) throw e;
    const metadata = peekMetadata(bytes);
    let names: Set<string>;
    try {
      names = new Set(paramLayout(resolveConfig(configFromFile(JSON.parse(metadata?.config ?? '')))).tensors.map((t) => t.name));
    } catch {
      throw e; // no readable configuration: which tensors are parameters is unknown
    }
    if (e.otherDtypes.every((t) => names.has(t.name))) throw e;
    // Every tensor the model does not use, of any dtype (BatchNorm's float running_mean beside its
    // int64 num_batches_tracked), so that one fix drops them all.
    const unused = peekTensors(bytes).filter((t) => !names.has(t.name));
    const converted = e.otherDtypes.filter((t) => names.has(t.name)).length;
    const shown = someNames(unused.map((t) => `${shownName(t.name)} (${JSON.stringify(t.dtype)})`), 4);
    throw new CheckpointError(`${source} has ${unused.length === 1 ? 'a tensor' : `${unused.length} tensors`} this model does not use: ${shown}; ` +
      `save only the model's parameters (in PyTorch: {k: v.float().contiguous() for k, v in state_dict.items() if k in needed}, needed being the names in README, "Checkpoint format")` +
      (converted ? `; ${converted === 1 ? 'one parameter is' : `${converted} parameters are`} not F32 either, which that conversion fixes` : ''));
  }
}

/** Reads the configuration and flat parameters of a checkpoint, checking names and shapes. */
export function readCheckpoint(data: Uint8Array | ArrayBuffer, source = 'checkpoint'): { config: VaeConfig; flat: Float32Array; metadata: Record<string, string> } {
  // fetch().arrayBuffer() and file readers give an ArrayBuffer; Node's Buffer is a Uint8Array.
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data;
  if (!(bytes instanceof Uint8Array)) throw new CheckpointError(`${source}: expected the file's bytes as a Uint8Array or ArrayBuffer, got ${kindOfValue(data)}`);
  const { tensors, metadata } = decodeChecked(bytes, source);
  if (metadata.format === TRAINING_STATE_FORMAT) {
    throw new CheckpointError(`${source} is a training state (optimizer moments and counters for \`webgpu-vae train --resume DIR\`), not a model; use model.safetensors from the same folder`);
  }
  if (metadata.format !== CHECKPOINT_FORMAT || !metadata.config || metadata.version === undefined) {
    // Name what is missing: a file written by hand (PyTorch's save_file) may have all but one key.
    const missing = [
      ...(metadata.format === undefined ? [`format: "${CHECKPOINT_FORMAT}"`] : metadata.format !== CHECKPOINT_FORMAT ? [`format: "${CHECKPOINT_FORMAT}" (it has format: ${JSON.stringify(metadata.format)})`] : []),
      ...(metadata.version === undefined ? [`version: "${CHECKPOINT_VERSION}"`] : []),
      ...(!metadata.config ? ['config (the model configuration as JSON)'] : []),
    ];
    throw new CheckpointError(`${source} is a safetensors file but not a webgpu-vae checkpoint: its metadata lacks ${missing.join(', ')}; save it with webgpu-vae, or add ${missing.length === 1 ? 'that key' : 'those keys'} to the metadata (README, "Checkpoint format")`);
  }
  if (metadata.version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(`${source} has checkpoint version ${metadata.version}; this webgpu-vae reads version ${CHECKPOINT_VERSION}${Number(metadata.version) > Number(CHECKPOINT_VERSION) ? ': a newer webgpu-vae wrote it; read it with that version' : ''}`);
  }
  let config: VaeConfig;
  let stored: unknown;
  try {
    stored = JSON.parse(metadata.config);
    config = resolveConfig(configFromFile(stored));
  } catch (e) {
    throw new CheckpointError(`${source} has an invalid model configuration: ${(e as Error).message}`);
  }
  const [flat] = matchTensors(source, tensors, paramLayout(config), [''], 'this model', 'the names and shapes are those of PyTorch\'s state_dict of the model the configuration describes: README, "Checkpoint format"', shapeSource(config, stored));
  return { config, flat, metadata };
}

/** The configuration fields that set a model's tensor shapes, as a shape mismatch names them; a field the file leaves out is marked as the default. */
function shapeSource(config: VaeConfig, stored: unknown): string {
  const given = stored && typeof stored === 'object' ? (stored as Record<string, unknown>) : {};
  // The likelihood's fields set shapes only for a Gaussian (a predicted or learned scale).
  const scale: (keyof VaeConfig)[] = config.likelihood === 'gaussian' ? ['likelihood', 'sigma'] : [];
  const fields: (keyof VaeConfig)[] = config.arch === 'conv'
    ? ['arch', 'inputDim', 'imageChannels', 'imageShape', 'channels', 'dense', 'latent', 'classes', ...scale, 'norm', 'upsample']
    : ['arch', 'inputDim', 'hidden', 'latent', 'classes', ...scale];
  return `the shapes follow from the configuration in the file's metadata: ${fields.map((f) => `${f} ${JSON.stringify(config[f])}${f in given ? '' : ' (not in the file: the default)'}`).join(', ')}`;
}

/** Builds a VAE from checkpoint bytes on the given device. */
export async function loadCheckpoint(bytes: Uint8Array | ArrayBuffer, opts: VaeOptions, source?: string): Promise<VAE> {
  // The checkpoint's parameters would silently replace the caller's.
  if (opts && typeof opts === 'object' && opts.initialParams !== undefined) {
    throw new ConfigError('loadCheckpoint: the checkpoint brings its own parameters, so initialParams cannot be given too; leave it out, or create the model with VAE.create(config, { initialParams })');
  }
  const { config, flat, metadata } = readCheckpoint(bytes, source);
  const saved = Number(metadata.seed);
  const seed = opts && typeof opts === 'object' && opts.seed === undefined && metadata.seed !== undefined && Number.isSafeInteger(saved) && saved >= 0 ? { seed: saved } : {};
  return VAE.create(config, { ...opts, ...seed, initialParams: flat });
}
