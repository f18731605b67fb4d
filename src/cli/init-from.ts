// `train --init-from FILE|DIR`: a new run whose parameters start from a trained model's instead of
// a random draw, with a fresh optimizer and step counter. It is how a model trained under one
// objective continues under another (a beta-TCVAE raised to a KL capacity, a beta lowered, a
// longer cosine decay), which `--resume` refuses because a resumed run continues as it started.
// The architecture (layers, widths, latent size, likelihood) is the checkpoint's unless a flag
// changes it, and any change that alters a parameter's shape is refused by name.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { VaeConfig } from '../model/config';
import { paramLayout } from '../model/build';
import { UsageError } from './args';
import { readCheckpointFile } from './io';
import { describeObjective } from '../model/describe';

/** The fields that decide the parameters' names and shapes: left out, a flag takes the checkpoint's. */
export const ARCHITECTURE_FIELDS = ['arch', 'hidden', 'channels', 'dense', 'norm', 'normGroups', 'upsample', 'latent', 'activation', 'likelihood', 'sigma', 'classes'] as const;

export interface InitialModel {
  /** The file the parameters came from (a run folder's model.safetensors when a folder was given). */
  path: string;
  config: VaeConfig;
  flat: Float32Array;
  /** The checkpoint's metadata: `dataset` names what it was trained on. */
  metadata: Record<string, string>;
}

/**
 * Reads the model that a new run starts from: a checkpoint file, or the model.safetensors of a run
 * folder (the flag's path rule, src/cli/paths.ts, has refused a folder without one).
 */
export async function readInitialModel(given: string): Promise<InitialModel> {
  const path = statSync(given).isDirectory() ? join(given, 'model.safetensors') : given;
  const { config, flat, metadata } = await readCheckpointFile(path);
  return { path, config, flat, metadata };
}

/**
 * What a new run takes differently from the model it starts from, where no flag asked for it: the
 * data set and the objective are this run's flags' (their defaults when left out), not the
 * checkpoint's, so a run started from a Fashion-MNIST IWAE model without flags trains on MNIST
 * under the ELBO. Null when both are the checkpoint's, or were given.
 */
export function initFromNote(initial: InitialModel, config: VaeConfig, dataset: string, given: { dataset: boolean; objective: boolean }): string | null {
  const theirs = initial.metadata.dataset;
  const changes: string[] = [];
  if (!given.dataset && theirs && theirs !== dataset) changes.push(`trains on ${dataset}, where the checkpoint was trained on ${theirs} (--dataset ${theirs} to keep it)`);
  const ours = describeObjective(config), theirsObjective = describeObjective(initial.config);
  if (!given.objective && theirsObjective !== ours) {
    changes.push(`trains under the ${ours}, where the checkpoint was trained under the ${theirsObjective} (--objective and its flags set it)`);
  }
  return changes.length ? `this run ${changes.join(', and ')}; --init-from takes the parameters and the architecture, not the data set or the objective` : null;
}

/** The fields of one architecture only (an mlp's hidden sizes, a conv model's widths and layers). */
const ONE_ARCHITECTURE_FIELDS: readonly (typeof ARCHITECTURE_FIELDS)[number][] = ['hidden', 'channels', 'dense', 'norm', 'normGroups', 'upsample'];

/**
 * The defaults a new run's flags fall back on: `base` with the checkpoint's architecture. Under
 * another `arch` (an --arch flag) the fields of the checkpoint's own architecture stay `base`'s, so
 * that the parameters' mismatch is what gets said, not a conv field the mlp was given unasked.
 */
export function withArchitectureOf(base: VaeConfig, from: VaeConfig, arch: string = from.arch): VaeConfig {
  const picked: Partial<VaeConfig> = {};
  for (const field of ARCHITECTURE_FIELDS) {
    if (arch !== from.arch && ONE_ARCHITECTURE_FIELDS.includes(field)) continue;
    (picked as Record<string, unknown>)[field] = from[field];
  }
  return { ...base, ...picked };
}

/** The flag of each architecture field, for saying which of them differ. */
const FIELD_FLAG: Record<(typeof ARCHITECTURE_FIELDS)[number], string> = {
  arch: '--arch', hidden: '--hidden', channels: '--channels', dense: '--dense', norm: '--norm', normGroups: '--norm-groups', upsample: '--upsample',
  latent: '--latent', activation: '--activation', likelihood: '--likelihood', sigma: '--sigma', classes: '--conditional',
};

/** "(it has --upsample transposed, this run --upsample nearest)": the architecture flags that differ. */
function differingFlags(theirs: VaeConfig, ours: VaeConfig): string {
  const shown = (field: (typeof ARCHITECTURE_FIELDS)[number], c: VaeConfig) => {
    const v = c[field];
    if (field === 'classes') return v ? '--conditional' : 'no --conditional';
    return `${FIELD_FLAG[field]} ${Array.isArray(v) ? v.join(',') || '(none)' : String(v)}`;
  };
  const fields = ARCHITECTURE_FIELDS.filter((f) => JSON.stringify(theirs[f]) !== JSON.stringify(ours[f]));
  return fields.length ? ` (it has ${fields.map((f) => shown(f, theirs)).join(', ')}; this run ${fields.map((f) => shown(f, ours)).join(', ')})` : '';
}

/**
 * The checkpoint's parameters laid out for `config`, or a refusal naming the first parameter that
 * does not match one for one, and the architecture flags that differ.
 */
export function initialParamsFor(initial: Pick<InitialModel, 'path' | 'config' | 'flat'>, config: VaeConfig): Float32Array {
  const shape = (c: VaeConfig) => `${c.imageChannels}x${c.imageShape.join('x')}`;
  if (initial.config.inputDim !== config.inputDim) {
    const [rows, cols] = initial.config.imageShape;
    const flags = rows === cols ? ` (for a folder of pictures: --image-size ${rows} --image-channels ${initial.config.imageChannels}, or leave both out to take the checkpoint's)` : '';
    throw new UsageError(`--init-from ${initial.path} was trained on ${shape(initial.config)} pictures and these are ${shape(config)}; ` +
      `start from a model of the same picture size${flags}, or leave out --init-from`);
  }
  const theirs = paramLayout(initial.config), ours = paramLayout(config);
  for (const t of ours.tensors) {
    const other = theirs.byName.get(t.name);
    const differs = !other ? `has no tensor ${t.name}` : other.shape.join(',') !== t.shape.join(',') ? `has ${t.name} of shape [${other.shape}] where this model's is [${t.shape}]` : null;
    if (differs) {
      throw new UsageError(`--init-from ${initial.path} ${differs}: the architecture flags differ from the checkpoint's${differingFlags(initial.config, config)}; ` +
        'leave them out to take its architecture, or leave out --init-from');
    }
  }
  const extra = theirs.tensors.find((t) => !ours.byName.has(t.name));
  if (extra) {
    throw new UsageError(`--init-from ${initial.path} has ${extra.name}, which this model does not: the architecture flags differ from the checkpoint's${differingFlags(initial.config, config)}; ` +
      'leave them out to take its architecture, or leave out --init-from');
  }
  const flat = new Float32Array(ours.totalFloats);
  for (const t of ours.tensors) {
    const other = theirs.byName.get(t.name)!;
    flat.set(initial.flat.subarray(other.offset, other.offset + other.count), t.offset);
  }
  return flat;
}
