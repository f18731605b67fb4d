// What every CLI command shares: getting the device (and saying which adapter), loading datasets,
// reading checkpoints with friendly errors, and writing output files.
import { readFile } from 'node:fs/promises';
import { describeAdapter, type AcquiredDevice } from '../gpu/device';
import { acquireNodeDevice } from '../gpu/node-device';
import { loadMnistNode, type Dataset } from '../data/mnist';
import { CheckpointError } from '../io/safetensors';
import { UsageError } from './args';
import { writeFileAtomic } from './files';

export const DATASETS = ['mnist', 'fashion-mnist'] as const;
export type DatasetName = (typeof DATASETS)[number];

/** Debian's dataset-fashion-mnist package installs the IDX files (gzipped) here. */
const FASHION_DIRS = ['/usr/share/datasets/fashion-mnist'];

export async function loadDataset(name: DatasetName, split: 'train' | 'test', limit?: number, dataDir?: string): Promise<Dataset> {
  if (name === 'fashion-mnist' && !dataDir) {
    const { existsSync } = await import('node:fs');
    dataDir = FASHION_DIRS.find((d) => existsSync(d));
    if (!dataDir) throw new UsageError('Fashion-MNIST not found: install it with `apt-get install dataset-fashion-mnist`, or pass --data-dir DIR holding its IDX files');
  }
  const ds = await loadMnistNode(split, { limit, dir: dataDir });
  return { ...ds, name: `${name}-${split}` };
}

export type DeviceProvider = (log: (line: string) => void) => Promise<AcquiredDevice>;

let provideDevice: DeviceProvider = (log) => acquireNodeDevice({ log });

/** Replaces how commands get their device (embedding; tests that stop a command once its checks pass); returns the previous provider. */
export function setDeviceProvider(provider: DeviceProvider): DeviceProvider {
  const previous = provideDevice;
  provideDevice = provider;
  return previous;
}

export async function getDevice(log: (line: string) => void): Promise<AcquiredDevice> {
  const acquired = await provideDevice(log);
  log(`adapter: ${describeAdapter(acquired.adapter)}`);
  return acquired;
}

export async function readCheckpointFile(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(code === 'ENOENT' ? `checkpoint ${path} does not exist; train one with \`webgpu-vae train --out DIR\`` : `cannot read checkpoint ${path}: ${(e as Error).message}`);
  }
}

/** Writes a whole output file atomically (see files.ts): an interrupted write leaves the old one. */
export async function writeOutput(path: string, bytes: Uint8Array): Promise<void> {
  writeFileAtomic(path, bytes);
}

export type Print = (stream: 'stdout' | 'stderr', text: string) => void;

const toProcess: Print = (stream, text) => process[stream].write(text);

/** Prints one JSON object per line (--json) or a human line; `print` redirects both (embedding, tests). */
export function makeReporter(json: boolean, print: Print = toProcess) {
  return {
    json,
    event(obj: Record<string, unknown>) {
      if (json) print('stdout', JSON.stringify(obj) + '\n');
    },
    info(line: string) {
      print(json ? 'stderr' : 'stdout', line + '\n');
    },
  };
}
