// Model files for the demo's end-to-end tests, written without a GPU: a model's configuration and
// every parameter set to one value, in the page's safetensors format, under test-results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION } from '../../src/checkpoint';
import { encodeSafetensors } from '../../src/io/safetensors';
import { paramLayout } from '../../src/model/build';
import { resolveConfig, type VaeConfig } from '../../src/model/config';

export const OUT = resolve(import.meta.dirname, '../../test-results');

/** A model file of the model `config` describes, every parameter `value`; returns its path. */
export function modelFile(name: string, config: Partial<VaeConfig>, value: number): string {
  const resolved = resolveConfig(config);
  const tensors = Object.fromEntries(paramLayout(resolved).tensors.map((t) => [t.name, { shape: t.shape, data: new Float32Array(t.count).fill(value) }]));
  mkdirSync(OUT, { recursive: true });
  const path = resolve(OUT, name);
  writeFileSync(path, encodeSafetensors(tensors, { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, config: JSON.stringify(resolved) }));
  return path;
}
